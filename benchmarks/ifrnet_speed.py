"""Speed and peak memory of IFRNet inference: ours (`vfi.models.ifrnet`) against the official code.

    .venv/bin/python benchmarks/ifrnet_speed.py                          # ours, 2048x1504
    .venv/bin/python benchmarks/ifrnet_speed.py --official /tmp/ifrnet_official
    .venv/bin/python benchmarks/ifrnet_speed.py --size 1024x752 --variant IFRNet_S
    .venv/bin/python benchmarks/ifrnet_speed.py --device cuda --precision bf16 --official ...

A script that prints numbers (not a test). One frame pair of the given size (width x height),
t = 0.5, batch 1; the weights are the tests' fixture weights (`fixture_weights` in
tests/support.py: non-trivial flows and masks; the cost does not depend on the
values) and the frames smooth random images, the second shifted by a few pixels.

Each implementation runs in its own fresh Python process (threads set with --threads):
* ours: `IFRNet.interpolate(prev, next, 0.5)` (pads to a multiple of 16 itself; `dtype` for
  --precision);
* official (--official PATH, a checkout of github.com/ltkong218/IFRNet): `Model.inference` of
  models/<variant>.py under `torch.no_grad()` with our state_dict loaded strictly, on the frames
  padded the same way (centred replicate padding to a multiple of 16, as its InputPadder) and
  cropped back. The checkout is imported unmodified (its root goes on sys.path for `utils` and
  `loss`); it needs no CUDA on a CPU machine (its loss.py picks the device itself). For bf16 /
  fp16 it is cast as people do with the official code (`model.to(dtype)`, inputs too).

Numbers per implementation:
* s/pair: median wall-clock seconds of --repeats calls after one warm-up call (min in brackets);
  on CUDA each call is synchronised.
* peak RSS: the process's peak resident memory (`ru_maxrss`, all of it: Python, torch, weights,
  frames and the inference); `+infer` is how far it rose above the resident memory just before
  the warm-up call (VmHWM - VmRSS then), i.e. what the inference itself added.
* CUDA only: peak allocated GPU memory (`torch.cuda.max_memory_allocated`).
Then, with --official, the largest absolute difference of the two output frames (values in
[0, 1]) and our speed-up (official s/pair / ours).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
VARIANT_MODULES = {"IFRNet": "IFRNet", "IFRNet_L": "IFRNet_L", "IFRNet_S": "IFRNet_S"}


def fixture_weights(variant: str) -> dict[str, torch.Tensor]:
    """The tests' fixture weights of `variant` (official key names and order)."""
    from vfi.models.ifrnet.network import IFRNetNetwork

    sys.path.insert(0, str(ROOT / "tests"))
    from support import fixture_weights as formula

    with torch.device("meta"):
        shapes = {k: list(v.shape) for k, v in IFRNetNetwork(variant).state_dict().items()}
    return formula(variant, shapes)


def make_frames(height: int, width: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Smooth random RGB frames in [0, 1]; the second is the first shifted by (3, -5) px."""
    gen = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 3, height // 32 + 2, width // 32 + 2, generator=gen)
    smooth = F.interpolate(coarse, size=(height + 16, width + 16), mode="bicubic")
    fine = 0.03 * torch.rand(1, 3, height + 16, width + 16, generator=gen)
    big = (smooth + fine).clamp(0, 1)
    prev = big[..., 8 : 8 + height, 8 : 8 + width]
    nxt = big[..., 5 : 5 + height, 13 : 13 + width]
    return prev.contiguous(), nxt.contiguous()


# ---------------------------------------------------------------------------------------------
# Child process: one implementation, timed.


def _rss_kib(field: str) -> int:
    """VmRSS / VmHWM of this process in KiB (Linux); 0 elsewhere."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _ours(variant: str, weights: dict, device: torch.device, dtype: torch.dtype):
    from vfi.models.ifrnet import IFRNet

    model = IFRNet.from_state_dict(weights, device=device)
    del weights

    def run(prev: torch.Tensor, nxt: torch.Tensor) -> torch.Tensor:
        return model.interpolate(prev, nxt, 0.5, dtype=dtype)

    return run


def _official(root: str, variant: str, weights: dict, device: torch.device, dtype: torch.dtype):
    from vfi.models.ifrnet.padding import InputPadder

    sys.path.insert(0, root)  # the official models import `utils` and `loss` from the root
    module = importlib.import_module(f"models.{VARIANT_MODULES[variant]}")
    model = module.Model()
    model.load_state_dict(weights, strict=True)
    del weights
    model = model.to(device=device, dtype=dtype).eval()

    def run(prev: torch.Tensor, nxt: torch.Tensor) -> torch.Tensor:
        padder = InputPadder(prev.shape[-2], prev.shape[-1], 16)
        img0 = padder.pad(prev.to(device=device, dtype=dtype))
        img1 = padder.pad(nxt.to(device=device, dtype=dtype))
        embt = torch.full((prev.shape[0], 1, 1, 1), 0.5, device=device, dtype=dtype)
        with torch.no_grad():
            out = model.inference(img0, img1, embt)
        return padder.unpad(out).float()

    return run


def child(args: dict) -> None:
    """Time one implementation; print one JSON line."""
    torch.set_num_threads(args["threads"])
    device, dtype = torch.device(args["device"]), PRECISIONS[args["precision"]]
    data = torch.load(args["data"], weights_only=True)
    if args["impl"] == "ours":
        run = _ours(args["variant"], data["weights"], device, dtype)
    else:
        run = _official(args["official"], args["variant"], data["weights"], device, dtype)
    prev, nxt = data["prev"].to(device), data["next"].to(device)
    del data

    def timed() -> tuple[float, torch.Tensor]:
        start = time.perf_counter()
        out = run(prev, nxt)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return time.perf_counter() - start, out

    rss_before = _rss_kib("VmRSS")
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    warmup, out = timed()
    torch.save(out.cpu(), args["out"])
    del out
    seconds = []
    for _ in range(args["repeats"]):
        elapsed, out = timed()
        del out
        seconds.append(elapsed)
    result = {
        "warmup": warmup,
        "median": statistics.median(seconds) if seconds else warmup,
        "min": min(seconds) if seconds else warmup,
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
        "added_gb": (_rss_kib("VmHWM") - rss_before) / 1e6,
        "gpu_peak_gb": torch.cuda.max_memory_allocated(device) / 1e9
        if device.type == "cuda"
        else None,
    }
    print(json.dumps(result))


# ---------------------------------------------------------------------------------------------
# Parent process.


def measure(impl: str, settings: dict, folder: Path) -> dict:
    args = dict(settings, impl=impl, out=str(folder / f"{impl}.pt"))
    done = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(args)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if done.returncode:
        raise SystemExit(f"{impl} process failed:\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["out"] = torch.load(args["out"], weights_only=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="2048x1504", help="width x height (default 2048x1504)")
    parser.add_argument("--variant", default="IFRNet", choices=list(VARIANT_MODULES))
    parser.add_argument("--official", metavar="PATH", help="checkout of ltkong218/IFRNet")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls after one warm-up")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="fp32", choices=list(PRECISIONS))
    parser.add_argument("--skip-ours", action="store_true", help="only the official code")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(json.loads(args.child))
        return

    width, height = (int(v) for v in args.size.lower().split("x"))
    impls = ([] if args.skip_ours else ["ours"]) + (["official"] if args.official else [])
    print(
        f"torch {torch.__version__}, {args.threads} threads, device {args.device}, "
        f"{args.precision}, {args.variant}, {width}x{height}, t = 0.5, median of "
        f"{args.repeats} after 1 warm-up"
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        prev, nxt = make_frames(height, width)
        data = {"weights": fixture_weights(args.variant), "prev": prev, "next": nxt}
        torch.save(data, folder / "data.pt")
        del data
        settings = {
            "data": str(folder / "data.pt"),
            "variant": args.variant,
            "official": str(Path(args.official).resolve()) if args.official else None,
            "repeats": args.repeats,
            "threads": args.threads,
            "device": args.device,
            "precision": args.precision,
        }
        print(
            f"{'impl':>9} {'s/pair':>8} {'(min)':>8} {'warm-up':>8} {'peak RSS':>9} "
            f"{'+infer':>7} {'GPU peak':>9}"
        )
        results = {}
        for impl in impls:
            r = results[impl] = measure(impl, settings, folder)
            gpu = f"{r['gpu_peak_gb']:.2f} GB" if r["gpu_peak_gb"] is not None else "-"
            print(
                f"{impl:>9} {r['median']:8.2f} {r['min']:8.2f} {r['warmup']:8.2f} "
                f"{r['peak_rss_gb']:6.2f} GB {r['added_gb']:4.2f} GB {gpu:>9}",
                flush=True,
            )
    if len(results) == 2:
        ours, official = results["ours"], results["official"]
        diff = (ours["out"] - official["out"]).abs()
        print(
            f"max |ours - official| = {diff.max().item():.3g} (mean {diff.mean().item():.3g}); "
            f"speed-up {official['median'] / ours['median']:.2f}x"
        )


if __name__ == "__main__":
    main()
