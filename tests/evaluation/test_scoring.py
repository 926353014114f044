"""Per-sequence scores (metrics.txt, metrics.csv) and the table of all scored frames."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
from support import add_sequence, make_frame

from vfi.data.layout import OutputLayout
from vfi.data.sequences import discover
from vfi.evaluation.scoring import (
    CSV_COLUMNS,
    aggregate_metrics,
    format_metrics_txt,
    score_sequence,
)
from vfi.io.frames import read_frame, write_frame

FULL_SCALE_8 = {"setting": "auto", "value": 255.0, "bits": 8, "largest_value": 255}


@pytest.fixture
def scored(tmp_path):
    """Generation sequence 1..5 with ground truth for 2 and 3; frame 3 is predicted exactly."""
    data = tmp_path / "data"
    add_sequence(data, "seqA", [1, 5], gt=[2, 3])
    (seq,) = discover(data).sequences
    layout = OutputLayout(tmp_path / "out")
    for index in seq.targets:
        write_frame(layout.frame(seq, index), make_frame(seed=50 + index))
    write_frame(layout.frame(seq, 3), read_frame(seq.ground_truth[3]))
    return seq, layout


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_csv_has_one_row_per_frame_with_ground_truth(scored):
    seq, layout = scored
    score_sequence(seq, layout, "blend", "midpoint", FULL_SCALE_8)
    rows = read_rows(layout.metrics_csv(seq))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [r["frame"] for r in rows] == ["2", "3"]
    assert {r["sequence"] for r in rows} == {"seqA"}


def test_csv_records_time_and_effective_time_of_the_plan(scored):
    seq, layout = scored
    score_sequence(seq, layout, "blend", "midpoint", FULL_SCALE_8)
    midpoint = {r["frame"]: r for r in read_rows(layout.metrics_csv(seq))}
    score_sequence(seq, layout, "blend", "exact", FULL_SCALE_8)
    exact = {r["frame"]: r for r in read_rows(layout.metrics_csv(seq))}
    # frame 2 is made from 1 and 3 (level 2): both timings agree; frame 3 from 1 and 5 too.
    assert (midpoint["2"]["prev"], midpoint["2"]["next"], midpoint["2"]["level"]) == ("1", "3", "2")
    assert float(midpoint["3"]["effective_time"]) == float(exact["3"]["effective_time"]) == 3.0


def test_effective_time_shows_where_a_midpoint_really_lies(tmp_path):
    data = tmp_path / "data"
    add_sequence(data, "s", [1, 19], gt=[5])
    (seq,) = discover(data).sequences
    layout = OutputLayout(tmp_path / "out")
    for index in seq.targets:
        write_frame(layout.frame(seq, index), make_frame(seed=index))
    (row,) = score_sequence(seq, layout, "blend", "midpoint", FULL_SCALE_8)
    assert (row["prev"], row["next"], row["effective_time"]) == (1, 10, 5.5)


def test_exact_copy_has_infinite_psnr_in_csv_and_is_left_out_of_the_mean(scored):
    seq, layout = scored
    rows = score_sequence(seq, layout, "blend", "midpoint", FULL_SCALE_8)
    assert rows[1]["psnr"] == math.inf
    csv_rows = read_rows(layout.metrics_csv(seq))
    assert csv_rows[1]["psnr"] == "inf"
    mean_line = layout.metrics_txt(seq).read_text().splitlines()[-1].split()
    assert float(mean_line[1]) == pytest.approx(rows[0]["psnr"], abs=1e-4)


def test_lpips_not_computed_is_empty_in_csv_and_na_in_txt(scored):
    seq, layout = scored
    score_sequence(seq, layout, "blend", "midpoint", FULL_SCALE_8, None, "lpips n/a: no weights")
    assert all(r["lpips"] == "" for r in read_rows(layout.metrics_csv(seq)))
    text = layout.metrics_txt(seq).read_text()
    assert "# lpips n/a: no weights" in text
    data_lines = [line.split() for line in text.splitlines() if not line.startswith("#")]
    assert [line[0] for line in data_lines] == ["frame", "2", "3", "mean"]
    assert all(line[3] == "n/a" for line in data_lines[1:])


def test_lpips_values_from_a_scorer_reach_both_files(scored):
    seq, layout = scored
    score_sequence(seq, layout, "blend", "midpoint", FULL_SCALE_8, lambda pred, truth, peak: 0.25)
    assert [r["lpips"] for r in read_rows(layout.metrics_csv(seq))] == ["0.250000"] * 2
    assert layout.metrics_txt(seq).read_text().splitlines()[-1].split()[3] == "0.25000"


def test_metrics_txt_without_scored_frames_says_so():
    text = format_metrics_txt("s", "blend", [])
    assert "nothing scored" in text and "mean" not in text


def test_aggregate_concatenates_in_sequence_order(tmp_path, scored):
    seq, layout = scored
    score_sequence(seq, layout, "blend", "midpoint", FULL_SCALE_8)
    other = tmp_path / "b.csv"
    other.write_text(layout.metrics_csv(seq).read_text().replace("seqA", "seqB"))
    out = tmp_path / "all.csv"
    assert aggregate_metrics([other, layout.metrics_csv(seq)], out) == 4
    assert [r["sequence"] for r in read_rows(out)][0] == "seqB"  # sorted by path: b.csv first


def test_aggregate_refuses_a_table_with_other_columns(tmp_path):
    old = tmp_path / "old.csv"
    old.write_text("sequence,mode,frame,level,prev,next,backend,psnr,ssim\n")
    with pytest.raises(ValueError, match="delete it and run the workflow again"):
        aggregate_metrics([old], tmp_path / "all.csv")
