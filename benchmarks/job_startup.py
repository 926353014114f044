"""Fixed cost of one LDMVFI workflow job: process start -> imports -> weights -> first U-Net step.

Uses the full published architecture with random weights: writes a random official-format .ckpt
(see ldmvfi_full_size.py), converts it to compact .safetensors weights (optionally stored as
bfloat16/float16) and deletes the .ckpt, or reuses a compact file given with --weights. Then it
starts a fresh Python process per repetition, as a workflow job does, which records when it got
to each phase; the clock starts when this script spawns it. Not a test: a script that prints
numbers. --slow measures the previous loading path in the same way (build the model with random
initialisation on the device, read all weights to the CPU, copy them with load_state_dict).
On a CPU shared with other work, torch's threads can slow each other down badly (the U-Net step
took 10 x longer with 2 threads than with 1 on two cores, one of them busy): --threads 1 gives
steadier numbers there.

    .venv/bin/python benchmarks/job_startup.py --dtype bfloat16 --repeat 3
    .venv/bin/python benchmarks/job_startup.py --weights full.safetensors --device cuda --slow

The compact file is about 1.6 GB in float32 (half that in bfloat16), written to a temporary
folder (--tmpdir) and deleted at the end; making it needs about 3.5 GB of disk and 7 GB of RAM
for a moment. The page cache is warm after the first run, as for all but the first job of a
workflow: the first row shows the cold(er) case.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# Run in the fresh process: argv[1] is a JSON dict (spawn time, weights, device, slow). Prints
# one JSON line: the wall-clock time at the end of each phase and the peak resident memory.
CHILD = r"""
import json, resource, sys, time
marks = {"python started": time.time()}
args = json.loads(sys.argv[1])
import torch
if args["threads"]:
    torch.set_num_threads(args["threads"])
marks["import torch"] = time.time()
import vfi.models.ldmvfi
from vfi.models.ldmvfi import LDMVFI
from vfi.models.ldmvfi.model import LATENT_CHANNELS
marks["import vfi.models.ldmvfi"] = time.time()
device = torch.device(args["device"])
def sync():
    if device.type == "cuda":
        torch.cuda.synchronize(device)
if device.type == "cuda":
    torch.cuda.init()
    torch.zeros(1, device=device)
    sync()
    marks["CUDA init"] = time.time()
if args["slow"]:
    from vfi.models.ldmvfi.checkpoint import compact_config, read_weights
    with torch.device(device):
        model = LDMVFI(compact_config(args["weights"]))
    weights = read_weights(args["weights"], model.unet, model.first_stage)
    model.unet.load_state_dict(weights.unet)
    model.first_stage.load_state_dict(weights.first_stage)
    model.eval()
    del weights
else:
    model = LDMVFI.from_checkpoint(args["weights"], device=device)
sync()
marks["load weights"] = time.time()
# One DDIM step's U-Net call for a 256 x 256 frame pair: latent 8 x 8 (1/32).
unet_in = model.config.unet.in_channels
x = torch.randn(1, LATENT_CHANNELS, 8, 8, device=device)
c = torch.randn(1, unet_in - LATENT_CHANNELS, 8, 8, device=device)
t = torch.full((1,), 999, dtype=torch.int64, device=device)
with torch.inference_mode():
    eps = model.unet(torch.cat([x, c], 1), t)
sync()
marks["first U-Net step"] = time.time()
assert eps.shape == x.shape and bool(torch.isfinite(eps).all()), "bad U-Net output"
dtypes = sorted({str(p.dtype) for p in model.state_dict().values()})
devices = sorted({str(p.device) for p in model.state_dict().values()})
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
print(json.dumps({"marks": marks, "peak_gb": peak, "dtypes": dtypes, "devices": devices}))
"""


def make_compact(folder: Path, dtype: str) -> Path:
    import torch
    from ldmvfi_full_size import random_compact_weights

    compact = folder / f"full-{dtype}.safetensors"
    start = time.perf_counter()
    random_compact_weights(compact, None if dtype == "float32" else getattr(torch, dtype))
    print(
        f"wrote {compact.name} ({compact.stat().st_size / 1e9:.2f} GB) in "
        f"{time.perf_counter() - start:.0f} s"
    )
    return compact


def run_job(weights: Path, device: str, slow: bool, threads: int | None) -> dict:
    spawned = time.time()
    args = json.dumps({"weights": str(weights), "device": device, "slow": slow, "threads": threads})
    done = subprocess.run(
        [sys.executable, "-c", CHILD, args], capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise SystemExit(f"job process failed:\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["spawned"] = spawned
    return result


def phases(result: dict) -> dict[str, float]:
    """Seconds spent in each phase, then the total since the spawn."""
    out, previous = {}, result["spawned"]
    for name, stamp in result["marks"].items():
        out[name] = stamp - previous
        previous = stamp
    out["total"] = previous - result["spawned"]
    return out


def print_table(title: str, rows: list[dict[str, float]]) -> None:
    names = list(rows[0])
    print(f"\n{title}")
    header = "".join(f"{'run ' + str(i + 1):>9}" for i in range(len(rows)))
    print(f"{'phase (s)':<20}{header}{'median':>9}")
    for name in names:
        values = [row[name] for row in rows]
        cells = "".join(f"{v:9.2f}" for v in values)
        print(f"{name:<20}{cells}{statistics.median(values):9.2f}")


def measure(weights: Path, args: argparse.Namespace, slow: bool) -> None:
    results = [run_job(weights, args.device, slow, args.threads) for _ in range(args.repeat)]
    path = "old path (build on device + load_state_dict)" if slow else "LDMVFI.from_checkpoint"
    threads = f", {args.threads} CPU threads" if args.threads else ""
    title = f"{path}, {weights.name}, device {args.device}{threads}"
    print_table(title, [phases(r) for r in results])
    last = results[-1]
    print(
        f"peak RSS of the job {statistics.median(r['peak_gb'] for r in results):.2f} GB; "
        f"model tensors {', '.join(last['dtypes'])} on {', '.join(last['devices'])}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", type=Path, help="existing compact .safetensors to load")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--slow", action="store_true", help="also time the previous load path")
    parser.add_argument("--tmpdir", type=Path, help="folder for the temporary weights")
    parser.add_argument(
        "--threads", type=int, help="torch CPU threads of the job (default: torch's choice)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.tmpdir) as tmp:
        weights = args.weights or make_compact(Path(tmp), args.dtype)
        if args.slow:
            measure(weights, args, slow=True)
        measure(weights, args, slow=False)


if __name__ == "__main__":
    main()
