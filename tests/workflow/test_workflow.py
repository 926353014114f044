"""The workflow end to end with the real snakemake binary (default backend: flow)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

import pytest
from support import interruptible, run_snakemake, snakemake_command, tree_bytes, wait_for

from vfi.data.sequences import discover
from vfi.io.frames import probe_frame
from vfi.pipeline.jobs import job_name

pytestmark = pytest.mark.workflow

OUT = Path("eval_results/CustomData")


def job_counts(dry_run_output: str) -> dict[str, int]:
    table = dry_run_output.split("Job stats:")[1].split("total")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}


@pytest.fixture
def finished_run(demo_run: Path) -> Path:
    """One uninterrupted run on the demo data (shared); the reference for the other tests."""
    return demo_run


def kinds(counts: dict[str, int]) -> dict[str, int]:
    """Job counts by kind: model jobs per level (their rules are named per job)."""
    by_kind: dict[str, int] = {}
    for job, count in counts.items():
        kind = re.sub(r"^(interpolate_level\d+|copy_keyframes)_.*", r"\1", job)
        by_kind[kind] = by_kind.get(kind, 0) + count
    return by_kind


def test_dry_run_lists_one_job_per_batch_and_level(tmp_path, demo_data):
    result = run_snakemake(tmp_path, "-n", "--config", f"data_dir={demo_data}", "batch_size=2")
    counts = job_counts(result.stdout)
    # level 1: all 5 sequences, sorted: [eval_gray8-D4, eval_rgb16_E5], [gen-rgb8_C3,
    # gen_gray16_B2], [gen_gray8-A1]; levels 2-5 and keyframe copies: the 3 generation ones
    assert kinds(counts) == {
        "copy_keyframes": 2,
        "interpolate_level1": 3,
        **{f"interpolate_level{level}": 2 for level in range(2, 6)},
        "finish_sequence": 5,
        "aggregate_metrics": 1,
        "aggregate_temporal": 1,
        "summarise_metrics": 1,
        "plot_metrics": 1,
        "preview_sequence": 5,
        "strips_sequence": 5,
        "plot_runtimes": 1,
        "all": 1,
    }
    assert {job for job in counts if job.startswith("interpolate_level1_")} == {
        job_name(1, first) for first in ("eval_gray8-D4", "gen-rgb8_C3", "gen_gray8-A1")
    }


def test_full_run_writes_every_expected_file(finished_run, demo_data):
    out = finished_run / OUT
    for seq in discover(demo_data).sequences:
        folder = out / seq.name
        if seq.mode == "generate":
            names = {f"frame_{i:03d}.png" for i in range(1, 20)}
            assert {p.name for p in folder.glob("frame_*.png")} == names
            for src in seq.known.values():
                assert (folder / src.name).read_bytes() == src.read_bytes()
        else:
            assert sorted(p.name for p in (folder / "interpolated_frames").iterdir()) == [
                f"{i}.png" for i in seq.targets
            ]
        for i in seq.targets:
            made = folder / ("" if seq.mode == "generate" else "interpolated_frames")
            assert probe_frame(made / seq.naming.filename(i)) == seq.info
        for name in ("metrics.txt", "metrics.csv", "provenance.json"):
            assert (folder / name).is_file()
    assert not list(out.rglob(".*.tmp")), "temporary files left behind"


def test_metrics_table_has_one_row_per_scored_frame(finished_run, demo_data):
    lines = (finished_run / "results" / "metrics.csv").read_text().splitlines()
    scored = sum(len(s.scored) for s in discover(demo_data).sequences)
    assert len(lines) == 1 + scored
    assert lines[0].startswith("sequence,mode,frame,level")


def test_metrics_txt_has_a_line_per_frame_and_a_mean(finished_run):
    text = (finished_run / OUT / "eval_gray8-D4" / "metrics.txt").read_text()
    rows = [line.split() for line in text.splitlines() if not line.startswith("#")]
    assert [r[0] for r in rows] == ["frame", "2", "4", "mean"]
    assert all(float(r[1]) > 10 and 0 < float(r[2]) <= 1 for r in rows[1:])


def test_every_job_has_a_log_and_a_benchmark(finished_run):
    logs = {p.stem for p in (finished_run / "results" / "logs").rglob("*.log")}
    benchmarks = {p.stem for p in (finished_run / "results" / "benchmarks").rglob("*.tsv")}
    assert job_name(5, "gen-rgb8_C3") in logs and logs == benchmarks
    level1 = (finished_run / f"results/logs/{job_name(1, 'eval_gray8-D4')}.log").read_text()
    assert "frames done" in level1


def test_second_run_has_nothing_to_do(finished_run, demo_data):
    result = run_snakemake(finished_run, "-n", "--config", f"data_dir={demo_data}")
    assert "Nothing to be done" in result.stdout + result.stderr


def test_invalid_config_value_names_the_key(tmp_path, demo_data):
    result = run_snakemake(
        tmp_path, "-n", "--config", f"data_dir={demo_data}", "backend=magic", check=False
    )
    assert result.returncode != 0
    text = result.stdout + result.stderr
    assert "magic" in text and "backend" in text and "blend" in text


def test_bad_data_fails_before_any_job_listing_every_problem(tmp_path, demo_data):
    data = tmp_path / "data"
    subprocess.run(["cp", "-r", str(demo_data), str(data)], check=True)
    (data / "input" / "gen_gray8-A1" / "frame_019.png").write_bytes(b"")
    (data / "gt" / "eval_gray8-D4" / "4.png").unlink()
    result = run_snakemake(tmp_path, "-n", "--config", f"data_dir={data}", check=False)
    text = result.stdout + result.stderr
    assert result.returncode != 0
    assert "2 problem(s)" in text and "frame_019.png: the file is empty" in text
    assert "ground truth for frame 4 is missing" in text


def test_on_invalid_skip_runs_the_other_sequences(tmp_path, demo_data):
    data = tmp_path / "data"
    subprocess.run(["cp", "-r", str(demo_data), str(data)], check=True)
    (data / "input" / "gen_gray8-A1" / "frame_019.png").write_bytes(b"")
    result = run_snakemake(tmp_path, "-n", "--config", f"data_dir={data}", "on_invalid=skip")
    assert "Skipping: gen_gray8-A1" in result.stdout + result.stderr
    assert job_counts(result.stdout)["finish_sequence"] == 4


def test_skipped_sequence_with_outputs_of_an_earlier_run_is_warned_about(tmp_path, demo_data):
    data = tmp_path / "data"
    subprocess.run(["cp", "-r", str(demo_data), str(data)], check=True)
    (data / "input" / "gen_gray8-A1" / "frame_019.png").write_bytes(b"")
    earlier = tmp_path / OUT / "gen_gray8-A1"  # as an earlier run left it
    earlier.mkdir(parents=True)
    (earlier / "provenance.json").write_text("{}")
    result = run_snakemake(tmp_path, "-n", "--config", f"data_dir={data}", "on_invalid=skip")
    text = result.stdout + result.stderr
    assert "belong to no sequence of this run" in text and f"rm -r {OUT / 'gen_gray8-A1'}" in text


def test_missing_data_folder_does_not_suggest_skipping(tmp_path):
    result = run_snakemake(tmp_path, "-n", "--config", "data_dir=nowhere", check=False)
    text = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"looked for {tmp_path / 'nowhere'}" in text
    assert "on_invalid: skip would not help" in text


def count_files(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*") if p.is_file()) if folder.exists() else 0


def start_run_and_wait(workdir: Path, config: list[str], files: int) -> subprocess.Popen:
    """Start a run in the background (its own process group) and wait for `files` outputs."""
    proc = subprocess.Popen(
        snakemake_command(workdir, *config, cores=1),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=interruptible,
    )
    try:
        wait_for(
            lambda: count_files(workdir / OUT) >= files or proc.poll() is not None,
            300,
            f"{files} output files",
        )
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    return proc


def interrupt_after(workdir: Path, config: list[str], files: int, how: str) -> None:
    """Start a run, wait until `files` output files exist, then crash it or press Ctrl-C."""
    proc = start_run_and_wait(workdir, config, files)
    try:
        assert proc.poll() is None, "the run finished before it could be interrupted"
        if how == "sigkill":  # a crash: snakemake and its jobs die at once
            os.killpg(proc.pid, signal.SIGKILL)
        else:  # Ctrl-C: snakemake stops its jobs and marks what did not finish
            os.kill(proc.pid, signal.SIGINT)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.mark.parametrize(("how", "files"), [("sigkill", 30), ("sigkill", 66), ("sigint", 15)])
def test_interrupted_run_resumes_to_identical_bytes(tmp_path, demo_data, finished_run, how, files):
    config = ["--config", f"data_dir={demo_data}"]
    interrupt_after(tmp_path, config, files, how)
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / OUT).rglob("*.png")}
    run_snakemake(tmp_path, "--unlock", *config)
    run_snakemake(tmp_path, "--rerun-incomplete", *config)
    for part in (OUT, Path("results") / "metrics.csv"):
        reference, resumed = finished_run / part, tmp_path / part
        if reference.is_file():
            assert resumed.read_bytes() == reference.read_bytes()
        else:
            assert tree_bytes(resumed) == tree_bytes(reference)
    assert not list((tmp_path / OUT).rglob(".*.tmp")), "temporary files of killed jobs remain"
    # a finished job is not redone: the first level was complete before any interruption at 30+
    if files >= 30:
        level1 = tmp_path / OUT / "gen_gray8-A1" / "frame_010.png"
        assert level1.stat().st_mtime_ns == before[level1], "a finished job was redone"


def test_inputs_are_never_modified(finished_run, demo_data, tmp_path):
    from vfi.data.demo import write_demo

    write_demo(tmp_path, height=32, width=48)
    assert tree_bytes(demo_data) == tree_bytes(tmp_path)


def test_second_run_in_the_same_folder_is_refused_while_the_first_runs(tmp_path, demo_data):
    config = ["--config", f"data_dir={demo_data}"]
    first = start_run_and_wait(tmp_path, config, files=1)
    try:
        second = run_snakemake(tmp_path, *config, check=False)
        assert second.returncode != 0
        # Snakemake refuses by its lock, or, when it catches a job of the first run between
        # writing its outputs and clearing their marks, by those incomplete files: either way
        # before touching anything.
        text = second.stdout + second.stderr
        assert "cannot be locked" in text or "Incomplete files" in text
        assert first.wait(timeout=600) == 0, "the first run was disturbed"
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    assert "Nothing to be done" in run_snakemake(tmp_path, "-n", *config).stdout


def test_runs_with_different_output_folders_run_side_by_side(tmp_path, demo_data):
    def config(name: str) -> list[str]:
        return [
            "--config",
            f"data_dir={demo_data}",
            f"output_dir=out_{name}",
            f"results_dir=results_{name}",
            "batch_size=5",
        ]

    procs = [
        subprocess.Popen(
            snakemake_command(tmp_path, *config(n), cores=1),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for n in ("a", "b")
    ]
    outputs = [p.communicate(timeout=600)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    frames_a, frames_b = (
        {k: v for k, v in tree_bytes(tmp_path / f"out_{n}").items() if k.endswith(".png")}
        for n in ("a", "b")
    )
    assert frames_a == frames_b and len(frames_a) >= 60
