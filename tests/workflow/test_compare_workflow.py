"""Backends compared in one run (compare: [blend] beside flow), with the real snakemake binary."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from support import COMPARE_CONFIG, run_snakemake

pytestmark = pytest.mark.workflow

OUT = Path("eval_results/CustomData")
COMPARE = Path("results/compare/blend")


def config(data: Path) -> list[str]:
    return ["--config", f"data_dir={data}", *COMPARE_CONFIG]


def planned_jobs(dry_run_output: str) -> set[str]:
    table = dry_run_output.split("Job stats:")[1].split("total")[0]
    return {m[1] for m in re.finditer(r"^(\w+)\s+\d+$", table, re.M)}


def made_frames(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*.png")}


def test_compare_frames_are_written_only_under_results_compare(compare_run):
    compared = made_frames(compare_run / COMPARE)
    assert compared == {
        "gen/frame_001.png", "gen/frame_002.png", "gen/frame_003.png", "gen/frame_004.png",
        "gen/frame_005.png", "ev/interpolated_frames/2.png", "ev/interpolated_frames/4.png",
    }  # fmt: skip
    assert made_frames(compare_run / OUT) == compared
    for seq in ("gen", "ev"):
        main = json.loads((compare_run / OUT / seq / "provenance.json").read_text())
        other = json.loads((compare_run / COMPARE / seq / "provenance.json").read_text())
        assert (main["backend"], other["backend"]) == ("flow", "blend")
    assert not list((compare_run / "results" / "compare").glob("flow"))


def test_main_tables_hold_only_the_main_backend(compare_run):
    for table in ("metrics.csv", "temporal.csv"):
        with open(compare_run / "results" / table, newline="") as f:
            assert {row["backend"] for row in csv.DictReader(f)} == {"flow"}
    with open(compare_run / COMPARE / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["backend"] for r in rows} == {"blend"} and len(rows) == 5


def test_comparison_table_has_both_backends_and_both_sets(compare_run):
    with open(compare_run / "results" / "comparison.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {(r["backend"], r["role"]) for r in rows} == {("flow", "main"), ("blend", "compare")}
    assert {r["set"] for r in rows} == {"evaluation", "generation"}
    with open(compare_run / "results" / "comparison_paired.csv", newline="") as f:
        paired = {(r["set"], r["metric"]): r for r in csv.DictReader(f)}
    assert paired[("generation", "psnr")]["frames"] == "3"
    assert paired[("evaluation", "psnr")]["reference"] == "flow"


def test_comparison_report_files_exist(compare_run):
    results = compare_run / "results"
    assert (results / "report" / "comparison.html").is_file()
    assert (results / "plots" / "comparison_psnr.png").is_file()
    strips = sorted(p.name for p in (results / "previews" / "comparison").iterdir())
    assert strips == [f"worst_{k}.png" for k in range(1, 6)]  # 5 scored frames, at most 6


def test_compare_jobs_have_logs_under_results_logs_compare(compare_run):
    logs = compare_run / "results" / "logs" / "compare" / "blend"
    assert any(p.name.startswith("compare_blend_interpolate_level1_") for p in logs.iterdir())
    assert (logs / "finish_sequence" / "gen.log").is_file()


def test_second_run_with_compare_has_nothing_to_do(compare_run, compare_data):
    result = run_snakemake(compare_run, "-n", *config(compare_data))
    assert "Nothing to be done" in result.stdout + result.stderr


def test_a_deleted_compare_frame_redoes_only_that_backends_job(compare_run, compare_data, tmp_path):
    (compare_run / COMPARE / "ev" / "interpolated_frames" / "4.png").unlink()
    try:
        jobs = planned_jobs(run_snakemake(compare_run, "-n", *config(compare_data)).stdout)
        model_jobs = {j for j in jobs if "interpolate_level" in j}
        assert len(model_jobs) == 1 and next(iter(model_jobs)).startswith(
            "compare_blend_interpolate_level1_"
        )
        assert "finish_sequence" not in jobs and "compare_finish_sequence" in jobs
    finally:
        run_snakemake(compare_run, *config(compare_data))
