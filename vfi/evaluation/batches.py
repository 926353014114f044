"""Every metric of a batch of equal-size frame pairs: one model call for LPIPS, and SSIM in
torch when the batch is on a GPU.

Why batches: a finish job scores all frames of a sequence, and LPIPS on a GPU pays per call
(transfers, kernel launches), not per pixel. On the CPU, SSIM stays with scikit-image, the
reference (`vfi.evaluation.metrics`); on a GPU it is `vfi.evaluation.ssim_torch`, which agrees
with it to about 1e-15 in float64 (tests/evaluation/test_ssim_torch.py;
benchmarks/scoring_benchmark.py prints both). PSNR is cheap and stays in NumPy.
"""

from __future__ import annotations

import math

import numpy as np

from vfi.evaluation.metrics import LPIPSFunction, check_pair, psnr, ssim


def _on_gpu(device: object) -> bool:
    return str(device).startswith("cuda")


def score_batch(
    predictions: list[np.ndarray],
    truths: list[np.ndarray],
    data_range: float,
    lpips: LPIPSFunction | None = None,
    device: object = "cpu",
) -> list[dict[str, float]]:
    """PSNR, SSIM and LPIPS (NaN without `lpips`) of each pair, in order.

    `lpips` may be any (prediction, truth, peak) function; one with a `distances` method
    (`LPIPSScorer`) gets the whole batch at once.
    """
    for prediction, truth in zip(predictions, truths, strict=True):
        check_pair(prediction, truth)
    if _on_gpu(device):
        from vfi.evaluation.ssim_torch import ssim_batch

        ssims = ssim_batch(predictions, truths, data_range, device)
    else:
        ssims = [ssim(p, t, data_range) for p, t in zip(predictions, truths, strict=True)]
    if lpips is None:
        distances = [math.nan] * len(truths)
    elif hasattr(lpips, "distances"):
        distances = lpips.distances(predictions, truths, data_range)
    else:
        distances = [lpips(p, t, data_range) for p, t in zip(predictions, truths, strict=True)]
    return [
        {"psnr": psnr(p, t, data_range), "ssim": s, "lpips": d}
        for p, t, s, d in zip(predictions, truths, ssims, distances, strict=True)
    ]
