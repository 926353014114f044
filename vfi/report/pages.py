"""The tables of the Snakemake report, written for people rather than programs.

    overview.rst         included in the report's front page: one line per sequence, means
    summary.html         every statistic of results/summary.csv, as a page
    sequences/<seq>.html one sequence's scores frame by frame

The report shows HTML pages in a frame and renders the front page from reStructuredText, so
these are the two formats. Pages are self-contained (no scripts, no external files) and the
same bytes on every run.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from vfi.evaluation.metrics import HIGHER_IS_BETTER, METRIC_LABELS, METRIC_NAMES
from vfi.io.atomic import write_text_atomic

DECIMALS = {"psnr": 2, "ssim": 4, "lpips": 4}
_RST_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_|[]<>:"})


def _number(value: float, metric: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if math.isinf(value):
        return "inf (exact)"
    return f"{value:.{DECIMALS[metric]}f}"


def _mean_std(row: pd.Series, metric: str) -> str:
    if row["count"] == 0:
        return "n/a"
    text = _number(row["mean"], metric)
    if not math.isnan(row["std"]):
        text += f" ± {_number(row['std'], metric)}"
    return text


def _direction(metric: str) -> str:
    return "higher is better" if HIGHER_IS_BETTER[metric] else "lower is better"


def overview_rows(summary: pd.DataFrame) -> list[list[str]]:
    """Header + one row per scope: what, mode, frames scored, then mean ± std of each metric."""
    header = ["Sequence", "Mode", "Frames scored", *(METRIC_LABELS[m] for m in METRIC_NAMES)]
    rows = [header]
    if summary.empty:
        return rows
    for (scope, mode, sequence, backend), group in summary.groupby(
        ["scope", "mode", "sequence", "backend"], sort=False
    ):
        by_metric = {r["metric"]: r for _, r in group.iterrows()}
        frames = int(by_metric["psnr"]["count"] + by_metric["psnr"]["excluded"])
        what = {
            "all": f"All sequences ({backend})",
            "mode": f"All {mode} sequences",
            "sequence": sequence,
        }[scope]
        rows.append(
            [
                what,
                mode or "all",
                str(frames),
                *(_mean_std(by_metric[m], m) for m in METRIC_NAMES),
            ]
        )
    return rows


def temporal_line(temporal: pd.DataFrame | None) -> str:
    """One sentence: the temporal consistency over all sequences (weighted by pairs), or ""."""
    if temporal is None or temporal.empty:
        return ""
    pairs = temporal["pairs"].astype(int)
    truth_pairs = temporal["truth_pairs"].astype(int)

    def mean(column: str, weights: pd.Series) -> float:
        values = temporal[column].astype(float)
        keep = values.notna() & values.map(math.isfinite) & (weights > 0)
        return (
            float((values[keep] * weights[keep]).sum() / weights[keep].sum())
            if keep.any()
            else math.nan
        )

    text = (
        f"Temporal consistency ({len(temporal)} sequence(s), results/temporal.csv): consecutive "
        f"output frames differ by {mean('output_psnr', pairs):.2f} dB PSNR on average"
    )
    if truth_pairs.sum():
        text += (
            f"; on the {int(truth_pairs.sum())} consecutive pair(s) with ground truth, output "
            f"{mean('output_psnr_on_truth', truth_pairs):.2f} dB against truth "
            f"{mean('truth_psnr', truth_pairs):.2f} dB (above the truth: smoother than reality; "
            "below: flicker)"
        )
    return text + "."


# Column titles of temporal-consistency tables (here per sequence, in the comparison by backend).
TEMPORAL_HEADER = [
    "Output (dB)",
    "Truth pairs",
    "Output on them (dB)",
    "Truth (dB)",
    "Difference (dB)",
]


def temporal_rows(temporal: pd.DataFrame) -> list[list[str]]:
    """Header + one row per sequence of results/temporal.csv."""
    header = ["Sequence", "Mode", "Pairs", *TEMPORAL_HEADER]
    rows = [header]
    for _, r in temporal.iterrows():
        cells = [_number(float(r[c]), "psnr") for c in TEMPORAL_VALUES]
        rows.append(
            [
                r["sequence"],
                r["mode"],
                str(int(r["pairs"])),
                cells[0],
                str(int(r["truth_pairs"])),
                *cells[1:],
            ]
        )
    return rows


TEMPORAL_VALUES = ("output_psnr", "output_psnr_on_truth", "truth_psnr", "difference")


def overview_rst(
    summary: pd.DataFrame, lpips_note: str, temporal: pd.DataFrame | None = None
) -> str:
    """reStructuredText for the report's front page: the overview table and how to read it."""
    rows = overview_rows(summary)
    lines = [
        ".. list-table:: Mean ± standard deviation over the scored frames",
        "   :header-rows: 1",
        "",
    ]
    for row in rows:
        for i, cell in enumerate(row):
            lead = "   * - " if i == 0 else "     - "
            lines.append(lead + (cell.translate(_RST_SPECIAL) if cell else r"\ "))
    if len(rows) == 1:
        lines += ["", "No frame had ground truth, so nothing was scored."]
    lines += [
        "",
        "PSNR in dB, "
        + _direction("psnr")
        + "; SSIM from -1 to 1, "
        + _direction("ssim")
        + "; LPIPS from 0, "
        + _direction("lpips")
        + ". "
        + lpips_note,
        "",
    ]
    if line := temporal_line(temporal):
        lines += [line.translate(_RST_SPECIAL), ""]
    return "\n".join(lines)


STYLE = """
body { font-family: sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #eef; }
td:first-child, th:first-child { text-align: left; }
caption { text-align: left; font-weight: bold; padding-bottom: 0.3em; }
p.note { color: #555; max-width: 60em; }
"""


def _page(title: str, body: Iterable[str]) -> str:
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>\n"
        f"<h1>{html.escape(title)}</h1>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def _table(rows: list[list[str]], caption: str = "") -> str:
    head, *body = rows
    out = ["<table>"]
    if caption:
        out.append(f"<caption>{html.escape(caption)}</caption>")
    out.append("<tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in head) + "</tr>")
    for row in body:
        out.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _note(text: str) -> str:
    return f"<p class='note'>{html.escape(text)}</p>"


def statistics_rows(summary: pd.DataFrame) -> list[list[str]]:
    """Every row of summary.csv, formatted."""
    header = [
        "Scope",
        "Sequence",
        "Mode",
        "Backend",
        "Metric",
        "Count",
        "Mean",
        "Std",
        "Min",
        "Max",
        "Excluded",
    ]
    rows = [header]
    for _, r in summary.iterrows():
        m = r["metric"]
        rows.append(
            [
                r["scope"],
                r["sequence"],
                r["mode"],
                r["backend"],
                METRIC_LABELS[m],
                str(int(r["count"])),
                *(_number(r[s], m) for s in ("mean", "std", "min", "max")),
                str(int(r["excluded"])),
            ]
        )
    return rows


def frame_rows(metrics: pd.DataFrame) -> list[list[str]]:
    """One sequence's scored frames: position in the plan, then every metric."""
    header = ["Frame", "Level", "Parents", "Shows time", *(METRIC_LABELS[m] for m in METRIC_NAMES)]
    rows = [header]
    for _, r in metrics.sort_values("frame").iterrows():
        rows.append(
            [
                str(int(r["frame"])),
                str(int(r["level"])),
                f"{int(r['prev'])}, {int(r['next'])}",
                f"{float(r['effective_time']):.3g}",
                *(_number(float(r[m]), m) for m in METRIC_NAMES),
            ]
        )
    return rows


READING = (
    "Level: the step of the midpoint hierarchy that made the frame (1 = made from the two "
    "known frames; higher levels are made from frames generated before them, so errors can "
    "add up). Parents: the two frames it was made from. Shows time: where in the sequence the "
    "frame really lies (frame 5 made halfway between 1 and 10 shows time 5.5)."
)


def summary_page(
    summary: pd.DataFrame, lpips_note: str, temporal: pd.DataFrame | None = None
) -> str:
    body = [
        _table(overview_rows(summary), "Mean ± standard deviation over the scored frames"),
        _table(statistics_rows(summary), "All statistics (as in results/summary.csv)"),
        _note(
            "Count: frames in the statistics. Excluded: frames left out, because PSNR is "
            "infinite for an exact copy or because the metric was not computed (n/a). "
            "Scope 'mode' and 'all' pool the frames of all sequences. " + lpips_note
        ),
    ]
    if temporal is not None and not temporal.empty:
        body += [
            _table(
                temporal_rows(temporal), "Temporal consistency: PSNR between consecutive frames"
            ),
            _note(
                temporal_line(temporal) + " Output: the made sequence in time order (known and "
                "made frames). Truth pairs: consecutive frames whose true frames both exist "
                "(known frames and ground truth); on them the output's consecutive PSNR is "
                "compared with the truth's. Difference = output on them - truth."
            ),
        ]
    return _page("Frame quality summary", body)


def sequence_page(name: str, metrics: pd.DataFrame) -> str:
    rows = metrics[metrics["sequence"] == name]
    if rows.empty:
        body = [_note("No generated frame of this sequence has ground truth: nothing was scored.")]
    else:
        first = rows.iloc[0]
        body = [
            _note(f"Mode: {first['mode']}. Backend: {first['backend']}. {len(rows)} frame(s)."),
            _table(frame_rows(rows), "Scores of each frame"),
            _note(READING),
        ]
    return _page(f"Sequence {name}", body)


def write_pages(
    metrics: pd.DataFrame,
    summary: pd.DataFrame,
    lpips_note: str,
    overview: Path,
    summary_html: Path,
    sequence_dir: Path,
    sequences: Iterable[str],
    temporal: pd.DataFrame | None = None,
) -> None:
    """Write the overview (rst), the summary page and one page per sequence; `temporal`
    (results/temporal.csv) adds the temporal consistency."""
    write_text_atomic(overview, overview_rst(summary, lpips_note, temporal))
    write_text_atomic(summary_html, summary_page(summary, lpips_note, temporal))
    for name in sequences:
        write_text_atomic(sequence_dir / f"{name}.html", sequence_page(name, metrics))


def lpips_note(metrics: pd.DataFrame) -> str:
    """One sentence on whether LPIPS was computed, for readers who see n/a."""
    if metrics.empty or metrics["lpips"].notna().any():
        return ""
    return (
        "LPIPS was not computed: its ImageNet weights were not found, or metrics.lpips is disabled "
        "(see metrics.txt of a sequence and the README)."
    )
