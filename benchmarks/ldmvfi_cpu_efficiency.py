"""How close full-size LDMVFI comes to the machine's float32 matrix-multiply rate on the CPU.

Runs, in one process and with one thread count: a float32 GEMM (the rate a convolution can at
best reach), then `LDMVFI.interpolate` of the full published architecture (random weights) with
its floating-point operations counted by `torch.utils.flop_counter`. Efficiency is the call's
achieved FLOP rate over the GEMM rate; it is printed per stage (encoder, U-Net, decoder) and for
the whole call. `--profile N` adds the N most expensive operators of the decoder. Not a test: a
script that prints numbers (issue 18, item 5: the whole call at >= 0.6).

    .venv/bin/python benchmarks/ldmvfi_cpu_efficiency.py --size 1024 1024 --steps 5
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from benchmarks.ldmvfi_full_size import random_compact_weights
from benchmarks.scoring_benchmark import seconds as best_seconds
from vfi.allocator import keep_freed_memory
from vfi.models.ldmvfi import LDMVFI


def gemm_rate(size: int = 2048, seconds: float = 3.0) -> float:
    """Best-of float32 GEMM rate in FLOP/s (square matrices, as many products as fit)."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)
    best = float("inf")
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best


def flops_of(fn: Callable[[], object]) -> int:
    counter = FlopCounterMode(display=False)
    with counter:
        fn()
    return counter.get_total_flops()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, nargs=2, default=[1024, 1024], metavar=("H", "W"))
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    parser.add_argument(
        "--system-malloc", action="store_true", help="glibc's defaults, as before issue 18"
    )
    args = parser.parse_args()
    if not args.system_malloc:
        keep_freed_memory()  # as every `vfi` job does
    torch.manual_seed(0)
    h, w = args.size
    with tempfile.TemporaryDirectory() as tmp:
        model = LDMVFI.from_checkpoint(random_compact_weights(Path(tmp) / "full.safetensors"))
        frames = torch.rand(2, 1, 3, h, w, generator=torch.Generator().manual_seed(1)) * 2 - 1
        prev, next_ = frames[0], frames[1]
        encoded_prev, encoded_next = model.encode_frames(prev), model.encode_frames(next_)
        c = torch.cat([encoded_prev.latent, encoded_next.latent], dim=1)
        x = torch.randn(1, 3, *c.shape[-2:])
        t = torch.full((1,), 500, dtype=torch.long)
        denoise = model.denoiser(c)
        latent = torch.randn_like(x)

        stages: dict[str, Callable[[], object]] = {
            "encoder (x2)": lambda: (model.encode_frames(prev), model.encode_frames(next_)),
            f"U-Net (x{args.steps})": lambda: [denoise(x, t) for _ in range(args.steps)],
            "decoder": lambda: model.decode(latent, encoded_prev, encoded_next),
            f"interpolate ({args.steps} steps)": lambda: model.interpolate(
                prev, next_, steps=args.steps, seeds=[0]
            ),
        }
        rate = gemm_rate()
        print(
            f"threads {torch.get_num_threads()}, {h}x{w}, float32 GEMM 2048^3: "
            f"{rate / 1e9:.1f} GFLOP/s"
        )
        print(f"{'stage':<24} {'GFLOP':>9} {'seconds':>9} {'GFLOP/s':>9} {'of GEMM':>8}")
        for name, fn in stages.items():
            flops = flops_of(fn)
            seconds = best_seconds(fn, args.repeats)  # after a warm-up call of its own
            achieved = flops / seconds
            print(
                f"{name:<24} {flops / 1e9:9.1f} {seconds:9.2f} {achieved / 1e9:9.1f} "
                f"{achieved / rate:8.2f}"
            )
        print(f"float32 GEMM again: {gemm_rate() / 1e9:.1f} GFLOP/s")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        print(
            f"peak resident memory: {peak:.2f} GiB; "
            f"allocator: {'glibc defaults' if args.system_malloc else 'keep_freed_memory'}"
        )
        if args.profile:
            with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
                stages["decoder"]()
            print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.profile))


if __name__ == "__main__":
    main()
