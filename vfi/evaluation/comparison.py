"""Backends compared on the same frames: means per backend and set, and paired differences.

The main backend (`backend:`) and each compare backend (`compare:`) score the same frames
against the same ground truth, so their scores pair up frame by frame. Frames fall into two
sets: `evaluation` (predicted even frames of odd/even sequences: triplets) and `generation`
(generated frames with ground truth).

    comparison.csv         backend, role (main | compare), set, metric, frames, mean, std,
                           excluded: the statistics of each backend's scored frames
    comparison_paired.csv  backend, reference (the main backend), set, metric, frames, excluded,
                           mean_difference, ci_low, ci_high, confidence, resamples, verdict:
                           the mean of (compare - main) over the frames both scored with a
                           finite value, and its percentile bootstrap confidence interval

The bootstrap resamples whole sequences with replacement (`resamples` times, one seeded
generator, so reruns give the same bytes): frames of one sequence are not independent (they
share parents, content and noise), and resampling frames gives intervals that are too narrow.
With a single sequence there is nothing to resample but its frames, and the interval says only
whether the difference is larger than the spread of those frames. `unit` says which was
resampled. `verdict` names the better backend when the interval excludes 0, else says the
difference is not clear. Values that are not finite (PSNR of an exact copy, a
metric not computed) are left out and counted in `excluded`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from vfi.evaluation.metrics import HIGHER_IS_BETTER, METRIC_NAMES
from vfi.io.atomic import write_text_atomic

SETS = {"evaluate": "evaluation", "generate": "generation"}
COMPARISON_COLUMNS = ("backend", "role", "set", "metric", "frames", "mean", "std", "excluded")
PAIRED_COLUMNS = (
    "backend",
    "reference",
    "set",
    "metric",
    "frames",
    "excluded",
    "mean_difference",
    "ci_low",
    "ci_high",
    "confidence",
    "resamples",
    "unit",
    "verdict",
)
CONFIDENCE = 0.95
RESAMPLES = 10_000
BOOTSTRAP_SEED = 0
# Bound on resampled values held at once (memory: 8 bytes each).
_CHUNK_VALUES = 4_000_000


def frame_set(mode: str) -> str:
    """The set a scored frame belongs to, from its sequence's mode."""
    return SETS[mode]


def _sets(table: pd.DataFrame) -> pd.Series:
    return table["mode"].map(SETS)


def bootstrap_ci(
    values: np.ndarray,
    confidence: float = CONFIDENCE,
    resamples: int = RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    groups: np.ndarray | None = None,
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of `values` (NaN, NaN below 2 units).

    groups: a label per value (e.g. its sequence); whole groups are then resampled and each
    resample's mean is over all the values of the groups drawn. None: values are resampled.
    """
    values = np.asarray(values, dtype=np.float64)
    if groups is None:
        sums, counts = values, np.ones_like(values)
    else:
        _, index = np.unique(np.asarray(groups), return_inverse=True)
        sums = np.bincount(index, weights=values)
        counts = np.bincount(index).astype(np.float64)
    n = len(sums)
    if n < 2:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    rows = max(1, _CHUNK_VALUES // n)
    for start in range(0, resamples, rows):
        count = min(rows, resamples - start)
        picks = rng.integers(0, n, (count, n))
        means[start : start + count] = sums[picks].sum(axis=1) / counts[picks].sum(axis=1)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return float(low), float(high)


def paired_values(main: pd.DataFrame, other: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The frames either table scored, by sequence and frame: set, main and other value (NaN
    where one of them has none)."""
    keys = ["sequence", "frame", "set"]
    tables = [t.assign(set=_sets(t))[[*keys, metric]] for t in (main, other)]
    joined = tables[0].merge(tables[1], on=keys, how="outer", suffixes=("_main", "_other"))
    return joined.rename(columns={f"{metric}_main": "main", f"{metric}_other": "other"})


def verdict(low: float, high: float, metric: str, backend: str, reference: str) -> str:
    """Which backend the interval favours, or that it does not exclude 0 (n/a: no interval)."""
    if math.isnan(low):
        return "n/a"
    if low <= 0.0 <= high:
        return "no clear difference"
    compare_higher = low > 0.0
    better = backend if compare_higher == HIGHER_IS_BETTER[metric] else reference
    return f"{better} better"


def paired_differences(
    tables: Mapping[str, pd.DataFrame],
    main: str,
    resamples: int = RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = BOOTSTRAP_SEED,
) -> pd.DataFrame:
    """One row per (compare backend, set, metric): compare - main over the frames both scored
    (the module docstring); `tables` are results/metrics.csv tables by backend."""
    rows = []
    for backend, table in tables.items():
        if backend == main:
            continue
        for metric in METRIC_NAMES:
            pairs = paired_values(tables[main], table, metric)
            for set_name in sorted(pairs["set"].dropna().unique()):
                in_set = pairs[pairs["set"] == set_name]
                difference = (in_set["other"] - in_set["main"]).to_numpy()
                keep = np.isfinite(difference)
                finite = difference[keep]
                sequences = in_set["sequence"].to_numpy()[keep]
                unit = "sequences" if len(set(sequences)) > 1 else "frames"
                groups = sequences if unit == "sequences" else None
                low, high = bootstrap_ci(finite, confidence, resamples, seed, groups)
                rows.append(
                    {
                        "backend": backend,
                        "reference": main,
                        "set": set_name,
                        "metric": metric,
                        "frames": len(finite),
                        "excluded": len(difference) - len(finite),
                        "mean_difference": float(finite.mean()) if len(finite) else math.nan,
                        "ci_low": low,
                        "ci_high": high,
                        "confidence": confidence,
                        "resamples": resamples,
                        "unit": unit,
                        "verdict": verdict(low, high, metric, backend, main),
                    }
                )
    return pd.DataFrame(rows, columns=list(PAIRED_COLUMNS))


def backend_means(tables: Mapping[str, pd.DataFrame], main: str) -> pd.DataFrame:
    """One row per (backend, set, metric): the statistics of its scored frames (finite values);
    the main backend first, then the others in the order given."""
    rows = []
    for backend, table in tables.items():
        sets = _sets(table)
        for set_name in sorted(sets.dropna().unique()):
            in_set = table[sets == set_name]
            for metric in METRIC_NAMES:
                values = in_set[metric].astype(float).to_numpy()
                finite = values[np.isfinite(values)]
                rows.append(
                    {
                        "backend": backend,
                        "role": "main" if backend == main else "compare",
                        "set": set_name,
                        "metric": metric,
                        "frames": len(finite),
                        "mean": float(finite.mean()) if len(finite) else math.nan,
                        "std": float(finite.std(ddof=1)) if len(finite) > 1 else math.nan,
                        "excluded": len(values) - len(finite),
                    }
                )
    return pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))


def worst_frames(main: pd.DataFrame, count: int) -> list[tuple[str, int]]:
    """(sequence, frame) of the `count` frames with the lowest PSNR of the main backend (ties:
    by sequence and frame; exact copies, inf, come last)."""
    ranked = main.assign(_psnr=main["psnr"].astype(float).fillna(math.inf))
    ranked = ranked.sort_values(["_psnr", "sequence", "frame"], kind="stable")
    return [(str(r.sequence), int(r.frame)) for r in ranked.head(count).itertuples()]


def table_csv(table: pd.DataFrame) -> str:
    """CSV text: 6 decimals, missing values as empty cells (as summary.csv)."""
    return table.to_csv(index=False, float_format="%.6f", na_rep="", lineterminator="\n")


def write_table(table: pd.DataFrame, out) -> None:
    write_text_atomic(out, table_csv(table))
