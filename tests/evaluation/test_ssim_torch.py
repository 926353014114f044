"""The torch SSIM gives scikit-image's numbers (as `vfi.evaluation.metrics.ssim` calls it)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vfi.evaluation.metrics import ssim
from vfi.evaluation.ssim_torch import ssim_batch


def smooth_pair(shape: tuple[int, ...], peak: int, dtype: type, seed: int) -> tuple:
    """A structured frame (gradients and blobs, values up to `peak`) and a noisy copy of it,
    so that SSIM is neither 0 nor 1 and its variances are small beside its means (where float32
    loses digits)."""
    rng = np.random.default_rng(seed)
    h, w = shape[:2]
    y, x = np.mgrid[0:h, 0:w]
    base = 0.5 + 0.3 * np.sin(x / 5.0) * np.cos(y / 7.0) + 0.1 * (x / w)
    if len(shape) == 3:
        base = np.stack([base, base[::-1], base[:, ::-1]], axis=2)
    truth = np.clip(base * peak, 0, peak)
    made = np.clip(truth + rng.normal(0, 0.02 * peak, truth.shape), 0, peak)
    return made.round().astype(dtype), truth.round().astype(dtype)


CASES = {
    "gray 8-bit": ((64, 80), 255, np.uint8, 255.0),
    "gray 16-bit file, 12-bit values": ((64, 80), 4095, np.uint16, 4095.0),
    "gray 16-bit full scale": ((48, 40), 65535, np.uint16, 65535.0),
    "RGB 8-bit": ((64, 80, 3), 255, np.uint8, 255.0),
    "RGB 16-bit file, 12-bit values": ((40, 56, 3), 4095, np.uint16, 4095.0),
    "odd size": ((37, 53), 255, np.uint8, 255.0),
    "window-sized": ((7, 9, 3), 255, np.uint8, 255.0),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_torch_ssim_in_float64_equals_scikit_image(case):
    shape, peak, dtype, data_range = CASES[case]
    made, truth = smooth_pair(shape, peak, dtype, seed=1)
    expected = ssim(made, truth, data_range)
    assert 0.05 < expected < 0.9999
    (value,) = ssim_batch([made], [truth], data_range)
    assert abs(value - expected) < 1e-12


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_torch_ssim_in_float32_stays_within_1e_4_of_scikit_image(case):
    shape, peak, dtype, data_range = CASES[case]
    made, truth = smooth_pair(shape, peak, dtype, seed=2)
    (value,) = ssim_batch([made], [truth], data_range, dtype=torch.float32)
    assert abs(value - ssim(made, truth, data_range)) < 1e-4


def test_torch_ssim_of_a_batch_is_each_frames_ssim():
    pairs = [smooth_pair((33, 45, 3), 255, np.uint8, seed=s) for s in range(3)]
    batch = ssim_batch([p[0] for p in pairs], [p[1] for p in pairs], 255.0)
    alone = [ssim_batch([p[0]], [p[1]], 255.0)[0] for p in pairs]
    assert len(set(batch)) == 3
    assert np.max(np.abs(np.subtract(batch, alone))) < 1e-14


def test_torch_ssim_of_identical_frames_is_one():
    made, _ = smooth_pair((20, 30), 4095, np.uint16, seed=3)
    assert ssim_batch([made], [made.copy()], 4095.0) == [pytest.approx(1.0, abs=1e-12)]


def test_torch_ssim_refuses_frames_smaller_than_its_window():
    frame = np.zeros((6, 40), np.uint8)
    with pytest.raises(ValueError, match="at least 7 x 7"):
        ssim_batch([frame], [frame], 255.0)
