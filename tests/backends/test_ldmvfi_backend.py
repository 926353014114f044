"""The ldmvfi backend through the pipeline, on the tiny fixture checkpoint (CPU)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from support import TINY_CKPT, TINY_CONFIG, add_sequence, tree_bytes

from vfi.backends.base import Pair
from vfi.data.layout import OutputLayout
from vfi.data.plan import frame_seed
from vfi.data.sequences import discover
from vfi.io.frames import read_frame
from vfi.io.intensity import Normalisation
from vfi.io.tensors import from_model_tensor, to_model_tensor
from vfi.models.ldmvfi import LDMVFI
from vfi.pipeline.interpolate import run_level
from vfi.settings import LDMVFISettings, Settings


@pytest.fixture(scope="module")
def tiny_settings() -> Settings:
    return Settings(
        backend="ldmvfi",
        device="cpu",
        ldmvfi=LDMVFISettings(
            checkpoint=str(TINY_CKPT),
            config=str(TINY_CONFIG),
            steps=2,
        ),
    )


def test_cpu_jobs_run_each_pair_alone_so_bytes_do_not_depend_on_the_batch(tmp_path, tiny_settings):
    data = tmp_path / "data"
    add_sequence(data, "a", [1, 3], height=24, width=40)
    add_sequence(data, "b", [1, 3], height=24, width=40, mode="RGB")
    sequences = discover(data).sequences
    together, alone = tmp_path / "together", tmp_path / "alone"
    settings = replace(tiny_settings, data_dir=str(data))
    run_level(sequences, 1, OutputLayout(together), settings)
    for seq in sequences:
        run_level([seq], 1, OutputLayout(alone), settings)

    def frames(root):  # job records name the batch, which differs here by design
        return {name: data for name, data in tree_bytes(root).items() if name.endswith(".png")}

    assert frames(together) == frames(alone)
    assert len(frames(together)) == 2


def test_batched_path_gives_the_frames_of_pairs_run_alone(tiny_settings):
    """The path GPUs take (several pairs and frames per model call), here on the CPU, where
    batched kernels may round differently (about 1e-5) but must not change the answer."""
    from vfi.backends.ldmvfi import LDMVFIBackend

    options = tiny_settings.backend_options()
    batched = LDMVFIBackend(torch.device("cpu"), **{**options, "max_batch": 3})
    batched.batched, batched.max_batch = True, 3  # as on a GPU
    alone = LDMVFIBackend(torch.device("cpu"), **options)
    assert alone.max_batch == 1 and not alone.batched
    generator = torch.Generator().manual_seed(0)
    frames = {key: torch.rand(3, 24, 40, generator=generator) * 2 - 1 for key in "abcd"}
    # b is shared by two pairs of one chunk; the fourth pair makes a second chunk
    pairs = [Pair("a", "b", 0.5, 11), Pair("b", "c", 0.5, 12), Pair("c", "d", 0.5, 13)]
    pairs.append(Pair("a", "d", 0.5, 14))
    with torch.inference_mode():
        together = list(batched.interpolate_pairs(pairs, frames.__getitem__))
        one_by_one = list(alone.interpolate_pairs(pairs, frames.__getitem__))
    for made, expected in zip(together, one_by_one, strict=True):
        torch.testing.assert_close(made, expected, rtol=0, atol=1e-4)
    assert (together[0] - together[1]).abs().max() > 1e-2  # the pairs differ: a real check


def test_ldmvfi_refuses_times_other_than_the_midpoint(tmp_path, tiny_settings):
    data = tmp_path / "data"
    add_sequence(data, "a", [1, 3], height=24, width=40)
    settings = replace(tiny_settings, data_dir=str(data), timing="exact")
    with pytest.raises(ValueError, match="timing: exact needs a backend"):
        run_level(discover(data).sequences, 1, OutputLayout(tmp_path / "out"), settings)


def test_missing_checkpoint_says_where_to_get_it(tmp_path, tiny_settings):
    data = tmp_path / "data"
    add_sequence(data, "a", [1, 3])
    settings = replace(
        tiny_settings,
        data_dir=str(data),
        ldmvfi=LDMVFISettings(checkpoint=str(tmp_path / "x.ckpt")),
    )
    with pytest.raises(FileNotFoundError, match="danier97/LDMVFI"):
        run_level(discover(data).sequences, 1, OutputLayout(tmp_path / "out"), settings)


def test_each_known_frame_is_encoded_once_per_job(tmp_path, tiny_settings, monkeypatch):
    data = tmp_path / "data"
    add_sequence(data, "a", [1, 19], height=24, width=40)
    sequences = discover(data).sequences
    layout = OutputLayout(tmp_path / "out")
    settings = replace(tiny_settings, data_dir=str(data))
    run_level(sequences, 1, layout, settings)  # frame 10, the parent shared at level 2
    encoded: list[int] = []
    original = LDMVFI.encode_frames

    def counting(self, frames, precision="fp32"):
        encoded.append(frames.shape[0])
        return original(self, frames, precision)

    monkeypatch.setattr(LDMVFI, "encode_frames", counting)
    assert run_level(sequences, 2, layout, settings) == 2  # frames 5 (1, 10) and 14 (10, 19)
    assert sum(encoded) == 3


def test_shared_encodings_give_the_frames_of_separate_model_calls(tmp_path, tiny_settings):
    data = tmp_path / "data"
    add_sequence(data, "a", [1, 19], height=24, width=40, mode="RGB")
    seq = discover(data).sequences[0]
    layout = OutputLayout(tmp_path / "out")
    settings = replace(tiny_settings, data_dir=str(data))
    run_level([seq], 1, layout, settings)
    run_level([seq], 2, layout, settings)
    model = LDMVFI.from_checkpoint(settings.ldmvfi.checkpoint, config=settings.ldmvfi.config)
    for index, prev, nxt in ((5, 1, 10), (14, 10, 19)):
        raw = Normalisation.raw(8)
        frames = [
            to_model_tensor(read_frame(layout.source(seq, i)), raw)[None] for i in (prev, nxt)
        ]
        alone = model.interpolate(
            *frames, steps=2, seeds=[frame_seed(settings.seed, seq.name, index)]
        )
        expected = from_model_tensor(alone[0], seq.info, raw)
        assert np.array_equal(read_frame(layout.frame(seq, index)), expected)
