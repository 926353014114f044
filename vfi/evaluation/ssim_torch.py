"""SSIM in torch, batched, as `vfi.evaluation.metrics.ssim` computes it with scikit-image.

Why: scikit-image scores one frame at a time on one CPU core; this runs a batch of frames on
whatever device LPIPS uses (a GPU when there is one). It reproduces
`skimage.metrics.structural_similarity(truth, prediction, data_range=L, channel_axis=...)` with
its defaults: a uniform 7x7 window, sample covariance (49/48), K1 = 0.01, K2 = 0.03, the mean
over the image less a 3-pixel border (and over channels for RGB). Inside that border every window
lies within the image, so scikit-image's reflected padding never matters and an unpadded 7x7
average is the same filter.

It computes in float64 by default: in float32 the variances (mean of squares less square of
mean) lose digits to cancellation (benchmarks/scoring_benchmark.py prints by how much).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

WIN_SIZE = 7
K1, K2 = 0.01, 0.03


def frames_to_tensor(frames: list[np.ndarray], device: object, dtype: object) -> torch.Tensor:
    """N x C x H x W from equal-shape frames (H x W or H x W x C)."""
    import torch

    stack = np.stack(frames)
    stack = stack[:, None] if stack.ndim == 3 else stack.transpose(0, 3, 1, 2)
    # uint16 has no torch type on every version; int32 holds every 16-bit value exactly.
    tensor = torch.from_numpy(np.ascontiguousarray(stack.astype(np.int32, copy=False)))
    return tensor.to(device=device).to(dtype)


def _window_mean(x: torch.Tensor) -> torch.Tensor:
    """Mean over each 7x7 window lying inside the image (separable: rows, then columns)."""
    import torch.nn.functional as F

    n, c, h, w = x.shape
    flat = x.reshape(n * c, 1, h, w)
    flat = F.avg_pool2d(flat, (WIN_SIZE, 1), stride=1)
    flat = F.avg_pool2d(flat, (1, WIN_SIZE), stride=1)
    return flat.reshape(n, c, h - WIN_SIZE + 1, w - WIN_SIZE + 1)


def ssim_tensors(prediction: torch.Tensor, truth: torch.Tensor, data_range: float) -> torch.Tensor:
    """SSIM of each of N frame pairs (N x C x H x W, float): a tensor of N values."""
    if prediction.shape != truth.shape:
        raise ValueError(f"cannot compare {tuple(prediction.shape)} with {tuple(truth.shape)}")
    if min(truth.shape[-2:]) < WIN_SIZE:
        raise ValueError(f"SSIM needs frames of at least {WIN_SIZE} x {WIN_SIZE} pixels")
    x, y = truth, prediction
    cov_norm = WIN_SIZE**2 / (WIN_SIZE**2 - 1)
    ux, uy = _window_mean(x), _window_mean(y)
    vx = cov_norm * (_window_mean(x * x) - ux * ux)
    vy = cov_norm * (_window_mean(y * y) - uy * uy)
    vxy = cov_norm * (_window_mean(x * y) - ux * uy)
    c1 = (K1 * data_range) ** 2
    c2 = (K2 * data_range) ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    return s.mean(dim=(1, 2, 3))


def ssim_batch(
    predictions: list[np.ndarray],
    truths: list[np.ndarray],
    data_range: float,
    device: object = "cpu",
    dtype: object = None,
) -> list[float]:
    """SSIM of equal-shape frame pairs as read (8/16-bit, grayscale or RGB), one per pair."""
    import torch

    dtype = dtype or torch.float64
    with torch.inference_mode():
        a = frames_to_tensor(predictions, device, dtype)
        b = frames_to_tensor(truths, device, dtype)
        return [float(v) for v in ssim_tensors(a, b, float(data_range)).cpu()]
