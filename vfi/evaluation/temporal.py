"""Temporal consistency of a made sequence: how much consecutive frames differ.

A made sequence can score well frame by frame and still flicker, or be smoother than reality
(every made frame a blur of its parents). So each sequence's output, in time order (known
frames and made frames), is measured by the PSNR between consecutive frames, and compared with
the PSNR between consecutive true frames (known frames and ground truth) on the same pairs:

    output_psnr            mean PSNR between consecutive output frames, every pair (dB)
    truth_pairs            consecutive pairs whose two true frames exist (known or ground truth)
    output_psnr_on_truth   mean PSNR between consecutive output frames on those pairs (dB)
    truth_psnr             mean PSNR between the consecutive true frames of those pairs (dB)
    difference             output_psnr_on_truth - truth_psnr (dB): about 0 when the output
                           changes from frame to frame as much as reality does; above 0 when it
                           changes less (too smooth), below 0 when it changes more (flicker)

PSNR uses the sequence's data range (as the scores do); identical consecutive frames give inf,
which the means leave out (`finite_mean`). A value that cannot be computed is empty in the CSV.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from vfi.data.layout import OutputLayout
from vfi.data.sequences import Sequence
from vfi.evaluation.metrics import psnr
from vfi.evaluation.scoring import concatenate_tables, finite_mean, rows_to_csv
from vfi.io.atomic import write_text_atomic
from vfi.io.frames import read_frame

TEMPORAL_COLUMNS = (
    "sequence",
    "mode",
    "backend",
    "data_range",
    "pairs",
    "output_psnr",
    "truth_pairs",
    "output_psnr_on_truth",
    "truth_psnr",
    "difference",
)


def consecutive_psnr(frames: list[np.ndarray], data_range: float) -> list[float]:
    """PSNR (dB) between each frame and the next: len(frames) - 1 values, inf for equal ones."""
    return [psnr(b, a, data_range) for a, b in zip(frames, frames[1:], strict=False)]


def temporal_consistency(
    output: dict[int, np.ndarray], truth: dict[int, np.ndarray], data_range: float
) -> dict[str, float | int]:
    """The measures of the module docstring for one sequence.

    `output`: every frame of the output by index (consecutive indices); `truth`: the true frames
    that exist (known frames and ground truth), by index.
    """
    indices = sorted(output)
    pairs = list(zip(indices, indices[1:], strict=False))
    made = consecutive_psnr([output[i] for i in indices], data_range)
    on_truth = [(a, b) for a, b in pairs if a in truth and b in truth]
    made_on_truth = [m for (a, b), m in zip(pairs, made, strict=True) if (a, b) in on_truth]
    true = [psnr(truth[b], truth[a], data_range) for a, b in on_truth]
    output_on_truth, truth_mean = finite_mean(made_on_truth), finite_mean(true)
    difference = output_on_truth - truth_mean
    return {
        "pairs": len(pairs),
        "output_psnr": finite_mean(made),
        "truth_pairs": len(on_truth),
        "output_psnr_on_truth": output_on_truth,
        "truth_psnr": truth_mean,
        # inf - inf (both exact copies) is no difference; anything else not finite is unknown
        "difference": difference if math.isfinite(difference) else math.nan,
    }


def sequence_temporal(
    seq: Sequence, layout: OutputLayout, backend: str, data_range: float
) -> dict[str, object]:
    """The temporal consistency of a finished sequence's output (one CSV row)."""
    known = {i: read_frame(p) for i, p in seq.known.items()}
    output = {i: known.get(i) for i in range(min(seq.known), max(seq.known) + 1)}
    for frame in seq.plan:
        output[frame.index] = read_frame(layout.frame(seq, frame.index))
    output = {i: f for i, f in output.items() if f is not None}
    truth = {**known, **{i: read_frame(p) for i, p in seq.ground_truth.items()}}
    values = temporal_consistency(output, truth, data_range)
    return {
        "sequence": seq.name,
        "mode": seq.mode,
        "backend": backend,
        "data_range": data_range,
        **values,
    }


def write_temporal(row: dict[str, object], out: Path) -> None:
    write_text_atomic(out, rows_to_csv([row], TEMPORAL_COLUMNS))


def aggregate_temporal(csv_files: Iterable[Path], out: Path) -> int:
    """Concatenate per-sequence temporal.csv files (sorted by path); returns the row count."""
    return concatenate_tables(csv_files, out, TEMPORAL_COLUMNS)
