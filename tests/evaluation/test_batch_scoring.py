"""Scoring frames in batches gives the numbers of scoring them one at a time."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision
from support import add_sequence, make_frame

from vfi.data.layout import OutputLayout
from vfi.data.sequences import discover
from vfi.evaluation.batches import score_batch
from vfi.evaluation.lpips_scorer import LPIPSScorer
from vfi.evaluation.metrics import score
from vfi.evaluation.scoring import score_sequence
from vfi.io.frames import write_frame

FULL_SCALE_16 = {"setting": "dtype", "value": 65535.0, "bits": 16, "largest_value": None}


@pytest.fixture(scope="module")
def scorer(tmp_path_factory) -> LPIPSScorer:
    """LPIPS on a randomly initialised AlexNet (the ImageNet weights cannot be downloaded)."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("lpips") / "alexnet-random.pth"
    torch.save(torchvision.models.alexnet(weights=None).state_dict(), path)
    return LPIPSScorer("alex", path)


def pairs(mode: str, count: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    made = [make_frame(mode, 16, 64, 72, seed=10 + k) for k in range(count)]
    truth = [make_frame(mode, 16, 64, 72, seed=20 + k) for k in range(count)]
    return made, truth


@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_lpips_of_a_batch_is_each_pairs_lpips_alone(scorer, mode):
    made, truth = pairs(mode, 4)
    batch = scorer.distances(made, truth, 4095.0)
    alone = [scorer(m, t, 4095.0) for m, t in zip(made, truth, strict=True)]
    assert len(set(batch)) == 4
    assert max(abs(b - a) for b, a in zip(batch, alone, strict=True)) < 1e-6


def test_lpips_of_a_frame_does_not_depend_on_its_batch_mates(scorer):
    made, truth = pairs("RGB", 3)
    first = scorer.distances(made, truth)[0]
    other_mates = scorer.distances([made[0], truth[1]], [truth[0], made[2]])[0]
    assert abs(first - other_mates) < 1e-6


def test_lpips_refuses_a_batch_of_mixed_sizes(scorer):
    a, b = make_frame("L", 8, 32, 32), make_frame("L", 8, 32, 40)
    with pytest.raises(ValueError, match="cannot compare"):
        scorer.distances([a, b], [a, b])


def test_score_batch_equals_scoring_each_frame(scorer):
    made, truth = pairs("L", 3)
    batch = score_batch(made, truth, 4095.0, scorer)
    for values, m, t in zip(batch, made, truth, strict=True):
        alone = score(m, t, scorer, 4095.0)
        assert values["psnr"] == alone["psnr"] and values["ssim"] == alone["ssim"]
        assert abs(values["lpips"] - alone["lpips"]) < 1e-6


def test_metrics_files_are_the_same_bytes_for_any_batch_size(tmp_path, scorer):
    data = tmp_path / "data"
    add_sequence(data, "s", [1, 9], gt=[2, 3, 4, 5, 6, 7, 8], bit_depth=16, height=40, width=48)
    (seq,) = discover(data).sequences
    layout = OutputLayout(tmp_path / "out")
    for index in seq.targets:
        write_frame(layout.frame(seq, index), make_frame("L", 16, 40, 48, seed=index))
    written = {}
    for batch_size in (1, 3, 8):
        score_sequence(seq, layout, "flow", "midpoint", FULL_SCALE_16, scorer, None, batch_size)
        written[batch_size] = (
            layout.metrics_txt(seq).read_bytes(),
            layout.metrics_csv(seq).read_bytes(),
        )
    assert written[1] == written[3] == written[8]
    assert b"n/a" not in written[1][0]
