"""Cost of scoring and previews on full-size frame pairs (a benchmark to run by hand).

    .venv/bin/python benchmarks/scoring_benchmark.py [--batch 4] [--repeats 3]

Times PSNR, SSIM (scikit-image, the reference; and `vfi.evaluation.ssim_torch` in float64 and
float32), LPIPS (AlexNet; a randomly initialised backbone stands in for the ImageNet weights,
which costs the same) alone and in batches, and one preview panel, on 1504 x 2048 pairs: 16-bit
grayscale (12-bit values) and 8-bit RGB. Prints seconds per frame on the CPU with the torch
threads finish jobs get (1; --threads to change), and a GPU column when torch sees a GPU. Also
prints how far torch SSIM is from scikit-image, and batched LPIPS from unbatched.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torchvision

from vfi.evaluation.lpips_scorer import LPIPSScorer
from vfi.evaluation.metrics import psnr, ssim
from vfi.evaluation.ssim_torch import ssim_batch
from vfi.report.previews import STRIP_MAX_SIDE, DisplayRange, resize_for_display

SIZE = (1504, 2048)


def seconds(work: Callable[[], object], repeats: int, sync: bool = False) -> float:
    """Best of `repeats` wall-clock times, after one warm-up call."""
    work()
    best = float("inf")
    for _ in range(repeats):
        if sync:
            torch.cuda.synchronize()
        start = time.perf_counter()
        work()
        if sync:
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return best


def frame_pairs(kind: str, count: int) -> tuple[list[np.ndarray], list[np.ndarray], float]:
    """`count` (prediction, truth) pairs: the truth smooth with noise, the prediction near it."""
    rng = np.random.default_rng(0)
    if kind == "gray16":
        shape, peak, dtype = SIZE, 4095, np.uint16
    else:
        shape, peak, dtype = (*SIZE, 3), 255, np.uint8
    made, truth = [], []
    for _ in range(count):
        t = rng.integers(peak // 4, 3 * peak // 4, shape).astype(np.float64)
        m = np.clip(t + rng.normal(0, 0.02 * peak, shape), 0, peak)
        truth.append(t.astype(dtype))
        made.append(m.round().astype(dtype))
    return made, truth, float(peak)


def random_alexnet(folder: Path) -> Path:
    path = folder / "alexnet-random.pth"
    torch.manual_seed(0)
    torch.save(torchvision.models.alexnet(weights=None).state_dict(), path)
    return path


def column(device: str, kind: str, batch: int, repeats: int, backbone: Path) -> dict[str, float]:
    """Seconds per frame of each metric on `device` (PSNR, scikit-image SSIM: CPU only)."""
    made, truth, peak = frame_pairs(kind, batch)
    sync = device.startswith("cuda")
    times: dict[str, float] = {}
    if not sync:
        times["psnr"] = seconds(lambda: psnr(made[0], truth[0], peak), repeats)
        times["ssim skimage"] = seconds(lambda: ssim(made[0], truth[0], peak), repeats)
    for name, dtype in (("ssim torch f64", torch.float64), ("ssim torch f32", torch.float32)):
        times[name] = seconds(
            lambda d=dtype: ssim_batch(made[:1], truth[:1], peak, device, d), repeats, sync
        )
        times[f"{name} x{batch}"] = (
            seconds(lambda d=dtype: ssim_batch(made, truth, peak, device, d), repeats, sync) / batch
        )
    scorer = LPIPSScorer("alex", backbone, device)
    times["lpips alex"] = seconds(
        lambda: scorer.distances(made[:1], truth[:1], peak), repeats, sync
    )
    times[f"lpips alex x{batch}"] = (
        seconds(lambda: scorer.distances(made, truth, peak), repeats, sync) / batch
    )
    return times


def agreement(device: str, kind: str, batch: int, backbone: Path) -> dict[str, float]:
    """Largest differences: torch SSIM against scikit-image, batched LPIPS against one at a
    time."""
    made, truth, peak = frame_pairs(kind, batch)
    reference = [ssim(m, t, peak) for m, t in zip(made, truth, strict=True)]
    scorer = LPIPSScorer("alex", backbone, device)
    alone = [scorer.distances([m], [t], peak)[0] for m, t in zip(made, truth, strict=True)]
    out = {}
    for name, dtype in (("f64", torch.float64), ("f32", torch.float32)):
        values = ssim_batch(made, truth, peak, device, dtype)
        out[f"ssim torch {name} - skimage"] = float(np.max(np.abs(np.subtract(values, reference))))
    out[f"lpips x{batch} - x1"] = float(
        np.max(np.abs(np.subtract(scorer.distances(made, truth, peak), alone)))
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    with tempfile.TemporaryDirectory() as tmp:
        backbone = random_alexnet(Path(tmp))
        start = time.perf_counter()
        LPIPSScorer("alex", backbone)
        load = time.perf_counter() - start
        print(
            f"frame pairs {SIZE[0]} x {SIZE[1]}, {args.threads} torch thread(s), best of "
            f"{args.repeats}; devices: {', '.join(devices)}"
        )
        if torch.cuda.is_available():
            print(f"GPU: {torch.cuda.get_device_name(0)}")
        print(f"lpips load {load:.3f} s (once per finish job)")
        for kind in ("gray16", "rgb8"):
            columns = {d: column(d, kind, args.batch, args.repeats, backbone) for d in devices}
            print(f"\n{kind}: seconds per frame")
            print(f"{'metric':<22}" + "".join(f"{d:>10}" for d in devices))
            for metric in columns["cpu"]:
                cells = "".join(
                    f"{columns[d][metric]:>10.3f}" if metric in columns[d] else f"{'-':>10}"
                    for d in devices
                )
                print(f"{metric:<22}{cells}")
            for device in devices:
                for name, value in agreement(device, kind, args.batch, backbone).items():
                    print(f"max |{name}| on {device}: {value:.2e}")
    truth = frame_pairs("gray16", 1)[1][0]
    display = DisplayRange.for_frames([truth])
    panel = seconds(lambda: resize_for_display(display.to_rgb8(truth), STRIP_MAX_SIDE), 3)
    print(f"\npreview panel {panel:.3f} s")


if __name__ == "__main__":
    main()
