"""Figures of the report and the runtime table they draw on."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from vfi.benchmarks import job_kind, job_name, read_benchmarks
from vfi.plots import (
    MAX_JOB_BARS,
    plot_metric_by_frame,
    plot_metric_by_level,
    plot_metric_distribution,
    plot_runtimes,
)


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
    write_benchmark(root / "interpolate_batch001_level3.tsv", 7.0, rss="NA")
    table = read_benchmarks(sorted(root.rglob("*.tsv")), root)
    assert list(table["job"]) == ["finish_sequence/seqA", "interpolate_batch001_level3"]
    assert list(table["kind"]) == ["finish_sequence", "interpolate_level3"]
    assert list(table["seconds"]) == [2.5, 7.0]
    assert np.isnan(table["max_rss_mb"].iloc[1])


def test_a_file_that_is_not_a_benchmark_is_refused(tmp_path):
    (tmp_path / "x.tsv").write_text("a\tb\n1\t2\n")
    with pytest.raises(ValueError, match="not a Snakemake benchmark file"):
        read_benchmarks([tmp_path / "x.tsv"], tmp_path)


def test_job_names_come_from_the_path_under_the_benchmarks_folder(tmp_path):
    assert job_name(tmp_path / "finish_sequence" / "seqA.tsv", tmp_path) == "finish_sequence/seqA"
    assert job_kind("copy_keyframes_batch002") == "copy_keyframes"


def runtime_table(jobs: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "job": [f"finish_sequence/s{i:03d}" for i in range(jobs)],
            "kind": ["finish_sequence"] * jobs,
            "seconds": [1.0 + i for i in range(jobs)],
        }
    )


def test_runtime_plot_has_a_bar_per_job_up_to_the_limit(tmp_path):
    plot_runtimes(runtime_table(MAX_JOB_BARS), tmp_path / "r.png")
    with Image.open(tmp_path / "r.png") as image:
        assert image.height > MAX_JOB_BARS * 25  # about 28 px per bar


def test_runtime_plot_sums_by_kind_beyond_the_limit(tmp_path):
    plot_runtimes(runtime_table(MAX_JOB_BARS + 1), tmp_path / "r.png")
    with Image.open(tmp_path / "r.png") as image:
        assert image.height < 300  # one bar: finish_sequence (41 jobs, total)
