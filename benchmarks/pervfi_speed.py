"""Speed, memory and reduced-precision error of PerVFI inference (`vfi.models.pervfi`).

    .venv/bin/python benchmarks/pervfi_speed.py                              # CPU, 1024x768
    .venv/bin/python benchmarks/pervfi_speed.py --size 2048x1504 --tile 1024
    .venv/bin/python benchmarks/pervfi_speed.py --device cuda --precision bf16 --batch 4 \\
        --size 1024x768 --size 2048x1504
    .venv/bin/python benchmarks/pervfi_speed.py --only fidelity --device cuda

A script that prints numbers (not a test). Weights: the tests' fixture generator
(tests/fixtures/pervfi, the official key layout, float16 values cast to float32) and seeded
random torchvision `raft_large` weights; the cost does not depend on the values. Frames: smooth
random images, the second shifted by a few pixels.

Speed table, per frame size: median seconds per pair over --repeats calls after one warm-up
(CUDA synchronised), split into RAFT (both directions) and the generator (front end and
decoder), and peak memory (process RSS, or allocated GPU memory). With --batch B the pairs run
B at a time and seconds are per pair. With --tile the whole call goes through the backend's
tiling (flows and generator per tile).

Fidelity table (`--only fidelity` or `--fidelity`): each stage's largest and mean absolute
error in bf16 and fp16 against fp32, on the same inputs: RAFT's flows in its official float16
regions (pixels), the decoder conditions, the raw frame and the final frame (in [0, 1]).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support import pervfi_state_dict  # noqa: E402

from vfi.models.pervfi import PerVFI  # noqa: E402
from vfi.models.pervfi.model import seeded_noise  # noqa: E402
from vfi.models.pervfi.raft import RaftFlow  # noqa: E402
from vfi.models.precision import Precision  # noqa: E402
from vfi.models.tiling import interpolate_tiled  # noqa: E402


def make_frames(batch: int, height: int, width: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Smooth random RGB frames in [0, 1]; the second is the first shifted by (3, -5) px."""
    gen = torch.Generator().manual_seed(seed)
    coarse = torch.rand(batch, 3, height // 32 + 2, width // 32 + 2, generator=gen)
    smooth = F.interpolate(coarse, size=(height + 16, width + 16), mode="bicubic")
    big = (smooth + 0.03 * torch.rand(batch, 3, height + 16, width + 16, generator=gen)).clamp(0, 1)
    return big[..., 8 : 8 + height, 8 : 8 + width], big[..., 5 : 5 + height, 13 : 13 + width]


def build(variant: str, device: torch.device, iterations: int) -> PerVFI:
    from torchvision.models.optical_flow import raft_large

    model = PerVFI.from_state_dict(pervfi_state_dict(variant), variant, device)
    torch.manual_seed(0)
    model.flow_estimator = RaftFlow(raft_large(weights=None).to(device).eval(), iterations)
    return model


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _median_seconds(fn: Callable[[], object], repeats: int, device: torch.device) -> float:
    """Median of `repeats` timed calls after a warm-up; 0 repeats: the first call, timed."""
    if repeats:
        fn()  # warm-up
    seconds = []
    for _ in range(max(repeats, 1)):
        _sync(device)
        start = time.perf_counter()
        fn()
        _sync(device)
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def _peak_gb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 1e9
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def speed_row(model: PerVFI, size: tuple[int, int], options: argparse.Namespace) -> str:
    width, height = size
    device = model.device
    precision = Precision(options.precision)
    prev, nxt = (x.to(device) for x in make_frames(options.batch, height, width))
    seeds = list(range(options.batch))
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    assert model.flow_estimator is not None
    model.flow_estimator.mixed_precision = precision.autocast_dtype is not None

    def whole() -> torch.Tensor:
        with precision.context(device):
            if options.tile:
                run = lambda a, b: model.interpolate(a, b, 0.5, seeds)  # noqa: E731
                return interpolate_tiled(run, prev, nxt, options.tile, options.tile_overlap)
            return model.interpolate(prev, nxt, 0.5, seeds)

    total = _median_seconds(whole, options.repeats, device) / options.batch
    columns = [f"{width}x{height}", f"{total:8.3f}"]
    if not options.tile:
        pad = (0, -width % 8, 0, -height % 8)
        img0, img1 = F.pad(prev, pad), F.pad(nxt, pad)
        flows = model.flow_estimator(img0, img1)
        noise = None
        if model.variant == "v00":
            noise = seeded_noise(seeds, *img0.shape[-2:], 0.3)

        def generator() -> torch.Tensor:
            with precision.context(device):
                return model.synthesize(img0, img1, 0.5, *flows, noise)

        raft = _median_seconds(lambda: model.flow_estimator(img0, img1), options.repeats, device)
        gen = _median_seconds(generator, options.repeats, device)
        columns += [f"{raft / options.batch:8.3f}", f"{gen / options.batch:8.3f}"]
    else:
        columns += ["     n/a", "     n/a"]
    columns.append(f"{_peak_gb(device):7.2f}")
    return "  ".join(columns)


def _errors(fast: torch.Tensor, reference: torch.Tensor) -> str:
    difference = (fast.float() - reference.float()).abs()
    return f"{difference.max().item():10.2e} {difference.mean().item():10.2e}"


def fidelity_table(model: PerVFI, size: tuple[int, int], write: Callable[[str], None]) -> None:
    width, height = size
    device = model.device
    prev, nxt = (x.to(device) for x in make_frames(1, height, width, seed=3))
    assert model.flow_estimator is not None
    model.flow_estimator.mixed_precision = False
    flows = model.flow_estimator(prev, nxt)
    noise = seeded_noise([0], height, width, 0.3) if model.variant == "v00" else None

    def stages(precision: Precision) -> dict[str, torch.Tensor]:
        record: dict[str, torch.Tensor] = {}
        with precision.context(device):
            record["final frame"] = model.synthesize(prev, nxt, 0.5, *flows, noise, record)
        return record

    reference = stages(Precision("fp32"))
    write(f"PerVFI {model.variant} stage error against fp32 at {width}x{height} on {device}")
    write(f"{'stage':<24}{'precision':>10}{'max':>11}{'mean':>11}")
    for name in ("bf16", "fp16"):
        model.flow_estimator.mixed_precision = True  # RAFT's official float16 regions
        fast_flows = model.flow_estimator(prev, nxt)
        model.flow_estimator.mixed_precision = False
        if device.type == "cuda":
            write(f"{'RAFT flow (px)':<24}{'fp16':>10} {_errors(fast_flows[0], flows[0])}")
        record = stages(Precision(name))
        for stage in ("conds/0", "conds/2", "pred_raw", "final frame"):
            write(f"{stage:<24}{name:>10} {_errors(record[stage], reference[stage])}")


def parse_size(text: str) -> tuple[int, int]:
    width, height = text.lower().split("x")
    return int(width), int(height)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", action="append", type=parse_size, help="WIDTHxHEIGHT")
    parser.add_argument("--variant", default="v00", choices=["v00", "vb"])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "tf32", "bf16", "fp16"])
    parser.add_argument("--batch", type=int, default=1, help="pairs per call")
    parser.add_argument("--iterations", type=int, default=12, help="RAFT refinement steps")
    parser.add_argument("--tile", type=int, default=0, help="tiles of this size (0: whole)")
    parser.add_argument("--tile-overlap", type=int, default=128)
    parser.add_argument(
        "--repeats", type=int, default=2, help="timed calls after a warm-up (0: one, no warm-up)"
    )
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (CPU)")
    parser.add_argument("--only", choices=["speed", "fidelity"])
    parser.add_argument("--fidelity", action="store_true", help="also the fidelity table")
    parser.add_argument("--fidelity-size", type=parse_size, default=(256, 256))
    options = parser.parse_args()
    torch.set_num_threads(options.threads)
    device = torch.device(options.device)
    model = build(options.variant, device, options.iterations)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    with torch.inference_mode():
        if options.only != "fidelity":
            print(
                f"PerVFI {options.variant} on {name} ({options.threads} threads), "
                f"{options.precision}, batch {options.batch}, RAFT {options.iterations} "
                f"iterations, tile {options.tile or 'none'}"
            )
            print("size        s/pair      RAFT  generator  peak GB")
            for size in options.size or [(1024, 768)]:
                print(speed_row(model, size, options), flush=True)
        if options.only == "fidelity" or options.fidelity:
            fidelity_table(model, options.fidelity_size, print)


if __name__ == "__main__":
    main()
