"""batch_size: auto with the real snakemake binary: one model job per level, split by a budget,
and what a sequence added later reruns."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from support import add_sequence, job_counts, run_snakemake

from vfi.pipeline.jobs import job_name

pytestmark = pytest.mark.workflow

OUT = Path("eval_results/CustomData")


def model_jobs(counts: dict[str, int]) -> list[str]:
    return sorted(job for job in counts if job.startswith(("interpolate_", "copy_keyframes_")))


def frame_times(workdir: Path, names) -> dict[str, int]:
    return {
        str(p.relative_to(workdir)): p.stat().st_mtime_ns
        for name in names
        for p in (workdir / OUT / name).glob("frame_*.png")
    }


@pytest.fixture
def finished(tmp_path) -> tuple[Path, list[str]]:
    """A finished blend run over three generation sequences (levels 1 and 2), batch_size auto
    (the default)."""
    data = tmp_path / "data"
    for name in ("a", "c", "e"):
        add_sequence(data, name, [1, 5], gt=[3])
    config = ["--config", f"data_dir={data}", "backend=blend"]
    counts = job_counts(run_snakemake(tmp_path, "-n", *config).stdout)
    assert model_jobs(counts) == sorted(
        [job_name(0, "a"), job_name(1, "a"), job_name(2, "a")]
    )  # one copy job and one job per level, each over all three sequences
    run_snakemake(tmp_path, *config)
    return data, config


def test_auto_runs_one_model_job_per_level_over_all_sequences(tmp_path, finished):
    record = yaml.safe_load((tmp_path / OUT / "e" / ".provenance" / "level_2.json").read_text())
    assert (record["job"], record["batch"]) == (job_name(2, "a"), ["a", "c", "e"])


def test_a_sequence_added_later_runs_in_jobs_of_its_own(tmp_path, finished):
    data, config = finished
    before = frame_times(tmp_path, "ace")
    add_sequence(data, "b", [1, 5], gt=[3])  # sorted between a and c
    counts = job_counts(run_snakemake(tmp_path, "-n", *config).stdout)
    assert model_jobs(counts) == sorted([job_name(level, "b") for level in (0, 1, 2)])
    assert counts["finish_sequence"] == 1
    run_snakemake(tmp_path, *config)
    assert frame_times(tmp_path, "ace") == before
    assert len(frame_times(tmp_path, "b")) == 5
    assert job_counts(run_snakemake(tmp_path, "-n", *config).stdout) == {}


def test_max_frames_splits_a_level_into_several_jobs(tmp_path):
    data = tmp_path / "data"
    for name in ("a", "b", "c", "d"):
        add_sequence(data, name, [1, 5])
    budget = tmp_path / "budget.yaml"
    budget.write_text(yaml.safe_dump({"model_jobs": {"max_frames": 4}}))
    config = ["--configfile", str(budget), "--config", f"data_dir={data}", "backend=blend"]
    counts = job_counts(run_snakemake(tmp_path, "-n", *config).stdout)
    level2 = [job for job in counts if job.startswith("interpolate_level2_")]
    assert sorted(level2) == sorted([job_name(2, "a"), job_name(2, "c")])  # 2 frames each
    assert [job for job in counts if job.startswith("interpolate_level1_")] == [job_name(1, "a")]
