"""Loading LDMVFI compact weights in a fresh process: seconds, peak memory, mapped or copied.

Each repetition starts a new Python process, as a workflow job does, which times
`LDMVFI.from_checkpoint` ("load"), then reading every weight once ("touch": a memory-mapped
weight is only read from the file when first used, so load + touch is the fair total), then
one U-Net step for a 256 x 256 pair. It reports the peak resident memory (VmHWM: file pages
the process has touched count too; not ru_maxrss, which a child inherits from the parent that
forked it), the anonymous memory it holds at the end (RssAnon: private copies; mapped weights
stay page cache, shared by every job on the machine), how many
parameters lie in a mapping of the weights file, and a digest of the U-Net output (equal
digests: the same bits whatever the loading path). Not a test: a script that prints numbers.

Files: the tiny test checkpoint and the full published architecture with random weights
(ldmvfi_full_size.py; about 1.6 GB, needs ~7 GB of RAM for a moment), both converted with the
current code, plus any --weights given (e.g. a file from an older version, to compare).
--cold drops each file from the page cache before every run (posix_fadvise DONTNEED after
fsync, no root needed), otherwise the cache is warm after a first unreported run.

    .venv/bin/python benchmarks/weights_load.py --repeat 3
    .venv/bin/python benchmarks/weights_load.py --no-full --weights old.safetensors --cold
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

# Run in the fresh process: argv[1] is a JSON dict (weights, threads). Prints one JSON line.
CHILD = r"""
import hashlib, json, sys, time
args = json.loads(sys.argv[1])
import torch
torch.set_num_threads(args["threads"])
from vfi.models.ldmvfi import LDMVFI
from vfi.models.ldmvfi.model import LATENT_CHANNELS

def file_ranges(path):
    import os
    inode = os.stat(path).st_ino
    ranges = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            if len(fields) >= 6 and int(fields[4]) == inode and fields[5] == path:
                start, end = (int(x, 16) for x in fields[0].split("-"))
                ranges.append((start, end))
    return ranges

start = time.perf_counter()
model = LDMVFI.from_checkpoint(args["weights"])
loaded = time.perf_counter()
total = sum(float(p.sum()) for p in model.parameters())
touched = time.perf_counter()
torch.manual_seed(0)
unet_in = model.config.unet.in_channels
x = torch.randn(1, LATENT_CHANNELS, 8, 8)
c = torch.randn(1, unet_in - LATENT_CHANNELS, 8, 8)
with torch.inference_mode():
    eps = model.unet(torch.cat([x, c], 1), torch.full((1,), 999))
stepped = time.perf_counter()
ranges = file_ranges(args["weights"])
params = list(model.parameters())
mapped = sum(any(a <= p.data_ptr() < b for a, b in ranges) for p in params)
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
print(json.dumps({
    "load": loaded - start,
    "touch": touched - loaded,
    "step": stepped - touched,
    "peak_mb": int(status["VmHWM"].split()[0]) / 1024,
    "anon_mb": int(status["RssAnon"].split()[0]) / 1024,
    "mapped": f"{mapped}/{len(params)}",
    "digest": hashlib.sha256(eps.numpy().tobytes()).hexdigest()[:12],
    "checksum": total,
}))
"""


def drop_from_page_cache(path: Path) -> None:
    """Evict the file's (clean) pages, so the next read comes from the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def run_job(weights: Path, threads: int) -> dict:
    args = json.dumps({"weights": str(weights.resolve()), "threads": threads})
    done = subprocess.run(
        [sys.executable, "-c", CHILD, args], capture_output=True, text=True, cwd=ROOT, check=False
    )
    if done.returncode:
        raise SystemExit(f"job process failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(weights: Path, args: argparse.Namespace) -> None:
    if not args.cold:
        run_job(weights, args.threads)  # warm the page cache
    results = []
    for _ in range(args.repeat):
        if args.cold:
            drop_from_page_cache(weights)
        results.append(run_job(weights, args.threads))
    median = {k: statistics.median(r[k] for r in results) for k in ("load", "touch", "step")}
    median |= {k: statistics.median(r[k] for r in results) for k in ("peak_mb", "anon_mb")}
    last = results[-1]
    print(
        f"{weights.name:<28}{weights.stat().st_size / 1e6:9.1f}{median['load']:8.2f}"
        f"{median['load'] + median['touch']:10.2f}{median['step']:8.2f}{median['peak_mb']:9.0f}"
        f"{median['anon_mb']:9.0f}{last['mapped']:>11}{last['digest']:>14}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", type=Path, nargs="*", default=[], help="more compact files")
    parser.add_argument("--no-full", action="store_true", help="skip the full-size file")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads of the job")
    parser.add_argument("--cold", action="store_true", help="drop the file from the page cache")
    parser.add_argument("--tmpdir", type=Path, help="folder for the temporary weights")
    args = parser.parse_args()
    from ldmvfi_full_size import random_compact_weights

    sys.path.insert(0, str(ROOT / "tests"))
    from support import fixture_file

    from vfi.models.ldmvfi.checkpoint import convert_checkpoint

    fixtures = ROOT / "tests" / "fixtures" / "ldmvfi"
    with tempfile.TemporaryDirectory(dir=args.tmpdir) as tmp:
        tiny = Path(tmp) / "tiny.safetensors"
        files = [
            convert_checkpoint(
                fixture_file(fixtures / "tiny.ckpt"), tiny, fixtures / "tiny_config.yaml"
            )
        ]
        if not args.no_full:
            files.append(random_compact_weights(Path(tmp) / "full.safetensors"))
        cache = "cold" if args.cold else "warm"
        print(f"median of {args.repeat} fresh processes, page cache {cache}, {args.threads} thread")
        print(
            f"{'file':<28}{'MB':>9}{'load s':>8}{'+touch s':>10}{'step s':>8}{'peak MB':>9}"
            f"{'anon MB':>9}{'mapped':>11}{'U-Net digest':>14}"
        )
        for weights in [*files, *args.weights]:
            measure(weights, args)


if __name__ == "__main__":
    main()
