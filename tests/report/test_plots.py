"""Figures of the report and the runtime table they draw on."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from vfi.report.plots import (
    ACCENT,
    MAX_JOB_BARS,
    figure_metric_by_frame,
    figure_metric_by_level,
    figure_metric_distribution,
    figure_runtimes,
    plot_metric_by_frame,
    plot_metric_by_level,
    plot_metric_distribution,
    plot_runtimes,
)
from vfi.report.runtimes import job_kind, job_name, read_benchmarks


def metrics_table() -> pd.DataFrame:
    frames = list(range(2, 19))
    rows = []
    for seq, offset in (("A", 0.0), ("B", 2.0)):
        for frame in frames:
            rows.append(
                {
                    "sequence": seq,
                    "mode": "generate",
                    "frame": frame,
                    "level": 1 + frame % 5,
                    "backend": "blend",
                    "psnr": 20 + offset + abs(frame - 10) / 2,
                    "ssim": 0.5 + abs(frame - 10) / 40,
                    "lpips": math.nan,
                }
            )
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    "plot", [plot_metric_distribution, plot_metric_by_frame, plot_metric_by_level]
)
def test_metric_plots_write_a_png_even_without_lpips(tmp_path, plot):
    out = tmp_path / "figure.png"
    plot(metrics_table(), out)
    with Image.open(out) as image:
        assert image.format == "PNG" and image.width > 600


def panel(figure, metric: str):
    """The axes of one metric (panels are in the order psnr, ssim, lpips)."""
    return figure.axes[["psnr", "ssim", "lpips"].index(metric)]


def test_distribution_plots_each_sequence_mean_as_a_dot():
    table = metrics_table()
    figure = figure_metric_distribution(table)
    dots = [line for line in panel(figure, "psnr").lines if line.get_color() == ACCENT]
    assert len(dots) == 1  # one backend
    expected = table.groupby("sequence")["psnr"].mean().sort_index().to_numpy()
    np.testing.assert_allclose(dots[0].get_ydata(), expected)


def test_a_metric_without_values_gets_a_panel_that_says_so():
    figure = figure_metric_distribution(metrics_table())
    assert [t.get_text() for t in panel(figure, "lpips").texts] == ["not computed"]
    assert not panel(figure, "lpips").lines


def test_by_frame_plot_draws_the_mean_of_each_frame_over_sequences():
    table = metrics_table()
    (mean,) = [
        line
        for line in panel(figure_metric_by_frame(table), "psnr").lines
        if line.get_label() == "mean"
    ]
    expected = table.groupby("frame")["psnr"].mean()
    np.testing.assert_array_equal(mean.get_xdata(), expected.index.to_numpy())
    np.testing.assert_allclose(mean.get_ydata(), expected.to_numpy())


def test_by_frame_plot_leaves_out_evaluation_rows_and_infinite_values():
    table = metrics_table()
    table.loc[table["frame"] == 2, "psnr"] = math.inf
    evaluation = table.head(3).assign(mode="evaluate", psnr=1000.0)
    figure = figure_metric_by_frame(pd.concat([table, evaluation]))
    (mean,) = [line for line in panel(figure, "psnr").lines if line.get_label() == "mean"]
    assert 2 not in mean.get_xdata() and max(mean.get_ydata()) < 1000


def test_by_level_plot_has_a_box_per_level_at_the_levels_median():
    table = metrics_table()
    ax = panel(figure_metric_by_level(table), "psnr")
    levels = sorted(table["level"].unique())
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(lv) for lv in levels]
    medians = [line.get_ydata()[0] for line in ax.lines if line.get_gid() == "median"]
    expected = [table.loc[table["level"] == lv, "psnr"].median() for lv in levels]
    np.testing.assert_allclose(medians, expected)


def test_plots_are_the_same_bytes_on_every_run(tmp_path):
    plot_metric_by_frame(metrics_table(), tmp_path / "a.png")
    plot_metric_by_frame(metrics_table(), tmp_path / "b.png")
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


def write_benchmark(path, seconds, rss="120.5"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
        f"{seconds}\t0:00:01\t{rss}\t1\t1\t1\t0\t0\t0\t0.5\n"
    )


def test_benchmark_files_become_one_row_per_job(tmp_path):
    root = tmp_path / "benchmarks"
    write_benchmark(root / "finish_sequence" / "seqA.tsv", 2.5)
    write_benchmark(root / "interpolate_level3_seqA_1f2e3d.tsv", 7.0, rss="NA")
    table = read_benchmarks(sorted(root.rglob("*.tsv")), root)
    assert list(table["job"]) == ["finish_sequence/seqA", "interpolate_level3_seqA_1f2e3d"]
    assert list(table["kind"]) == ["finish_sequence", "interpolate_level3"]
    assert list(table["seconds"]) == [2.5, 7.0]
    assert np.isnan(table["max_rss_mb"].iloc[1])


def test_a_file_that_is_not_a_benchmark_is_refused(tmp_path):
    (tmp_path / "x.tsv").write_text("a\tb\n1\t2\n")
    with pytest.raises(ValueError, match="not a Snakemake benchmark file"):
        read_benchmarks([tmp_path / "x.tsv"], tmp_path)


def test_job_names_come_from_the_path_under_the_benchmarks_folder(tmp_path):
    assert job_name(tmp_path / "finish_sequence" / "seqA.tsv", tmp_path) == "finish_sequence/seqA"
    assert job_kind("copy_keyframes_seqA_1f2e3d") == "copy_keyframes"


def test_jobs_of_a_compare_backend_are_grouped_under_its_name():
    job = "compare/blend/compare_blend_interpolate_level3_seqA_1f2e3d"
    assert job_kind(job) == "compare_blend_interpolate_level3"
    assert job_kind("compare/blend/finish_sequence/seqA") == "compare_blend_finish_sequence"


def runtime_table(jobs: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "job": [f"finish_sequence/s{i:03d}" for i in range(jobs)],
            "kind": ["finish_sequence"] * jobs,
            "seconds": [1.0 + i for i in range(jobs)],
        }
    )


def bars(figure) -> dict[str, float]:
    """Label -> bar length of a horizontal bar chart."""
    ax = figure.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    return dict(zip(labels, [bar.get_width() for bar in ax.patches], strict=True))


def test_runtime_plot_has_a_bar_per_job_up_to_the_limit(tmp_path):
    table = runtime_table(MAX_JOB_BARS)
    assert bars(figure_runtimes(table)) == dict(zip(table["job"], table["seconds"], strict=True))
    plot_runtimes(table, tmp_path / "r.png")
    with Image.open(tmp_path / "r.png") as image:
        assert image.height > MAX_JOB_BARS * 25  # about 28 px per bar


def test_runtime_plot_sums_by_kind_beyond_the_limit():
    table = runtime_table(MAX_JOB_BARS + 1)
    label = f"finish_sequence ({MAX_JOB_BARS + 1} jobs, total)"
    assert bars(figure_runtimes(table)) == {label: table["seconds"].sum()}
