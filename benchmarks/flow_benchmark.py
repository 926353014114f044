"""Speed, memory and quality of the `flow` backend (a benchmark to run by hand, not a test).

    .venv/bin/python benchmarks/flow_benchmark.py            # speed + quality, a few minutes
    .venv/bin/python benchmarks/flow_benchmark.py --quick    # smaller quality run
    .venv/bin/python benchmarks/flow_benchmark.py --methods  # also compare flow algorithms
                                                             # (flow-max-side-256: flow at half
                                                             # size on 512x384 frames)

Speed: seconds per 16-bit frame pair (the backend's whole work at t = 0.5: flow both ways,
splatting, warping, blending, noise shrinkage; no file I/O), grey at 512x512, 1024x752 and
2048x1504 and RGB at 2048x1504, with the default `denoise: wiener` and with `none`, each in a
fresh process. Memory: how far the process's peak resident memory (VmHWM, reset before the
work) rose above what it held with the pair loaded (all of the backend's work, OpenCV included),
and the peak of the memory traced by tracemalloc (numpy arrays and Python objects only).

Quality: the demo sequences (vfi.data.demo.write_demo) at two sizes, run through the midpoint
hierarchy with exact times exactly as the workflow does (each level reads the frames written by
the level before, rounded to the file's bit depth), scored against the true frames with
vfi.evaluation.metrics: evaluation (odd -> even frames) and generation (1, 19 -> 2..18) separately.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import multiprocessing
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import torch

from vfi.backends import create_backend, resolve_timing
from vfi.backends.base import Backend
from vfi.backends.flow import FlowBackend
from vfi.data.demo import render_sequence, write_demo
from vfi.data.sequences import discover
from vfi.evaluation.metrics import score
from vfi.io.frames import read_frame
from vfi.io.intensity import Normalisation
from vfi.io.tensors import from_model_tensor, to_model_tensor
from vfi.models.opticalflow.estimate import FlowMethod
from vfi.pipeline.interpolate import normalisation_of

SPEED_SIZES = ((512, 512), (752, 1024), (1504, 2048))  # (height, width)
QUALITY_SIZES = ((96, 128), (384, 512))


def _speed_worker(pair_file: str, denoise: str, repeats: int, queue: multiprocessing.Queue) -> None:
    """In a fresh process: time the backend on one pair, report peak memory above the start."""
    torch.set_num_threads(2)
    pair = np.load(pair_file)
    prev, nxt = (to_model_tensor(f, Normalisation.raw(8 * f.itemsize))[None] for f in pair)
    _reset_peak_rss()
    base_rss = _rss_kib("VmRSS")
    backend = FlowBackend(torch.device("cpu"), denoise=denoise)
    times = torch.tensor([0.5])
    tracemalloc.start()
    backend.interpolate(prev, nxt, times, [0])  # warm-up: OpenCV and numpy set up once
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        backend.interpolate(prev, nxt, times, [0])
        seconds.append(time.perf_counter() - start)
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    added_rss = _rss_kib("VmHWM") - base_rss
    queue.put((statistics.median(seconds), min(seconds), added_rss * 1024, traced_peak))


def _rss_kib(field: str) -> int:
    """Current (VmRSS) or peak (VmHWM) resident memory of this process, KiB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _reset_peak_rss() -> None:
    """Start VmHWM afresh, so the peak is that of the work, not of importing torch."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def speed(repeats: int) -> None:
    print(f"speed: one 16-bit pair, t = 0.5, median of {repeats} runs, 2 threads")
    print(
        f"{'size':>10} {'frames':>6} {'denoise':>7} {'s/pair':>7} {'best':>6} "
        f"{'peak RSS added MiB':>19} {'peak traced MiB':>16}"
    )
    context = multiprocessing.get_context("spawn")
    for height, width in SPEED_SIZES:
        for rgb in (False, True) if width == 2048 else (False,):
            for denoise in ("wiener", "none"):
                with tempfile.TemporaryDirectory() as tmp:
                    pair_file = str(Path(tmp) / "pair.npy")
                    pair = render_sequence(2, height, width, rgb, 16, seed=7)
                    np.save(pair_file, np.stack(pair))
                    queue = context.Queue()
                    proc = context.Process(
                        target=_speed_worker, args=(pair_file, denoise, repeats, queue)
                    )
                    proc.start()
                    median, best, rss, traced = queue.get()
                    proc.join()
                print(
                    f"{width:>5}x{height:<4} {'RGB' if rgb else 'grey':>6} {denoise:>7} "
                    f"{median:>7.2f} {best:>6.2f} {rss / 2**20:>19.0f} {traced / 2**20:>16.0f}"
                )


def run_hierarchy(backend: Backend, data_dir: Path, name: str) -> dict[str, list[dict]]:
    """Generate every missing frame of every demo sequence; scores per mode."""
    timing = resolve_timing("auto", name)
    scores: dict[str, list[dict]] = {"evaluate": [], "generate": []}
    for seq in discover(data_dir).sequences:
        frames = {i: read_frame(p) for i, p in seq.known.items()}
        mapping = normalisation_of(seq, "auto")
        for level in sorted({f.level for f in seq.plan}):
            for frame in (f for f in seq.plan if f.level == level):
                prev = to_model_tensor(frames[frame.prev], mapping)[None]
                nxt = to_model_tensor(frames[frame.next], mapping)[None]
                times = torch.tensor([frame.time(timing)], dtype=torch.float32)
                with torch.inference_mode():
                    out = backend.interpolate(prev, nxt, times, [0])[0]
                frames[frame.index] = from_model_tensor(out, seq.info, mapping)
        for index in seq.scored:
            truth = read_frame(seq.ground_truth[index])
            scores[seq.mode].append(score(frames[index], truth))
    return scores


def _mean(rows: list[dict], key: str) -> float:
    values = [r[key] for r in rows if math.isfinite(r[key])]
    return float(np.mean(values)) if values else math.inf


def quality(sizes: tuple[tuple[int, int], ...], methods: bool) -> None:
    candidates: list[tuple[str, Backend, str]] = [
        ("blend", create_backend("blend", torch.device("cpu")), "blend"),
        ("flow", create_backend("flow", torch.device("cpu")), "flow"),
    ]
    if methods:
        for label, method in (
            ("dis-fast", FlowMethod("dis", "fast")),
            ("dis-ultrafast", FlowMethod("dis", "ultrafast")),
            ("dis-medium-nosmooth", FlowMethod("dis", "medium", smoothing=0.0)),
            ("dis-medium-smooth2", FlowMethod("dis", "medium", smoothing=2.0)),
            ("farneback", FlowMethod("farneback")),
            ("flow-max-side-256", FlowMethod(max_side=256)),
        ):
            candidates.append((label, FlowBackend(torch.device("cpu"), method), "flow"))
    print("\nquality on the demo sequences (exact times), mean over scored frames")
    print(f"{'size':>9} {'mode':>9} {'backend':>20} {'frames':>6} {'PSNR dB':>8} {'SSIM':>7}")
    for height, width in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            write_demo(Path(tmp), height=height, width=width)
            for label, backend, name in candidates:
                start = time.perf_counter()
                scores = run_hierarchy(backend, Path(tmp), name)
                elapsed = time.perf_counter() - start
                for mode, rows in scores.items():
                    print(
                        f"{width:>4}x{height:<4} {mode:>9} {label:>20} {len(rows):>6} "
                        f"{_mean(rows, 'psnr'):>8.2f} {_mean(rows, 'ssim'):>7.4f}"
                        + (f"   ({elapsed:.1f} s)" if mode == "generate" else "")
                    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="quality at the small size only")
    parser.add_argument("--methods", action="store_true", help="also compare flow algorithms")
    parser.add_argument("--no-speed", action="store_true", help="skip the speed measurements")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per size")
    args = parser.parse_args(argv)
    if not args.no_speed:
        speed(args.repeats)
    quality(QUALITY_SIZES[:1] if args.quick else QUALITY_SIZES, args.methods)
    return 0


if __name__ == "__main__":
    sys.exit(main())
