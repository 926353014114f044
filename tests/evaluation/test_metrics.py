"""PSNR and SSIM on images whose scores are known (LPIPS: test_lpips_scorer.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from support import make_frame

from vfi.evaluation.metrics import psnr, score, ssim


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
