"""Full published LDMVFI architecture with random weights: load, convert, interpolate; prints times.

Builds an official-format Lightning checkpoint (every name and shape of the published model, from
tests/fixtures/ldmvfi/full_manifest.json) filled with random values, then measures what a user's
job does with the real checkpoint: loading the .ckpt, converting it to compact weights, loading
those, and interpolating a pair. Not a test: a script that prints numbers.

    .venv/bin/python benchmarks/ldmvfi_full_size.py --size 256 256 --steps 2 --device cpu
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import tempfile
import time
from pathlib import Path

import torch

from vfi.models.ldmvfi import LDMVFI
from vfi.models.ldmvfi.checkpoint import convert_checkpoint

MANIFEST = (
    Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "ldmvfi" / "full_manifest.json"
)


def random_official_checkpoint(path: Path, seed: int = 0) -> None:
    """Every state_dict entry of the published model, random but numerically tame."""
    manifest = json.loads(MANIFEST.read_text())
    generator = torch.Generator().manual_seed(seed)
    state: dict[str, torch.Tensor] = {}
    for entry in manifest["state_dict_keys"]:
        key, shape, dtype = (
            entry["key"],
            entry["shape"],
            getattr(torch, entry["dtype"].split(".")[-1]),
        )
        if not dtype.is_floating_point:
            state[key] = torch.zeros(shape, dtype=dtype)
        elif len(shape) >= 2:
            fan_in = math.prod(shape[1:])
            state[key] = torch.randn(shape, generator=generator) / math.sqrt(fan_in)
        elif key.endswith(("running_var", "weight")) or key == "model_ema.decay":
            state[key] = torch.ones(shape)
        else:
            state[key] = torch.zeros(shape)
    torch.save({"state_dict": state}, path)


def random_compact_weights(path: Path, dtype: torch.dtype | None = None) -> Path:
    """The compact weights a workflow job loads, made from `random_official_checkpoint`."""
    official = path.with_name(f".{path.stem}.ckpt")
    random_official_checkpoint(official)
    try:
        return convert_checkpoint(official, path, dtype=dtype)
    finally:
        official.unlink()


def timed(label: str, fn):
    start = time.perf_counter()
    result = fn()
    print(f"{label:<44} {time.perf_counter() - start:8.2f} s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, nargs=2, default=[256, 256], metavar=("H", "W"))
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ckpt, compact = Path(tmp) / "full.ckpt", Path(tmp) / "full.safetensors"
        timed("write random full-size .ckpt", lambda: random_official_checkpoint(ckpt))
        print(f"{'checkpoint size':<44} {ckpt.stat().st_size / 1e9:8.2f} GB")
        model = timed(
            "LDMVFI.from_checkpoint(.ckpt)",
            lambda: LDMVFI.from_checkpoint(ckpt, device=args.device),
        )
        del model
        timed(
            "convert_checkpoint(.ckpt -> .safetensors)", lambda: convert_checkpoint(ckpt, compact)
        )
        print(f"{'compact size':<44} {compact.stat().st_size / 1e9:8.2f} GB")
        model = timed(
            "LDMVFI.from_checkpoint(.safetensors)",
            lambda: LDMVFI.from_checkpoint(compact, device=args.device),
        )
        h, w = args.size
        frames = torch.rand(2, args.batch, 3, h, w, generator=torch.Generator().manual_seed(1))
        frames = frames * 2 - 1
        out = timed(
            f"interpolate {args.batch} x {h}x{w}, {args.steps} DDIM steps",
            lambda: model.interpolate(
                frames[0], frames[1], steps=args.steps, seeds=list(range(args.batch))
            ),
        )
        print(f"{'output':<44} {list(out.shape)} finite={bool(torch.isfinite(out).all())}")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
        print(f"{'peak resident memory':<44} {peak:8.2f} GB")


if __name__ == "__main__":
    main()
