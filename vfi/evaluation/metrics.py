"""Frame quality metrics, computed on the frames as written (integers, original bit depth).

PSNR and SSIM take the data range of the sequence (`vfi.io.intensity.resolve_data_range`:
by default the full scale of its real bit depth, 4095 for 12-bit data in 16-bit files), so that
scores of 8-, 12- and 16-bit data mean the same; RGB frames are scored over all channels. LPIPS
lives in `vfi.evaluation.lpips_scorer` (it needs torch and weights); a frame without it gets NaN,
never a guess.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from vfi.io.frames import max_value

METRIC_NAMES = ("psnr", "ssim", "lpips")
# Higher is better for PSNR and SSIM, lower for LPIPS; units for tables and plots.
METRIC_LABELS = {"psnr": "PSNR (dB)", "ssim": "SSIM", "lpips": "LPIPS"}
HIGHER_IS_BETTER = {"psnr": True, "ssim": True, "lpips": False}


def check_pair(prediction: np.ndarray, truth: np.ndarray) -> None:
    """Every metric compares frames of one shape and pixel type; anything else is a bug."""
    if prediction.shape != truth.shape or prediction.dtype != truth.dtype:
        raise ValueError(
            f"cannot compare a {prediction.shape} {prediction.dtype} frame with "
            f"a {truth.shape} {truth.dtype} ground truth"
        )


def psnr(prediction: np.ndarray, truth: np.ndarray, data_range: float | None = None) -> float:
    """Peak signal-to-noise ratio in dB with peak `data_range` (default: the file type's full
    scale); infinite for identical frames."""
    # scikit-image (with SciPy) is imported on first use: this module is light to import.
    from skimage.metrics import peak_signal_noise_ratio

    check_pair(prediction, truth)
    if np.array_equal(prediction, truth):
        return math.inf
    peak = data_range or max_value(truth.dtype)
    return float(peak_signal_noise_ratio(truth, prediction, data_range=peak))


def ssim(prediction: np.ndarray, truth: np.ndarray, data_range: float | None = None) -> float:
    """Structural similarity (Gaussian-free 7x7 window, scikit-image defaults), in [-1, 1];
    `data_range` sets its stabilising constants (default: the file type's full scale)."""
    from skimage.metrics import structural_similarity

    check_pair(prediction, truth)
    channel_axis = 2 if truth.ndim == 3 else None
    return float(
        structural_similarity(
            truth,
            prediction,
            data_range=data_range or max_value(truth.dtype),
            channel_axis=channel_axis,
        )
    )


LPIPSFunction = Callable[[np.ndarray, np.ndarray, float], float]
"""(prediction, truth, data range) -> LPIPS distance"""


def score(
    prediction: np.ndarray,
    truth: np.ndarray,
    lpips: LPIPSFunction | None = None,
    data_range: float | None = None,
) -> dict[str, float]:
    """Every metric of one frame with one data range; LPIPS is NaN (not computed) when no
    scorer is given."""
    peak = data_range or max_value(truth.dtype)
    return {
        "psnr": psnr(prediction, truth, peak),
        "ssim": ssim(prediction, truth, peak),
        "lpips": lpips(prediction, truth, peak) if lpips is not None else math.nan,
    }
