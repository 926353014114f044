"""Cost of scoring and previews on one full-size frame pair (a benchmark to run by hand).

    .venv/bin/python benchmarks/scoring_benchmark.py

Times PSNR, SSIM, LPIPS (AlexNet; a randomly initialised backbone stands in for the ImageNet
weights, which costs the same) and one preview panel on a 1504 x 2048 16-bit grayscale pair, on
the CPU as the workflow's finish jobs run them. Prints seconds per frame.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torchvision

from vfi.evaluation.lpips_scorer import LPIPSScorer
from vfi.evaluation.metrics import psnr, ssim
from vfi.report.previews import STRIP_MAX_SIDE, DisplayRange, resize_for_display


def seconds(work: Callable[[], object], repeats: int = 3) -> float:
    """Best of `repeats` wall-clock times, after one warm-up call."""
    work()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 4096, (1504, 2048), dtype=np.uint16)
    made = (truth + rng.integers(0, 50, truth.shape)).astype(np.uint16)
    with tempfile.TemporaryDirectory() as tmp:
        backbone = Path(tmp) / "alexnet-random.pth"
        state = torchvision.models.alexnet(weights=None).state_dict()
        torch.save({k: v for k, v in state.items() if k.startswith("features.")}, backbone)
        start = time.perf_counter()
        scorer = LPIPSScorer("alex", backbone)
        load = time.perf_counter() - start
    display = DisplayRange.for_frames([truth])
    print(f"frame pair 1504 x 2048 uint16, {torch.get_num_threads()} torch thread(s)")
    print(f"psnr            {seconds(lambda: psnr(made, truth)):.3f} s")
    print(f"ssim            {seconds(lambda: ssim(made, truth)):.3f} s")
    print(f"lpips load      {load:.3f} s (once per sequence)")
    print(f"lpips alex      {seconds(lambda: scorer(made, truth)):.3f} s")
    panel = seconds(lambda: resize_for_display(display.to_rgb8(made), STRIP_MAX_SIDE))
    print(f"preview panel   {panel:.3f} s")


if __name__ == "__main__":
    main()
