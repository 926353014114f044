"""Scores of one sequence (metrics.txt, metrics.csv) and the table of all scored frames.

Every target frame with ground truth is scored: the predicted even frames of evaluation
sequences, and generated frames of generation sequences where gt/<seq>/frame_NNN exists.
One CSV row per frame:

    sequence, mode, frame, level, prev, next, time, effective_time, backend, data_range,
    psnr, ssim, lpips

`time` is the t in (0, 1) the interpolator was asked for between parents `prev` and `next`;
`effective_time` is the position in the sequence the frame really shows, in frame units
(frame 5 made at t = 0.5 from 1 and 10 shows 5.5). `data_range` is the full-scale value the
scores use (`vfi.io.intensity`). PSNR is in dB (inf for an exact copy), SSIM in [-1, 1],
LPIPS >= 0; a metric that was not computed is empty (NaN).
"""

from __future__ import annotations

import csv
import io
import logging
import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from vfi.data.layout import OutputLayout
from vfi.data.plan import Timing
from vfi.data.sequences import Sequence
from vfi.evaluation.batches import score_batch
from vfi.evaluation.metrics import METRIC_NAMES, LPIPSFunction
from vfi.io.atomic import write_text_atomic
from vfi.io.frames import read_frame
from vfi.io.intensity import BIT_DEPTHS, full_scale, resolve_data_range

log = logging.getLogger(__name__)

CSV_COLUMNS = (
    "sequence",
    "mode",
    "frame",
    "level",
    "prev",
    "next",
    "time",
    "effective_time",
    "backend",
    "data_range",
    *METRIC_NAMES,
)


def sequence_data_range(seq: Sequence, setting: str | float) -> dict[str, object]:
    """The data range of a sequence's scores: the value, and how it was found.

    `auto` needs the largest value of the sequence's inputs and ground truth, so those are read.
    """
    file_bits = seq.info.bit_depth
    largest = None
    if setting == "auto":
        paths = [*seq.known.values(), *seq.ground_truth.values()]
        largest = max(int(read_frame(path).max()) for path in paths)
    value = resolve_data_range(setting, file_bits, largest if largest is not None else 0)
    return {
        "setting": setting,
        "value": value,
        "bits": next((b for b in BIT_DEPTHS if full_scale(b) == value), None),
        "largest_value": largest,
    }


def score_sequence(
    seq: Sequence,
    layout: OutputLayout,
    backend: str,
    timing: Timing,
    data_range: dict[str, object],
    lpips: LPIPSFunction | None = None,
    lpips_note: str | None = None,
    batch_size: int = 1,
    device: object = "cpu",
) -> list[dict[str, object]]:
    """Score every target frame that has ground truth; write metrics.txt and metrics.csv.

    `data_range` comes from `sequence_data_range`. `lpips` computes LPIPS (None: recorded as
    NaN, with `lpips_note` saying why in metrics.txt). Frames are scored `batch_size` at a time
    (`vfi.evaluation.batches`), SSIM in torch on `device` when that is a GPU; the numbers do
    not depend on either beyond float rounding.
    """
    peak = float(data_range["value"])  # type: ignore[arg-type]
    indices = sorted(seq.scored)
    rows: list[dict[str, object]] = []
    for start in range(0, len(indices), max(1, batch_size)):
        batch = indices[start : start + max(1, batch_size)]
        predictions = [read_frame(layout.frame(seq, index)) for index in batch]
        truths = [read_frame(seq.ground_truth[index]) for index in batch]
        scores = score_batch(predictions, truths, peak, lpips, device)
        for index, values in zip(batch, scores, strict=True):
            rows.append(_row(seq, index, backend, timing, peak, values))
            log.info("%s frame %d: %s", seq.name, index, _format_values(values))
    text = format_metrics_txt(seq.name, backend, rows, lpips_note, data_range)
    write_text_atomic(layout.metrics_txt(seq), text)
    write_text_atomic(layout.metrics_csv(seq), rows_to_csv(rows))
    return rows


def _row(
    seq: Sequence, index: int, backend: str, timing: Timing, peak: float, values: dict
) -> dict[str, object]:
    frame = seq.planned(index)
    return {
        "sequence": seq.name,
        "mode": seq.mode,
        "frame": index,
        "level": frame.level,
        "prev": frame.prev,
        "next": frame.next,
        "time": frame.time(timing),
        "effective_time": frame.effective_time(timing),
        "backend": backend,
        "data_range": peak,
        **values,
    }


def _format_values(values: dict[str, float]) -> str:
    return ", ".join(f"{k} {'n/a' if math.isnan(v) else f'{v:.4f}'}" for k, v in values.items())


def _cell(value: float, width: int, decimals: int) -> str:
    """A right-aligned number; n/a for a metric that was not computed."""
    return f"{'n/a':>{width}}" if math.isnan(value) else f"{value:>{width}.{decimals}f}"


def format_metrics_txt(
    sequence: str,
    backend: str,
    rows: list[dict[str, object]],
    lpips_note: str | None = None,
    data_range: dict[str, object] | None = None,
) -> str:
    """Human-readable: `#` comments, a header, one line per frame, then a `mean` line.

    Columns: frame, psnr (dB, 4 decimals), ssim (5 decimals), lpips (5 decimals or n/a).
    The mean skips values that are not finite (PSNR of an exact copy is inf; n/a is NaN).
    """
    lines = [
        f"# sequence: {sequence}",
        f"# backend: {backend}",
        f"# data range: {describe_data_range(data_range)}",
        "# psnr: dB, higher is better; ssim: [-1, 1], higher is better; lpips: >= 0, lower is "
        "better",
    ]
    if lpips_note:
        lines.append(f"# {lpips_note}")
    lines.append(f"{'frame':>6} {'psnr':>9} {'ssim':>8} {'lpips':>8}")
    widths = {"psnr": (9, 4), "ssim": (8, 5), "lpips": (8, 5)}

    def line(label: object, values: dict[str, float]) -> str:
        cells = [_cell(values[m], *widths[m]) for m in METRIC_NAMES]
        return f"{label!s:>6} " + " ".join(cells)

    for row in rows:
        lines.append(line(row["frame"], {m: float(row[m]) for m in METRIC_NAMES}))
    if not rows:
        lines.append("# no ground truth for any generated frame: nothing scored")
    else:
        lines.append(
            line("mean", {m: finite_mean([float(r[m]) for r in rows]) for m in METRIC_NAMES})
        )
    return "\n".join(lines) + "\n"


def describe_data_range(data_range: dict[str, object] | None) -> str:
    """E.g. `4095 (12-bit data; metrics.data_range: auto)`."""
    if data_range is None:
        return "full scale of the file type"
    value = float(data_range["value"])  # type: ignore[arg-type]
    bits = f"{data_range['bits']}-bit data; " if data_range.get("bits") else ""
    return f"{value:g} ({bits}metrics.data_range: {data_range['setting']})"


def finite_mean(values: list[float]) -> float:
    """Mean over finite values; inf when all are +inf (exact copies), NaN when none exist."""
    finite = [v for v in values if math.isfinite(v)]
    if finite:
        return float(np.mean(finite))
    return math.inf if values and all(v == math.inf for v in values) else math.nan


def rows_to_csv(rows: Iterable[dict[str, object]], columns: tuple[str, ...] = CSV_COLUMNS) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_value(row[k]) for k in columns})
    return out.getvalue()


def _csv_value(value: object) -> object:
    """Floats with 6 decimals, NaN as an empty cell (pandas and spreadsheets read it as missing)."""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6f}"
    return value


def aggregate_metrics(csv_files: Iterable[Path], out_file: Path) -> int:
    """Concatenate per-sequence metrics.csv files into one table; returns the row count.

    Sorted by file path, i.e. by sequence, so the table is the same whatever order jobs ran in.
    """
    return concatenate_tables(csv_files, out_file, CSV_COLUMNS)


def concatenate_tables(csv_files: Iterable[Path], out_file: Path, columns: tuple[str, ...]) -> int:
    """Concatenate per-sequence CSV files with `columns`, sorted by path; returns the rows."""
    rows: list[dict[str, object]] = []
    for path in sorted(csv_files, key=str):
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            if tuple(reader.fieldnames or ()) != columns:
                raise ValueError(
                    f"{path}: columns {reader.fieldnames} are not {list(columns)}; it was "
                    "written by another version: delete it and run the workflow again"
                )
            rows.extend(reader)
    write_text_atomic(out_file, rows_to_csv(rows, columns))
    return len(rows)
