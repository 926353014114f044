"""Frames per second of a whole workflow run, and how much of each model job is start-up.

Writes the demo data (5 sequences: 3 to generate, 2 to evaluate) at the size asked for, runs the
real `snakemake` on it with the chosen backend and prints: wall time, generated frames, frames per
second, and per model job its total time (Snakemake's benchmark file) split into start-up (process
start to the first frame's work: imports, device, weights) and the time spent making frames
(from the job's log). For `--backend ldmvfi` the weights are the full published architecture with
random values, converted to the compact file the workflow uses. Not a test: prints numbers.

`--sequences N` copies the demo sequences until there are N (how job start-up scales with the
number of model jobs: `--batch-size 8` against `--batch-size auto`).

    .venv/bin/python benchmarks/workflow_fps.py --backend ldmvfi --size 256x256 --steps 2
    .venv/bin/python benchmarks/workflow_fps.py --backend flow --size 48x32 --sequences 186 \
        --batch-size auto --quiet-jobs
    .venv/bin/python benchmarks/workflow_fps.py --backend ldmvfi --device cuda --steps 200 \
        --size 2048x1504 --precision bf16
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from ldmvfi_full_size import random_compact_weights  # noqa: E402

from vfi.data.demo import write_demo  # noqa: E402
from vfi.models.ldmvfi.speed import parse_size  # noqa: E402

SNAKEMAKE = Path(sys.executable).parent / "snakemake"
# "level 2: 6/6 frames done (12.3 s)": seconds since the job began making frames.
_DONE = re.compile(r"level \d+: (\d+)/(\d+) frames done \(([\d.]+) s\)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", default="ldmvfi", choices=["ldmvfi", "flow", "blend"])
    parser.add_argument("--size", default="256x256", help="WIDTHxHEIGHT of the demo frames")
    parser.add_argument("--steps", type=int, default=2, help="DDIM steps (ldmvfi)")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-size", default=None, help="sequences per job, or auto")
    parser.add_argument("--sequences", type=int, default=5, help="demo sequences (copies)")
    parser.add_argument("--quiet-jobs", action="store_true", help="no line per model job")
    parser.add_argument(
        "--model-jobs-only",
        action="store_true",
        help="skip scoring, previews and tables (the wall time is then the model jobs')",
    )
    parser.add_argument("--max-batch", type=int, default=None, help="pairs per model call")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--workdir", type=Path, help="keep everything here (default: temporary)")
    args = parser.parse_args()
    height, width = parse_size(args.size)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        write_demo(workdir / "data", height=height, width=width)
        copy_sequences(workdir / "data", args.sequences)
        config = {
            "data_dir": "data",
            "backend": args.backend,
            "device": args.device,
            "metrics": {"lpips": "disabled"},
        }
        if args.batch_size:
            config["batch_size"] = "auto" if args.batch_size == "auto" else int(args.batch_size)
        if args.backend == "ldmvfi":
            config["ldmvfi"] = {
                "checkpoint": str(_compact_weights(workdir)),
                "steps": args.steps,
                "precision": args.precision,
            }
            if args.max_batch:
                config["ldmvfi"]["max_batch"] = args.max_batch
        (workdir / "bench.yaml").write_text(yaml.safe_dump(config))
        command = [
            str(SNAKEMAKE),
            "--snakefile",
            str(ROOT / "workflow" / "Snakefile"),
            "--directory",
            str(workdir),
            "--configfile",
            str(workdir / "bench.yaml"),
            "--cores",
            str(args.cores),
            "--resources",
            "gpu=1",
            "--quiet",
        ]
        if args.model_jobs_only:
            command += ["--omit-from", "finish_sequence", "preview_sequence", "strips_sequence"]
        started = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True)
        wall = time.perf_counter() - started
        if result.returncode:
            sys.exit(f"snakemake failed:\n{result.stderr[-3000:]}")
        report(workdir, wall, args.quiet_jobs)


def copy_sequences(data: Path, count: int) -> None:
    """Copies of the demo sequences (input and ground truth) until there are `count`."""
    originals = sorted(p.name for p in (data / "input").iterdir())
    for number in range(len(originals), count):
        name = originals[number % len(originals)]
        for part in ("input", "gt"):
            if (data / part / name).is_dir():
                shutil.copytree(data / part / name, data / part / f"{name}_copy{number:03d}")


def _compact_weights(workdir: Path) -> Path:
    compact = workdir / "full.safetensors"
    return compact if compact.exists() else random_compact_weights(compact)


def report(workdir: Path, wall: float, quiet_jobs: bool = False) -> None:
    """Print the run's throughput and the start-up/compute split of each model job."""
    rows = []
    for log in sorted((workdir / "results" / "logs").rglob("interpolate*.log")):
        made = _DONE.findall(log.read_text())
        if not made:
            continue
        frames, compute = int(made[-1][1]), float(made[-1][2])
        bench = _benchmark_file(workdir, log)
        total = float(pd.read_csv(bench, sep="\t")["s"].iloc[0]) if bench else float("nan")
        rows.append((log.stem, frames, total, total - compute, compute))
    generated = sum(r[1] for r in rows)
    if not quiet_jobs:
        print(f"{'job':<34} {'frames':>6} {'total s':>8} {'start-up s':>10} {'frames s':>9}")
        for name, frames, total, startup, compute in rows:
            print(f"{name:<34} {frames:>6} {total:>8.1f} {startup:>10.1f} {compute:>9.1f}")
    model_total = sum(r[2] for r in rows)
    startup_total = sum(r[3] for r in rows)
    print(f"whole run: {wall:.1f} s wall, {generated} frames made by {len(rows)} model jobs")
    print(f"frames per second (whole run, wall clock): {generated / wall:.3f}")
    print(
        f"model jobs: {model_total:.1f} s in all, of which start-up {startup_total:.1f} s "
        f"({100 * startup_total / model_total:.0f}%), {startup_total / len(rows):.1f} s per job"
    )


def _benchmark_file(workdir: Path, log: Path) -> Path | None:
    relative = log.relative_to(workdir / "results" / "logs").with_suffix(".tsv")
    candidate = workdir / "results" / "benchmarks" / relative
    return candidate if candidate.exists() else None


if __name__ == "__main__":
    main()
