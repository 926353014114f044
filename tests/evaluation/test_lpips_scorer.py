"""LPIPS offline: weights from files only, every key checked, the numbers of the lpips package."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from support import make_frame

from vfi.evaluation.lpips_scorer import (
    BACKBONES,
    LPIPSScorer,
    LPIPSWeightsError,
    hub_cache_path,
    load_lpips,
    missing_weights_message,
)


@pytest.fixture(scope="module")
def random_alexnet(tmp_path_factory) -> str:
    """An AlexNet file with random weights, laid out like torchvision's ImageNet file.

    Only for tests: it exercises the whole loading and scoring path without the real weights.
    """
    torch.manual_seed(0)
    state = torchvision.models.alexnet(weights=None).state_dict()
    path = tmp_path_factory.mktemp("lpips") / "alexnet-random.pth"
    torch.save(state, path)
    return str(path)


@pytest.fixture(scope="module")
def scorer(random_alexnet) -> LPIPSScorer:
    return LPIPSScorer("alex", random_alexnet)


def as_lpips_input(frame: np.ndarray) -> torch.Tensor:
    """1 x 3 x H x W in [-1, 1], as the lpips package expects (grey replicated)."""
    unit = torch.from_numpy(frame.astype(np.float64) / np.iinfo(frame.dtype).max).float()
    rgb = unit[..., None].expand(*unit.shape, 3) if frame.ndim == 2 else unit
    return rgb.permute(2, 0, 1)[None] * 2 - 1


@pytest.mark.parametrize(("mode", "bit_depth"), [("RGB", 8), ("L", 16)])
def test_lpips_equals_the_lpips_package_on_the_same_weights_and_frames(
    random_alexnet, scorer, tmp_path, monkeypatch, mode, bit_depth
):
    import lpips

    # The package builds its backbone through torchvision, which takes the file from the torch
    # hub cache when it is there: the reference shares nothing with our loading code.
    cache = tmp_path / "torch" / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    (cache / BACKBONES["alex"].filename).symlink_to(random_alexnet)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    reference = lpips.LPIPS(net="alex", verbose=False).eval()
    truth = make_frame(mode, bit_depth, height=64, width=80, seed=1)
    prediction = make_frame(mode, bit_depth, height=64, width=80, seed=2)
    with torch.inference_mode():
        expected = reference(as_lpips_input(prediction), as_lpips_input(truth)).item()
    assert expected > 0
    assert scorer(prediction, truth) == pytest.approx(expected, rel=1e-5)


def test_lpips_of_identical_frames_is_zero(scorer):
    frame = make_frame("RGB", 8, height=64, width=64)
    assert scorer(frame, frame.copy()) == 0.0


def test_lpips_grows_with_the_difference(scorer):
    truth = make_frame("RGB", 16, height=64, width=64, seed=3)
    slightly = np.clip(truth.astype(np.int64) + 500, 0, 65535).astype(np.uint16)
    other = make_frame("RGB", 16, height=64, width=64, seed=4)
    assert 0 < scorer(slightly, truth) < scorer(other, truth)


def test_lpips_scores_grayscale_as_replicated_rgb(scorer):
    truth, pred = make_frame("L", 8, 64, 64, seed=5), make_frame("L", 8, 64, 64, seed=6)
    rgb = [np.repeat(f[..., None], 3, axis=2) for f in (truth, pred)]
    assert scorer(pred, truth) == pytest.approx(scorer(rgb[1], rgb[0]), rel=1e-5)


def test_lpips_loads_without_touching_the_network(random_alexnet, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("LPIPS tried to open a network connection")

    monkeypatch.setattr(socket, "socket", refuse)
    scorer, note = load_lpips("required", "alex", random_alexnet)
    assert scorer is not None and note is None


def test_required_lpips_without_weights_says_which_file_goes_where(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(LPIPSWeightsError) as err:
        load_lpips("required", "alex", None)
    text = str(err.value)
    assert "alexnet-owt-7be5be79.pth" in text
    assert str(tmp_path / "torch" / "hub" / "checkpoints") in text
    assert "metrics.lpips_weights" in text and "optional" in text


def test_configured_weights_path_that_is_missing_is_named(tmp_path):
    missing = tmp_path / "nowhere.pth"
    message = missing_weights_message("alex", str(missing))
    assert f"metrics.lpips_weights is set to {missing}" in message


def test_vgg_is_selectable_and_needs_its_own_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert hub_cache_path("vgg").name == "vgg16-397923af.pth"
    assert "vgg16-397923af.pth" in missing_weights_message("vgg", None)


def test_optional_lpips_without_weights_warns_and_gives_no_scorer(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with caplog.at_level(logging.WARNING):
        scorer, note = load_lpips("optional", "alex", None)
    assert scorer is None and "n/a" in note
    assert "alexnet-owt-7be5be79.pth" in caplog.text


def test_lpips_off_gives_no_scorer_and_no_warning(caplog):
    with caplog.at_level(logging.WARNING):
        scorer, note = load_lpips("disabled", "alex", "/does/not/matter.pth")
    assert scorer is None and "disabled" in note and not caplog.records


def test_a_file_that_is_not_an_alexnet_checkpoint_is_refused(tmp_path):
    path = tmp_path / "wrong.pth"
    torch.save({"features.0.weight": torch.zeros(3)}, path)
    with pytest.raises(LPIPSWeightsError, match="not the expected") as err:
        LPIPSScorer("alex", path)
    assert "wrong shape ['slice1.0.weight']" in str(err.value)


def test_hub_cache_path_agrees_with_torch(monkeypatch, tmp_path):
    import torch.hub

    from vfi.evaluation.lpips_scorer import hub_cache_path

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert hub_cache_path("alex").parent.parent == Path(torch.hub.get_dir())
