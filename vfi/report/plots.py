"""Figures of the report (matplotlib, Agg backend, PNG; the same bytes on every run).

    metric_distribution.png  each metric: per-sequence means, one box per backend
    metric_by_frame.png      generation with ground truth: each metric against frame index
    metric_by_level.png      generation with ground truth: each metric by level of the plan
    runtimes.png             wall-clock time of every job (or of each kind of job, if many)
    finetune_<name>.png      a fine-tuning run: training loss, and validation PSNR and SSIM

Metrics without any value (LPIPS when it was not computed) get a panel that says so, so a
missing number is never mistaken for a bad one.
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from vfi.evaluation.metrics import HIGHER_IS_BETTER, METRIC_LABELS, METRIC_NAMES  # noqa: E402
from vfi.io.atomic import write_bytes_atomic  # noqa: E402

DPI = 100
MAX_JOB_BARS = 40
GREY = "#999999"
ACCENT = "#1f5fa8"


def _save(fig: plt.Figure, out: Path) -> None:
    buf = io.BytesIO()
    # No software/date metadata: the file depends on the data only.
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    plt.close(fig)
    write_bytes_atomic(out, buf.getvalue())


def _finite_values(rows: pd.DataFrame, metric: str) -> pd.DataFrame:
    """`rows` with a float column `value` = the metric, keeping only finite values."""
    values = rows.assign(value=rows[metric].astype(float))
    return values[np.isfinite(values["value"])]


def _title(metric: str) -> str:
    arrow = "higher is better" if HIGHER_IS_BETTER[metric] else "lower is better"
    return f"{METRIC_LABELS[metric]} ({arrow})"


def _no_data(ax: plt.Axes, metric: str, why: str) -> None:
    ax.set_title(_title(metric), fontsize=10)
    ax.text(0.5, 0.5, why, ha="center", va="center", transform=ax.transAxes, color=GREY, wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])


def _panels(count: int, width: float = 4.2, height: float = 3.4) -> tuple[plt.Figure, list]:
    fig, axes = plt.subplots(1, count, figsize=(width * count, height), squeeze=False)
    return fig, list(axes[0])


def figure_metric_distribution(metrics: pd.DataFrame) -> plt.Figure:
    """Per backend, the spread of per-sequence mean scores (box) and each sequence (dot)."""
    fig, axes = _panels(len(METRIC_NAMES))
    for ax, metric in zip(axes, METRIC_NAMES, strict=True):
        means = (
            _finite_values(metrics, metric)
            .groupby(["backend", "sequence"], sort=True)["value"]
            .mean()
        )
        if means.empty:
            _no_data(ax, metric, "not computed")
            continue
        backends = sorted(means.index.get_level_values("backend").unique())
        data = [means.loc[b].to_numpy() for b in backends]
        ax.boxplot(data, widths=0.5, showfliers=False)
        for i, values in enumerate(data, start=1):
            # Fixed, evenly spread offsets instead of random jitter: same picture every run.
            offsets = np.linspace(-0.15, 0.15, len(values)) if len(values) > 1 else [0.0]
            ax.plot(i + np.asarray(offsets), values, "o", color=ACCENT, alpha=0.7, ms=4)
        ax.set_xticks(range(1, len(backends) + 1), backends)
        ax.set_title(_title(metric), fontsize=10)
        ax.set_xlabel("backend")
        ax.set_ylabel("mean over a sequence's frames")
    fig.suptitle(f"Scores of {metrics['sequence'].nunique()} sequence(s), one dot each")
    fig.tight_layout()
    return fig


def generated_with_truth(metrics: pd.DataFrame) -> pd.DataFrame:
    """The rows of generation sequences (frames made from keyframes, with ground truth)."""
    return metrics[metrics["mode"] == "generate"]


def figure_metric_by_frame(metrics: pd.DataFrame) -> plt.Figure:
    """Each metric against frame index: one thin line per sequence, the mean in bold."""
    rows = generated_with_truth(metrics)
    fig, axes = _panels(len(METRIC_NAMES), width=5.0)
    for ax, metric in zip(axes, METRIC_NAMES, strict=True):
        values = _finite_values(rows, metric)
        if values.empty:
            _no_data(ax, metric, "not computed" if not rows.empty else "no ground truth")
            continue
        for _, seq_rows in values.groupby("sequence", sort=True):
            seq_rows = seq_rows.sort_values("frame")
            ax.plot(seq_rows["frame"], seq_rows["value"], "-", color=GREY, lw=0.8, alpha=0.7)
        mean = values.groupby("frame")["value"].mean()
        ax.plot(mean.index, mean.to_numpy(), "o-", color=ACCENT, lw=2, ms=4, label="mean")
        ax.set_title(_title(metric), fontsize=10)
        ax.set_xlabel("frame index")
        ax.set_xticks(sorted(values["frame"].unique()))
        ax.tick_params(axis="x", labelsize=7)
        ax.legend(fontsize=8)
    fig.suptitle("Generated frames against ground truth, by position in the sequence")
    fig.tight_layout()
    return fig


def figure_metric_by_level(metrics: pd.DataFrame) -> plt.Figure:
    """Each metric by level of the midpoint plan (higher levels build on generated frames)."""
    rows = generated_with_truth(metrics)
    fig, axes = _panels(len(METRIC_NAMES))
    for ax, metric in zip(axes, METRIC_NAMES, strict=True):
        values = _finite_values(rows, metric)
        if values.empty:
            _no_data(ax, metric, "not computed" if not rows.empty else "no ground truth")
            continue
        levels = sorted(values["level"].unique())
        data = [values.loc[values["level"] == lv, "value"].to_numpy() for lv in levels]
        ax.boxplot(data, widths=0.5, showfliers=True, medianprops={"gid": "median"})
        ax.set_xticks(range(1, len(levels) + 1), [str(lv) for lv in levels])
        ax.set_title(_title(metric), fontsize=10)
        ax.set_xlabel("level (1 = made from the keyframes)")
    fig.suptitle("Generated frames against ground truth, by level")
    fig.tight_layout()
    return fig


def figure_runtimes(runtimes: pd.DataFrame) -> plt.Figure:
    """Horizontal bars of wall-clock seconds: per job, or per kind of job when there are many."""
    if len(runtimes) > MAX_JOB_BARS:
        grouped = runtimes.groupby("kind", sort=True)["seconds"].agg(["sum", "count"])
        labels = [f"{kind} ({n} jobs, total)" for kind, n in grouped["count"].items()]
        table = pd.DataFrame({"label": labels, "seconds": grouped["sum"].to_numpy()})
        title = f"Wall-clock time of {len(runtimes)} jobs, summed by kind"
    else:
        table = pd.DataFrame({"label": runtimes["job"], "seconds": runtimes["seconds"]})
        title = f"Wall-clock time of each of {len(runtimes)} jobs"
    table = table.iloc[::-1]  # first job at the top
    height = max(2.5, 0.28 * len(table) + 1.2)
    fig, ax = plt.subplots(figsize=(9, height))
    ax.barh(range(len(table)), table["seconds"].fillna(0.0), color=ACCENT)
    ax.set_yticks(range(len(table)), table["label"], fontsize=8)
    ax.set_xlabel("seconds")
    ax.set_title(f"{title}; total {runtimes['seconds'].sum():.1f} s", fontsize=10)
    fig.tight_layout()
    return fig


def figure_training_curves(curves: pd.DataFrame, name: str) -> plt.Figure:
    """Loss per step (and its running mean), and validation PSNR and SSIM where measured."""
    fig, (loss_ax, psnr_ax, ssim_ax) = _panels(3)
    steps = curves[curves["step"] > 0]
    loss_ax.plot(steps["step"], steps["loss"], color=GREY, linewidth=0.6, label="per step")
    window = max(1, len(steps) // 20)
    loss_ax.plot(
        steps["step"], steps["loss"].rolling(window, min_periods=1).mean(), color=ACCENT,
        label=f"mean of {window}",
    )  # fmt: skip
    loss_ax.set(title=f"{name}: training loss", xlabel="step", yscale="log")
    loss_ax.legend(fontsize=8)
    validated = curves.dropna(subset=["val_psnr"])
    for ax, column, label in ((psnr_ax, "val_psnr", "PSNR (dB)"), (ssim_ax, "val_ssim", "SSIM")):
        ax.plot(validated["step"], validated[column], marker="o", color=ACCENT)
        ax.set(title=f"validation {label}, higher is better", xlabel="step")
    fig.tight_layout()
    return fig


def plot_training_curves(curves_csv: Path, out: Path, name: str) -> None:
    _save(figure_training_curves(pd.read_csv(curves_csv), name), out)


def plot_metric_distribution(metrics: pd.DataFrame, out: Path) -> None:
    _save(figure_metric_distribution(metrics), out)


def plot_metric_by_frame(metrics: pd.DataFrame, out: Path) -> None:
    _save(figure_metric_by_frame(metrics), out)


def plot_metric_by_level(metrics: pd.DataFrame, out: Path) -> None:
    _save(figure_metric_by_level(metrics), out)


def plot_runtimes(runtimes: pd.DataFrame, out: Path) -> None:
    _save(figure_runtimes(runtimes), out)
