"""Summary statistics and the report's tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from vfi.evaluation.summary import read_metrics, summarise, summary_csv
from vfi.report.pages import overview_rst, sequence_page, summary_page


def metrics_table() -> pd.DataFrame:
    """Two generation frames of A (one an exact copy), one evaluation frame of B; no LPIPS."""
    return pd.DataFrame(
        {
            "sequence": ["A", "A", "B"],
            "mode": ["generate", "generate", "evaluate"],
            "frame": [2, 3, 2],
            "level": [2, 1, 1],
            "prev": [1, 1, 1],
            "next": [3, 5, 3],
            "time": [0.5, 0.5, 0.5],
            "effective_time": [2.0, 3.0, 2.0],
            "backend": ["blend"] * 3,
            "psnr": [20.0, math.inf, 30.0],
            "ssim": [0.5, 1.0, 0.9],
            "lpips": [np.nan] * 3,
        }
    )


def row(summary: pd.DataFrame, scope: str, metric: str, sequence: str = "", mode: str = ""):
    match = summary[
        (summary["scope"] == scope)
        & (summary["metric"] == metric)
        & (summary["sequence"] == sequence)
        & (summary["mode"] == mode)
    ]
    assert len(match) == 1
    return match.iloc[0]


def test_summary_has_rows_per_sequence_per_mode_and_overall():
    summary = summarise(metrics_table())
    assert list(summary["scope"].unique()) == ["all", "mode", "sequence"]
    assert set(summary[summary["scope"] == "sequence"]["sequence"]) == {"A", "B"}
    assert len(summary) == 3 * (1 + 2 + 2)  # metrics x (all + two modes + two sequences)


def test_statistics_pool_frames_and_leave_out_infinite_psnr():
    summary = summarise(metrics_table())
    overall = row(summary, "all", "psnr")
    assert (overall["count"], overall["excluded"]) == (2, 1)
    assert overall["mean"] == pytest.approx(25.0)
    assert overall["std"] == pytest.approx(np.std([20.0, 30.0], ddof=1))
    assert (overall["min"], overall["max"]) == (20.0, 30.0)
    ssim_a = row(summary, "sequence", "ssim", "A", "generate")
    assert (ssim_a["count"], ssim_a["mean"], ssim_a["max"]) == (2, 0.75, 1.0)


def test_metric_not_computed_has_count_zero_and_empty_statistics():
    summary = summarise(metrics_table())
    lpips = row(summary, "all", "lpips")
    assert (lpips["count"], lpips["excluded"]) == (0, 3) and math.isnan(lpips["mean"])
    line = [r for r in summary_csv(summary).splitlines() if r.startswith("all,,,blend,lpips")]
    assert line == ["all,,,blend,lpips,0,,,,,3"]


def test_standard_deviation_of_a_single_frame_is_empty():
    summary = summarise(metrics_table())
    assert math.isnan(row(summary, "sequence", "psnr", "B", "evaluate")["std"])


def test_summary_csv_is_the_same_whatever_the_row_order():
    table = metrics_table()
    shuffled = table.sample(frac=1.0, random_state=1).reset_index(drop=True)
    assert summary_csv(summarise(table)) == summary_csv(summarise(shuffled))


def test_sequence_names_that_look_like_numbers_stay_text(tmp_path):
    path = tmp_path / "metrics.csv"
    metrics_table().replace({"sequence": {"A": "007"}}).to_csv(path, index=False)
    table = read_metrics(path)
    assert set(table["sequence"]) == {"007", "B"}
    assert table["lpips"].isna().all()


def test_overview_lists_every_sequence_with_mean_and_std():
    text = overview_rst(summarise(metrics_table()), "LPIPS was not computed.")
    assert ".. list-table::" in text
    assert "All sequences (blend)" in text and "All generate sequences" in text
    assert "25.00 ± 7.07" in text  # overall PSNR
    assert "LPIPS was not computed." in text


def test_overview_escapes_names_that_mean_something_in_rst():
    table = metrics_table().replace({"sequence": {"A": "cells_*1*_"}})
    text = overview_rst(summarise(table), "")
    assert r"cells\_\*1\*\_" in text


def test_pages_are_html_that_escapes_names():
    table = metrics_table().replace({"sequence": {"A": "<A&B>"}})
    summary = summarise(table)
    page = summary_page(summary, "")
    assert "&lt;A&amp;B&gt;" in page and "<A&B>" not in page
    page = sequence_page("<A&B>", table)
    assert "<td>inf (exact)</td>" in page and "<td>n/a</td>" in page


def test_page_of_a_sequence_without_ground_truth_says_nothing_was_scored():
    assert "nothing was scored" in sequence_page("C", metrics_table())
