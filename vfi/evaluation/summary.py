"""Summary statistics of the scored frames: per sequence, per mode and over everything.

`results/summary.csv` has one row per (scope, sequence, mode, backend, metric):

    scope      sequence | mode (all sequences of one mode) | all
    count      frames whose value entered the statistics
    mean, std, min, max   over those frames (std: sample standard deviation, empty below 2)
    excluded   frames left out: PSNR of an exact copy (inf) or a metric not computed (n/a)

Statistics over a mode or everything pool the frames (not the sequence means), so a sequence
with more scored frames weighs more. Rows are sorted, so the file is the same on every run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from vfi.evaluation.metrics import METRIC_NAMES
from vfi.io.atomic import write_text_atomic

SUMMARY_COLUMNS = (
    "scope",
    "sequence",
    "mode",
    "backend",
    "metric",
    "count",
    "mean",
    "std",
    "min",
    "max",
    "excluded",
)
SCOPE_ORDER = {"all": 0, "mode": 1, "sequence": 2}


def read_metrics(path: Path) -> pd.DataFrame:
    """results/metrics.csv as a frame; names stay text (a sequence may be called 007)."""
    table = pd.read_csv(
        path, dtype={"sequence": str, "mode": str, "backend": str}, keep_default_na=False
    )
    for metric in METRIC_NAMES:
        table[metric] = pd.to_numeric(table[metric].replace("", np.nan))
    return table


def _stats(values: pd.Series) -> dict[str, float | int]:
    finite = values[np.isfinite(values)]
    return {
        "count": len(finite),
        "mean": finite.mean() if len(finite) else np.nan,
        "std": finite.std(ddof=1) if len(finite) > 1 else np.nan,
        "min": finite.min() if len(finite) else np.nan,
        "max": finite.max() if len(finite) else np.nan,
        "excluded": len(values) - len(finite),
    }


def summarise(metrics: pd.DataFrame) -> pd.DataFrame:
    """The summary table described in the module docstring (empty input: no rows)."""
    rows: list[dict[str, object]] = []
    scopes = [
        ("all", ["backend"]),
        ("mode", ["backend", "mode"]),
        ("sequence", ["backend", "mode", "sequence"]),
    ]
    for scope, keys in scopes:
        for group_key, group in metrics.groupby(keys, sort=True):
            named = dict(zip(keys, group_key, strict=True))
            for metric in METRIC_NAMES:
                rows.append(
                    {
                        "scope": scope,
                        "sequence": named.get("sequence", ""),
                        "mode": named.get("mode", ""),
                        "backend": named["backend"],
                        "metric": metric,
                        **_stats(group[metric].astype(float)),
                    }
                )
    table = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    if table.empty:
        return table
    order = table["scope"].map(SCOPE_ORDER)
    metric_order = table["metric"].map({m: i for i, m in enumerate(METRIC_NAMES)})
    table = table.assign(_o=order, _m=metric_order).sort_values(
        ["backend", "_o", "mode", "sequence", "_m"], kind="stable"
    )
    return table.drop(columns=["_o", "_m"]).reset_index(drop=True)


def summary_csv(summary: pd.DataFrame) -> str:
    """CSV text: 6 decimals, missing values as empty cells."""
    return summary.to_csv(index=False, float_format="%.6f", na_rep="", lineterminator="\n")


def write_summary(metrics_csv: Path, out_csv: Path) -> pd.DataFrame:
    """Read results/metrics.csv, write results/summary.csv; returns the summary."""
    summary = summarise(read_metrics(metrics_csv))
    write_text_atomic(out_csv, summary_csv(summary))
    return summary
