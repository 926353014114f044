"""The last job of a sequence: provenance.json and the scores, without snakemake."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from support import add_sequence

from vfi.data.layout import OutputLayout
from vfi.data.plan import frame_seed
from vfi.data.sequences import discover
from vfi.evaluation.metrics import psnr, ssim
from vfi.io.frames import read_frame, write_frame
from vfi.pipeline.finish import finish_sequence, write_provenance
from vfi.settings import MetricsSettings, Settings


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(
        data_dir=str(tmp_path / "data"),
        backend="blend",
        seed=7,
        metrics=MetricsSettings(lpips="disabled"),
    )


def made_frames(seq, layout: OutputLayout, value: int) -> None:
    """Stand-ins for the frames a model job would have written."""
    for index in seq.targets:
        write_frame(
            layout.frame(seq, index), np.full_like(read_frame(seq.known[min(seq.known)]), value)
        )


def test_provenance_records_parents_times_and_seeds_of_every_frame(tmp_path, settings):
    add_sequence(tmp_path / "data", "s", [1, 19])
    (seq,) = discover(tmp_path / "data").sequences
    layout = OutputLayout(tmp_path / "out")
    write_provenance(seq, layout, settings, "exact")
    record = json.loads(layout.provenance(seq).read_text())
    assert record["backend"] == "blend" and record["timing"] == "exact" and record["seed"] == 7
    frames = {f["frame"]: f for f in record["frames"]}
    assert sorted(frames) == list(range(2, 19))
    five = frames[5]
    assert five["parents"] == [1, 10] and five["level"] == 2
    assert five["time"] == pytest.approx(4 / 9) and five["effective_time"] == pytest.approx(5)
    assert five["seed"] == frame_seed(7, "s", 5)
    assert five["output"] == str(layout.frame(seq, 5))
    assert record["input_frames"] == {"1": str(seq.known[1]), "19": str(seq.known[19])}


def test_midpoint_timing_records_where_the_frame_really_lies(tmp_path, settings):
    add_sequence(tmp_path / "data", "s", [1, 19])
    (seq,) = discover(tmp_path / "data").sequences
    layout = OutputLayout(tmp_path / "out")
    write_provenance(seq, layout, settings, "midpoint")
    frames = {f["frame"]: f for f in json.loads(layout.provenance(seq).read_text())["frames"]}
    assert frames[5]["time"] == 0.5 and frames[5]["effective_time"] == pytest.approx(5.5)


def test_finish_scores_each_frame_with_ground_truth_against_it(tmp_path, settings):
    add_sequence(tmp_path / "data", "e", [1, 3, 5], generate=False, gt=[2, 4])
    (seq,) = discover(tmp_path / "data").sequences
    layout = OutputLayout(tmp_path / "out")
    made_frames(seq, layout, 128)
    finish_sequence(seq, layout, settings)
    lines = layout.metrics_csv(seq).read_text().splitlines()
    assert lines[0].startswith("sequence,mode,frame") and len(lines) == 3
    row = dict(zip(lines[0].split(","), lines[2].split(","), strict=True))
    made, truth = read_frame(layout.frame(seq, 4)), read_frame(seq.ground_truth[4])
    assert row["frame"] == "4" and row["lpips"] == ""
    assert float(row["psnr"]) == pytest.approx(psnr(made, truth), abs=1e-6)
    assert float(row["ssim"]) == pytest.approx(ssim(made, truth), abs=1e-6)
    text = layout.metrics_txt(seq).read_text()
    assert "LPIPS not computed (metrics.lpips: disabled)" in text
    assert [line.split()[0] for line in text.splitlines() if not line.startswith("#")] == [
        "frame",
        "2",
        "4",
        "mean",
    ]


def test_finish_without_ground_truth_writes_provenance_and_says_nothing_was_scored(
    tmp_path, settings
):
    add_sequence(tmp_path / "data", "g", [1, 5])
    (seq,) = discover(tmp_path / "data").sequences
    layout = OutputLayout(tmp_path / "out")
    made_frames(seq, layout, 3)
    # required LPIPS needs no weights when nothing is scored
    finish_sequence(seq, layout, replace(settings, metrics=MetricsSettings(lpips="required")))
    assert layout.metrics_csv(seq).read_text().splitlines() == [
        "sequence,mode,frame,level,prev,next,time,effective_time,backend,data_range,psnr,ssim,lpips"
    ]
    assert "nothing scored" in layout.metrics_txt(seq).read_text()
    assert len(json.loads(layout.provenance(seq).read_text())["frames"]) == 3


def unrelated_12_bit_evaluation(data, layout_root):
    """An evaluation sequence of 12-bit values in 16-bit files, and a 'prediction' that has
    nothing to do with its ground truth but the same intensity range."""
    rng = np.random.default_rng(0)

    def frame():
        return rng.integers(1500, 1900, (32, 48), dtype=np.uint16, endpoint=True)

    for i in (1, 3):
        write_frame(data / "input" / "e" / f"{i}.png", frame())
    write_frame(data / "gt" / "e" / "2.png", frame())
    (seq,) = discover(data).sequences
    layout = OutputLayout(layout_root)
    write_frame(layout.frame(seq, 2), frame())
    return seq, layout


def csv_row(layout, seq) -> dict[str, str]:
    header, row = layout.metrics_csv(seq).read_text().splitlines()
    return dict(zip(header.split(","), row.split(","), strict=True))


def test_unrelated_12_bit_frame_scores_below_30_db_under_auto(tmp_path, settings):
    seq, layout = unrelated_12_bit_evaluation(tmp_path / "data", tmp_path / "out")
    finish_sequence(seq, layout, settings)
    row = csv_row(layout, seq)
    assert float(row["psnr"]) < 30 and float(row["data_range"]) == 4095
    assert "# data range: 4095 (12-bit data; metrics.data_range: auto)" in (
        layout.metrics_txt(seq).read_text()
    )
    data_range = json.loads(layout.provenance(seq).read_text())["data_range"]
    assert data_range == {"setting": "auto", "value": 4095, "bits": 12, "largest_value": 1900}


def test_dtype_data_range_gives_the_old_flattering_score(tmp_path, settings):
    seq, layout = unrelated_12_bit_evaluation(tmp_path / "data", tmp_path / "out")
    metrics = replace(settings.metrics, data_range="dtype")
    finish_sequence(seq, layout, replace(settings, metrics=metrics))
    row = csv_row(layout, seq)
    assert float(row["psnr"]) > 50 and float(row["data_range"]) == 65535


def test_a_number_as_data_range_is_used_as_given(tmp_path, settings):
    seq, layout = unrelated_12_bit_evaluation(tmp_path / "data", tmp_path / "out")
    metrics = replace(settings.metrics, data_range=2000)
    finish_sequence(seq, layout, replace(settings, metrics=metrics))
    made, truth = read_frame(layout.frame(seq, 2)), read_frame(seq.ground_truth[2])
    assert float(csv_row(layout, seq)["psnr"]) == pytest.approx(psnr(made, truth, 2000), abs=1e-5)


def test_provenance_merges_what_each_model_job_recorded(tmp_path, settings):
    from vfi.pipeline.interpolate import run_level

    add_sequence(tmp_path / "data", "g", [1, 5])
    (seq,) = discover(tmp_path / "data").sequences
    layout = OutputLayout(tmp_path / "out")
    for level in (1, 2):
        run_level([seq], level, layout, settings)
    finish_sequence(seq, layout, settings)
    record = json.loads(layout.provenance(seq).read_text())
    assert [job["level"] for job in record["jobs"]] == [1, 2]
    assert record["jobs"][0]["backend"] == {"name": "blend"}
    assert record["intensity"] == {
        "setting": "auto",
        "mode": "raw",
        "low": 0.0,
        "high": 255.0,
        "ceiling": 255.0,
    }
