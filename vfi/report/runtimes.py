"""Runtimes of the workflow's jobs, from the `benchmark:` files Snakemake writes.

Each job has results/benchmarks/<job>.tsv (or <rule>/<wildcard>.tsv) with a header line and one
line per repeat: wall-clock seconds `s`, peak memory `max_rss` (MB), `cpu_time` (s) and more;
Snakemake writes NA where it could not measure (jobs shorter than its sampling interval).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from vfi.io.atomic import write_text_atomic

RUNTIME_COLUMNS = ("job", "kind", "seconds", "cpu_seconds", "max_rss_mb")


def job_name(path: Path, root: Path) -> str:
    """The job a benchmark file belongs to: its path under the benchmarks folder, no suffix."""
    try:
        relative = Path(path).relative_to(root)
    except ValueError:
        relative = Path(Path(path).name)
    return relative.with_suffix("").as_posix()


def job_kind(job: str) -> str:
    """The kind of job, for grouping: the rule, with model jobs grouped by level.

    finish_sequence/seqA -> finish_sequence; interpolate_level3_seqA_1f2e3d -> interpolate_level3;
    copy_keyframes_seqA_1f2e3d -> copy_keyframes. Jobs of a compare backend (under
    compare/<backend>/) get its prefix: compare/blend/finish_sequence/seqA ->
    compare_blend_finish_sequence, compare/blend/compare_blend_interpolate_level3_seqA_1f2e3d ->
    compare_blend_interpolate_level3.
    """
    parts = job.split("/")
    if parts[0] == "compare" and len(parts) > 2:
        prefix = f"compare_{parts[1]}_"
        return prefix + job_kind("/".join(parts[2:]).removeprefix(prefix))
    head = parts[0]
    match = re.match(r"(interpolate_level\d+|copy_keyframes)_", head)
    return match.group(1) if match else head


def read_benchmarks(files: Iterable[Path], root: Path) -> pd.DataFrame:
    """One row per job (the mean over repeats), sorted by job name."""
    rows = []
    for path in sorted(files, key=str):
        table = pd.read_csv(path, sep="\t", na_values=["NA", "-"])
        if "s" not in table.columns:
            raise ValueError(f"{path}: not a Snakemake benchmark file (no 's' column)")
        job = job_name(Path(path), Path(root))
        rows.append(
            {
                "job": job,
                "kind": job_kind(job),
                "seconds": float(table["s"].mean()),
                "cpu_seconds": float(table["cpu_time"].mean()) if "cpu_time" in table else None,
                "max_rss_mb": float(table["max_rss"].mean()) if "max_rss" in table else None,
            }
        )
    return pd.DataFrame(rows, columns=list(RUNTIME_COLUMNS))


def write_runtimes_csv(runtimes: pd.DataFrame, out: Path) -> None:
    text = runtimes.to_csv(index=False, float_format="%.2f", na_rep="", lineterminator="\n")
    write_text_atomic(out, text)
