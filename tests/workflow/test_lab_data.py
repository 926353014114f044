"""Data shaped like a lab's, not like the demo: generation without ground truth, 12-bit values
in 16-bit files, the lab's own file names, sequences added and removed, the config edited."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from support import TINY_CKPT, TINY_CONFIG, add_sequence, job_counts, run_snakemake

from vfi.io.frames import write_frame
from vfi.pipeline.jobs import job_name

pytestmark = pytest.mark.workflow

OUT = Path("eval_results/CustomData")


def model_jobs(counts: dict[str, int]) -> int:
    return sum(n for job, n in counts.items() if job.startswith("interpolate_"))


def configfile(folder: Path, **settings) -> list[str]:
    path = folder / f"config-{len(list(folder.glob('config-*.yaml')))}.yaml"
    path.write_text(yaml.safe_dump(settings))
    return ["--configfile", str(path)]


def no_gt_folder(data: Path) -> None:
    add_sequence(data, "g1", [1, 5])
    add_sequence(data, "g2", [1, 3], mode="RGB", bit_depth=16)


def empty_gt_folders(data: Path) -> None:
    no_gt_folder(data)
    for name in ("g1", "g2"):
        (data / "gt" / name).mkdir(parents=True)


def generation_without_gt_beside_evaluation(data: Path) -> None:
    no_gt_folder(data)
    add_sequence(data, "e1", [1, 3, 5], generate=False, gt=[2, 4])


@pytest.mark.parametrize(
    "dataset", [no_gt_folder, empty_gt_folders, generation_without_gt_beside_evaluation]
)
def test_runs_without_ground_truth_finish_with_a_report_of_animations(tmp_path, dataset):
    data = tmp_path / "data"
    dataset(data)
    config = ["--config", f"data_dir={data}", "backend=blend"]
    run_snakemake(tmp_path, *config)
    previews = tmp_path / "results" / "previews"
    names = sorted(p.name for p in (data / "input").iterdir())
    assert sorted(p.parent.name for p in previews.glob("*/animation.png")) == names
    scored = {"e1"} & set(names)
    assert {p.parent.name for p in previews.glob("*/strips")} == scored
    for name in ("g1", "g2"):
        assert "nothing scored" in (tmp_path / OUT / name / "metrics.txt").read_text()
    run_snakemake(tmp_path, *config, "--report", "report.html")
    report = (tmp_path / "report.html").read_text()
    for name in names:
        assert f"previews/{name}/animation.png" in report


@pytest.fixture
def finished(tmp_path) -> tuple[Path, list[str]]:
    """A finished blend run over three sequences, two per batch."""
    data = tmp_path / "data"
    for name in ("a", "c", "e"):
        add_sequence(data, name, [1, 5], gt=[3])
    config = ["--config", f"data_dir={data}", "backend=blend", "batch_size=2"]
    run_snakemake(tmp_path, *config)
    return data, config


def frame_times(workdir: Path, names) -> dict[str, int]:
    return {
        str(p.relative_to(workdir)): p.stat().st_mtime_ns
        for name in names
        for p in (workdir / OUT / name).glob("frame_*.png")
    }


def test_changing_a_metrics_key_schedules_no_interpolation(tmp_path, finished):
    data, config = finished
    edited = configfile(tmp_path, metrics={"lpips": "disabled", "data_range": "dtype"})
    counts = job_counts(run_snakemake(tmp_path, "-n", *edited, *config).stdout)
    assert counts["finish_sequence"] == 3
    assert model_jobs(counts) == 0 and not any(job.startswith("copy_") for job in counts)


def test_results_dir_spelled_otherwise_or_on_invalid_changes_nothing(tmp_path, finished):
    _, config = finished
    for extra in ("results_dir=./results/", "on_invalid=skip", "batch_size=1"):
        result = run_snakemake(tmp_path, "-n", *config, extra)
        assert model_jobs(job_counts(result.stdout)) == 0, extra


def test_changing_a_backend_setting_schedules_every_model_job(tmp_path, finished):
    _, config = finished
    counts = job_counts(run_snakemake(tmp_path, "-n", *config, "timing=midpoint").stdout)
    assert model_jobs(counts) == 2 * 2  # two batches, two levels (frames 3, then 2 and 4)


def test_adding_and_removing_sequences_leaves_the_others_untouched(tmp_path, finished):
    data, config = finished
    before = frame_times(tmp_path, "ace")
    add_sequence(data, "b", [1, 5], gt=[3])  # sorted between a and c: batches would shift
    run_snakemake(tmp_path, *config)
    assert frame_times(tmp_path, "ace") == before
    assert len(frame_times(tmp_path, "b")) == 5
    (data / "input" / "c").rename(tmp_path / "c-removed")
    run_snakemake(tmp_path, *config)
    assert frame_times(tmp_path, "ae") == {k: v for k, v in before.items() if "/c/" not in k}
    table = (tmp_path / "results" / "metrics.csv").read_text()
    assert sorted({line.split(",")[0] for line in table.splitlines()[1:]}) == ["a", "b", "e"]


def test_flow_jobs_claim_no_gpu_and_ldmvfi_jobs_do(tmp_path):
    data = tmp_path / "data"
    add_sequence(data, "s", [1, 3])
    flow = run_snakemake(tmp_path, "-n", "--cores", "8", "--config", f"data_dir={data}").stdout
    ldmvfi_config = configfile(
        tmp_path,
        data_dir=str(data),
        backend="ldmvfi",
        ldmvfi={"checkpoint": str(TINY_CKPT), "config": str(TINY_CONFIG), "steps": 2},
        model_jobs={"threads": 3, "runtime": 30, "slurm_partition": "gpu-short"},
    )
    ldmvfi = run_snakemake(tmp_path, "-n", *ldmvfi_config).stdout

    def model_job(text: str) -> str:
        """The job's own lines: up to the next blank line, timestamp or rule."""
        body = text.split(f"rule {job_name(1, 's')}:")[1]
        return re.split(r"\n(?:\n|\[|rule )", body)[0]

    assert "gpu=" not in model_job(flow) and "threads: 2" in model_job(flow)
    job = model_job(ldmvfi)
    assert "gpu=1" in job and "runtime=30" in job and "slurm_partition=gpu-short" in job
    assert "threads: 3" in job or "threads: 2" in job  # scaled down to --cores 2 here


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"ldmvfi": {"steps": 150}}, "150 DDIM steps would run 167 steps"),
        ({"timing": "exact"}, "timing: exact needs a backend that accepts any t"),
    ],
)
def test_ldmvfi_settings_that_cannot_run_stop_before_any_job(tmp_path, settings, message):
    data = tmp_path / "data"
    add_sequence(data, "s", [1, 3])
    ldmvfi = {
        "checkpoint": str(TINY_CKPT),
        "config": str(TINY_CONFIG),
        **settings.pop("ldmvfi", {}),
    }
    edited = configfile(tmp_path, data_dir=str(data), backend="ldmvfi", ldmvfi=ldmvfi, **settings)
    result = run_snakemake(tmp_path, *edited, check=False)
    assert result.returncode != 0 and message in result.stdout + result.stderr
    assert not (tmp_path / OUT).exists()


def test_lab_file_names_run_end_to_end_and_outputs_keep_them(tmp_path):
    data = tmp_path / "data"
    rng = np.random.default_rng(0)
    for index in (1, 5):
        pixels = rng.integers(1500, 1900, (24, 32), dtype=np.uint16, endpoint=True)
        write_frame(data / "input" / "pos0" / f"Pos0_T{index:03d}.tif", pixels)
    write_frame(data / "gt" / "pos0" / "Pos0_T003.tif", pixels)
    edited = configfile(
        tmp_path, data_dir=str(data), backend="blend", frame_pattern={"generate": r"Pos0_T(\d+)"}
    )
    run_snakemake(tmp_path, *edited)
    made = sorted(p.name for p in (tmp_path / OUT / "pos0").glob("*.tif"))
    assert made == [f"Pos0_T{i:03d}.tif" for i in range(1, 6)]
    row = (tmp_path / OUT / "pos0" / "metrics.csv").read_text().splitlines()[1].split(",")
    assert row[9] == "4095.000000"  # data_range: the 12-bit full scale
    provenance = json.loads((tmp_path / OUT / "pos0" / "provenance.json").read_text())
    assert provenance["intensity"]["mode"] == "stretch"
