"""The report's comparison of backends (`compare:`): a page, a figure and strips.

    report/comparison.html          means per backend and set, paired differences with their
                                    bootstrap intervals, temporal consistency per backend
    plots/comparison_psnr.png       mean PSNR by level and by effective time, one line per backend
    previews/comparison/worst_K.png the K-th worst frame by the main backend's PSNR: the truth and
                                    every backend's frame side by side, their difference heat
                                    maps beneath (one fixed scale, `vfi.report.previews`)

Everything is the same bytes on every run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

from vfi.data.layout import OutputLayout
from vfi.data.sequences import Sequence as FrameSequence
from vfi.evaluation.comparison import CONFIDENCE
from vfi.evaluation.metrics import HIGHER_IS_BETTER, METRIC_LABELS
from vfi.io.atomic import write_bytes_atomic, write_text_atomic
from vfi.io.frames import max_value, read_frame
from vfi.report.pages import TEMPORAL_HEADER, _note, _number, _page, _table
from vfi.report.plots import ACCENT, GREY, _no_data, _panels, _save
from vfi.report.previews import (
    LABEL_HEIGHT,
    STRIP_MAX_SIDE,
    TEXT,
    DisplayRange,
    _font,
    _labelled,
    _png,
    difference_heatmap,
    heat_panel,
    join_panels,
    resize_for_display,
)

COLOURS = (ACCENT, "#d1651b", "#2e8b57", "#8e44ad", "#b03a48")


def _signed(value: float, metric: str) -> str:
    text = _number(value, metric)
    return text if text.startswith(("-", "n/a", "inf")) else f"+{text}"


def means_rows(means: pd.DataFrame) -> list[list[str]]:
    """Header + one row per (set, backend): frames scored and mean ± std of each metric."""
    metrics = list(dict.fromkeys(means["metric"]))
    header = ["Set", "Backend", "Frames", *(METRIC_LABELS[m] for m in metrics)]
    rows = [header]
    for (set_name, backend), group in means.groupby(["set", "backend"], sort=False):
        by_metric = {r["metric"]: r for _, r in group.iterrows()}
        role = " (main)" if group["role"].iloc[0] == "main" else ""
        cells = []
        for m in metrics:
            r = by_metric[m]
            text = _number(r["mean"], m) if r["frames"] else "n/a"
            if r["frames"] > 1:
                text += f" ± {_number(r['std'], m)}"
            cells.append(text)
        frames = int(by_metric[metrics[0]]["frames"] + by_metric[metrics[0]]["excluded"])
        rows.append([set_name, backend + role, str(frames), *cells])
    # by set, the backends in their order (main first) within each
    return [header, *sorted(rows[1:], key=lambda r: r[0])]


def paired_rows(paired: pd.DataFrame) -> list[list[str]]:
    """Header + one row per (backend, set, metric) of comparison_paired.csv."""
    level = f"{CONFIDENCE:.0%}"
    header = [
        "Backend − main",
        "Set",
        "Metric",
        "Frames",
        "Mean difference",
        f"{level} CI",
        "Verdict",
    ]
    rows = [header]
    for _, r in paired.iterrows():
        m = r["metric"]
        interval = (
            "n/a"
            if math.isnan(r["ci_low"])
            else f"{_signed(r['ci_low'], m)} to {_signed(r['ci_high'], m)}"
        )
        rows.append(
            [
                f"{r['backend']} − {r['reference']}",
                r["set"],
                METRIC_LABELS[m],
                str(int(r["frames"])),
                _signed(r["mean_difference"], m) if r["frames"] else "n/a",
                interval,
                r["verdict"],
            ]
        )
    return rows


def temporal_rows(temporal: Mapping[str, pd.DataFrame]) -> list[list[str]]:
    """Header + one row per (backend, mode): consecutive-frame PSNR of output and truth."""
    header = ["Backend", "Mode", "Sequences", *TEMPORAL_HEADER]
    rows = [header]
    for backend, table in temporal.items():
        for mode, group in table.groupby("mode", sort=True):
            pairs = group["truth_pairs"].astype(int)

            def mean(column: str, weights: pd.Series, group: pd.DataFrame = group) -> str:
                values = group[column].astype(float)
                keep = np.isfinite(values) & (weights > 0)
                if not keep.any():
                    return "n/a"
                return f"{np.average(values[keep], weights=weights[keep]):.2f}"

            rows.append(
                [
                    backend,
                    mode,
                    str(len(group)),
                    mean("output_psnr", group["pairs"].astype(int)),
                    str(int(pairs.sum())),
                    mean("output_psnr_on_truth", pairs),
                    mean("truth_psnr", pairs),
                    mean("difference", pairs),
                ]
            )
    return rows


def comparison_page(
    means: pd.DataFrame,
    paired: pd.DataFrame,
    temporal: Mapping[str, pd.DataFrame] | None = None,
) -> str:
    """The report page of the comparison (self-contained HTML)."""
    directions = "; ".join(
        f"{METRIC_LABELS[m]}: {'higher' if up else 'lower'} is better"
        for m, up in HIGHER_IS_BETTER.items()
    )
    body = [
        _table(means_rows(means), "Mean ± standard deviation per backend and set"),
        _note(
            "Sets: evaluation = predicted even frames of odd/even sequences (triplets); "
            "generation = generated frames with ground truth. Every backend is scored on the "
            f"same frames against the same ground truth. {directions}."
        ),
        _table(paired_rows(paired), "Paired differences on the same frames (compare − main)"),
        _note(
            "Mean over the frames both backends scored of (compare − main), with a "
            f"{CONFIDENCE:.0%} percentile bootstrap interval (whole sequences resampled with "
            "replacement, since frames of one sequence are related; with a single sequence, its "
            "frames; seeded: the same numbers on every run). An interval that excludes 0 names "
            "the better backend. Infinite PSNR (exact copies) and metrics not computed are left "
            "out."
        ),
    ]
    if temporal:
        body += [
            _table(
                temporal_rows(temporal), "Temporal consistency: PSNR between consecutive frames"
            ),
            _note(
                "Output: consecutive frames of the made sequence (known and made frames). "
                "Truth pairs: consecutive pairs whose true frames exist; on them, the output's "
                "consecutive PSNR against the truth's. Difference above 0: the output changes "
                "less between frames than reality (too smooth); below 0: more (flicker). "
                "Means are weighted by pairs (results/temporal.csv per sequence)."
            ),
        ]
    return _page("Comparison of backends", body)


def write_comparison_page(
    means: pd.DataFrame,
    paired: pd.DataFrame,
    out: Path,
    temporal: Mapping[str, pd.DataFrame] | None = None,
) -> None:
    write_text_atomic(out, comparison_page(means, paired, temporal))


def figure_psnr_by_level_and_time(tables: Mapping[str, pd.DataFrame]):
    """Mean PSNR of each backend by level (every scored frame) and by effective time
    (generated frames with ground truth), one line per backend."""
    fig, (by_level, by_time) = _panels(2, width=5.5)
    generation_scored = False
    for (backend, table), colour in zip(tables.items(), COLOURS * len(tables), strict=False):
        values = table.assign(value=table["psnr"].astype(float))
        values = values[np.isfinite(values["value"])]
        if values.empty:
            continue
        level = values.groupby("level")["value"].mean()
        by_level.plot(level.index, level.to_numpy(), "o-", color=colour, label=backend)
        generated = values[values["mode"] == "generate"]
        if not generated.empty:
            generation_scored = True
            time = generated.groupby("effective_time")["value"].mean()
            by_time.plot(time.index, time.to_numpy(), "o-", color=colour, ms=3, label=backend)
    by_level.set(
        title="PSNR (dB) by level, higher is better", xlabel="level (1 = from the known frames)"
    )
    by_level.set_xticks(sorted({int(v) for t in tables.values() for v in t["level"]}))
    by_level.legend(fontsize=8)
    if generation_scored:
        by_time.set(
            title="Generated frames: PSNR (dB) by effective time",
            xlabel="effective time (frames; where the frame really lies)",
        )
        by_time.legend(fontsize=8)
    else:
        _no_data(by_time, "psnr", "no generated frame has ground truth")
        by_time.set_title("Generated frames: PSNR by effective time", fontsize=10)
    by_level.grid(alpha=0.3, color=GREY)
    fig.suptitle("Mean PSNR per backend on the same scored frames")
    fig.tight_layout()
    return fig


def plot_psnr_by_level_and_time(tables: Mapping[str, pd.DataFrame], out: Path) -> None:
    _save(figure_psnr_by_level_and_time(tables), out)


def _text_panel(lines: list[str], width: int, height: int) -> Image.Image:
    image = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((2, 2 + i * (LABEL_HEIGHT - 2)), line, fill=TEXT, font=_font())
    return image


def write_worst_strips(
    worst: Sequence[tuple[str, int]],
    sequences: Mapping[str, FrameSequence],
    layouts: Mapping[str, OutputLayout],
    tables: Mapping[str, pd.DataFrame],
    outputs: Sequence[Path],
) -> None:
    """One strip per frame of `worst` (in rank order) to the files of `outputs`: the truth and
    each backend's frame (main first) in the top row, each backend's heat map beneath."""
    main = next(iter(layouts))
    for rank, ((name, index), out) in enumerate(zip(worst, outputs, strict=True), start=1):
        seq = sequences[name]
        display = DisplayRange.for_frames([read_frame(p) for p in seq.known.values()])
        truth = read_frame(seq.ground_truth[index])
        row = tables[main]
        row = row[(row["sequence"] == name) & (row["frame"] == index)].iloc[0]
        peak = float(row["data_range"]) or max_value(truth.dtype)
        top = [_labelled(resize_for_display(display.to_rgb8(truth), STRIP_MAX_SIDE), "truth")]
        bottom = []
        for backend, layout in layouts.items():
            made = read_frame(layout.frame(seq, index))
            scores = tables[backend]
            score = scores[(scores["sequence"] == name) & (scores["frame"] == index)]["psnr"]
            label = backend + (f": {float(score.iloc[0]):.1f} dB" if len(score) else "")
            top.append(_labelled(resize_for_display(display.to_rgb8(made), STRIP_MAX_SIDE), label))
            bottom.append(heat_panel(difference_heatmap(made, truth, peak), peak, STRIP_MAX_SIDE))
        info = [
            f"worst {rank} by {main} PSNR",
            f"{name}",
            f"frame {index}, level {int(row['level'])}",
            f"parents {int(row['prev'])}, {int(row['next'])}",
        ]
        legend = _text_panel(info, top[0].width, bottom[0].height)
        write_bytes_atomic(Path(out), _png(join_panels([top, [legend, *bottom]])))
