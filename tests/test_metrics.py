"""PSNR, SSIM and LPIPS on images whose scores are known."""

from __future__ import annotations

import logging
import math
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from support import make_frame

from vfi.lpips_metric import (
    LPIPSScorer,
    LPIPSWeightsError,
    hub_cache_path,
    load_lpips,
    missing_weights_message,
)
from vfi.metrics import psnr, score, ssim


def checkerboard(height: int = 16, width: int = 16, dtype=np.uint8) -> np.ndarray:
    peak = np.iinfo(dtype).max
    yy, xx = np.mgrid[0:height, 0:width]
    return (((yy + xx) % 2) * peak).astype(dtype)


def test_identical_frames_have_infinite_psnr_and_ssim_one():
    frame = make_frame("RGB", 8)
    assert psnr(frame, frame.copy()) == math.inf
    assert ssim(frame, frame.copy()) == pytest.approx(1.0)


@pytest.mark.parametrize(("dtype", "error"), [(np.uint8, 5), (np.uint16, 1000)])
def test_psnr_of_a_known_error_uses_the_full_bit_depth(dtype, error):
    # +-error on every pixel (a known noise level): MSE = error^2 exactly.
    truth = np.full((24, 32), 2 * error, dtype=dtype)
    signs = np.where(np.random.default_rng(0).random(truth.shape) < 0.5, -1, 1)
    noisy = (truth.astype(np.int64) + signs * error).astype(dtype)
    expected = 20 * math.log10(np.iinfo(dtype).max / error)
    assert psnr(noisy, truth) == pytest.approx(expected, abs=1e-9)


def test_one_pixel_shift_of_a_checkerboard_inverts_it():
    # Shifting a 0/255 checkerboard by one pixel flips every pixel: MSE = 255^2, PSNR 0 dB,
    # and the structure is exactly anti-correlated: SSIM close to -1.
    board = checkerboard()
    shifted = np.roll(board, 1, axis=1)
    assert psnr(shifted, board) == pytest.approx(0.0, abs=1e-9)
    assert ssim(shifted, board) < -0.99


def test_one_pixel_shift_of_a_smooth_image_scores_high_but_below_identity():
    yy, xx = np.mgrid[0:48, 0:64]
    smooth = (127 + 100 * np.sin(xx / 8.0) * np.cos(yy / 10.0)).astype(np.uint8)
    shifted = np.roll(smooth, 1, axis=1)
    assert 25 < psnr(shifted, smooth) < math.inf
    assert 0.9 < ssim(shifted, smooth) < 1.0


def test_grayscale_and_replicated_rgb_score_alike():
    truth, pred = make_frame("L", 8, seed=1), make_frame("L", 8, seed=2)
    as_rgb = [np.repeat(f[..., None], 3, axis=2) for f in (truth, pred)]
    assert psnr(pred, truth) == pytest.approx(psnr(as_rgb[1], as_rgb[0]))
    assert ssim(pred, truth) == pytest.approx(ssim(as_rgb[1], as_rgb[0]), abs=1e-6)


def test_frames_of_different_bit_depth_are_refused():
    with pytest.raises(ValueError, match="uint16"):
        psnr(make_frame("L", 8), make_frame("L", 16))


def test_score_without_an_lpips_scorer_records_lpips_as_nan():
    frame = make_frame()
    values = score(frame, frame)
    assert set(values) == {"psnr", "ssim", "lpips"} and math.isnan(values["lpips"])


@pytest.fixture(scope="module")
def random_alexnet(tmp_path_factory) -> str:
    """An AlexNet backbone file with random weights, laid out like torchvision's ImageNet file.

    Only for tests: it exercises the whole loading and scoring path without the real weights.
    """
    torch.manual_seed(0)
    state = torchvision.models.alexnet(weights=None).state_dict()
    path = tmp_path_factory.mktemp("lpips") / "alexnet-random.pth"
    torch.save({k: v for k, v in state.items() if k.startswith("features.")}, path)
    return str(path)


@pytest.fixture(scope="module")
def scorer(random_alexnet) -> LPIPSScorer:
    return LPIPSScorer("alex", random_alexnet)


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

    from vfi.lpips_metric import hub_cache_path

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert hub_cache_path("alex").parent.parent == Path(torch.hub.get_dir())
