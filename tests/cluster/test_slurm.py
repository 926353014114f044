"""The workflow on a real one-node SLURM cluster, through snakemake-executor-plugin-slurm.

`slurm-up.sh` starts the cluster (slurmctld, slurmd, slurmdbd with MariaDB, munge; two fake GPUs
as gres), installing the Debian packages first when they are missing, and `slurm-down.sh` stops
what it started. Runs only when VFI_CLUSTER_TESTS=1 (tests/conftest.py; CI sets it), and skips
where it cannot work: not root, no apt-get, packages that do not install, or the plugin not
installed. One SLURM run is interrupted (SIGINT, as Ctrl-C) while its model job
runs, then resumed; its outputs are compared with a local run's. Every SLURM job costs tens of
seconds here (see TARGET), so the data are two tiny sequences that need one model job. The
backend is ldmvfi with the tiny fixture weights, because only backends that use a GPU ask SLURM
for one.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from support import (
    ROOT,
    SNAKEFILE,
    SNAKEMAKE,
    TINY_CKPT,
    TINY_CONFIG,
    add_sequence,
    interruptible,
    run_snakemake,
    tree_bytes,
    wait_for,
)

from vfi.pipeline.jobs import job_name

pytestmark = pytest.mark.cluster

HERE = Path(__file__).resolve().parent
STATE = Path(os.environ.get("VFI_SLURM_DIR", "/run/vfi-slurm"))
PROFILE = ROOT / "workflow" / "profiles" / "slurm" / "config.yaml"
OUT = Path("eval_results/CustomData")
# Copied by a local job (copy_keyframes), which finishes before the run is interrupted.
KEYFRAME = OUT / "gen_a" / "frame_001.png"
MODEL_JOB = job_name(1, "eval_b")  # level 1 of both sequences, sorted by name
# Every job on this cluster costs 15-30 s (two nested snakemake starts plus polling), so the runs
# make the frames, per-sequence scores and the metrics table (4 SLURM jobs), not the report's
# plots and previews: those are CPU jobs like finish_sequence, and tests/workflow runs them.
TARGET = "results/metrics.csv"


def run_script(name: str, env: dict[str, str], timeout: float) -> tuple[int, str]:
    """Run a script of this folder; (exit status, output). On timeout its children (apt-get)
    are killed too, so nothing keeps running behind the test."""
    proc = subprocess.Popen(
        ["bash", str(HERE / name)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"{name} did not finish in {timeout} s\n{log_tails()}")
    return proc.returncode, output


def log_tails() -> str:
    logs = sorted((STATE / "log").glob("*.log")) if (STATE / "log").is_dir() else []
    return "\n".join(f"--- {p}:\n" + "\n".join(p.read_text().splitlines()[-15:]) for p in logs)


@pytest.fixture(scope="module")
def slurm_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Environment for SLURM commands on a running cluster; afterwards stops what it started."""
    pytest.importorskip(
        "snakemake_executor_plugin_slurm",
        reason="snakemake-executor-plugin-slurm is not installed (pip install -e '.[test]')",
    )
    # Only the daemons this fixture starts are listed, so only those are stopped.
    started = tmp_path_factory.mktemp("slurm") / "started"
    env = {**os.environ, "VFI_SLURM_STARTED": str(started)}
    try:
        status, output = run_script("slurm-up.sh", env, timeout=900)
        if status == 77:
            pytest.skip(output.strip().splitlines()[-1])
        if status != 0:
            pytest.fail(f"slurm-up.sh failed ({status}):\n{output}\n{log_tails()}")
        yield {**env, "SLURM_CONF": str(STATE / "slurm.conf")}
    finally:
        status, output = run_script("slurm-down.sh", env, timeout=300)
        assert status == 0, f"slurm-down.sh failed:\n{output}"


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generation sequence and an evaluation one (RGB, 16-bit): one model job makes all."""
    data = tmp_path_factory.mktemp("data")
    add_sequence(data, "gen_a", [1, 3], gt=[2])
    add_sequence(data, "eval_b", [1, 3, 5], generate=False, gt=[2, 4], mode="RGB", bit_depth=16)
    return data


@pytest.fixture(scope="module")
def run_config(tiny_data: Path, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Config and target of both runs (last on the command line: options take lists): ldmvfi
    with the tiny weights, converted beforehand so that no conversion job runs on the cluster."""
    folder = tmp_path_factory.mktemp("config")
    weights = folder / "tiny.safetensors"
    convert = [sys.executable, "-m", "vfi", "convert-checkpoint", str(TINY_CKPT), str(weights)]
    subprocess.run([*convert, "--config", str(TINY_CONFIG)], check=True, capture_output=True)
    config = {
        "data_dir": str(tiny_data),
        "backend": "ldmvfi",
        "ldmvfi": {"checkpoint": str(weights), "steps": 2},
        "model_jobs": {"mem_mb": 500, "runtime": 10},  # the node may be small
    }
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    return ["--configfile", str(folder / "config.yaml"), "--", TARGET]


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory, run_config: list[str]) -> Path:
    workdir = tmp_path_factory.mktemp("local")
    run_snakemake(workdir, *run_config)
    return workdir


@pytest.fixture(scope="module")
def slurm_profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped SLURM profile, edited as README tells users to, for this test cluster."""
    profile = yaml.safe_load(PROFILE.read_text())
    profile["default-resources"].update(
        slurm_partition="debug", slurm_account="vfi-ci", mem_mb=500, runtime=10
    )
    for resources in profile["set-resources"].values():
        resources["mem_mb"] = 500  # the node may be small; no job here needs more
    # Outputs are local here, and polling every few seconds keeps the test short.
    profile["latency-wait"] = 5
    # The plugin's first status check comes this long after a submission, and each check that
    # finds nothing finished waits 10 s longer than the last: near a job's duration is best.
    profile["slurm-init-seconds-before-status-checks"] = 15
    folder = tmp_path_factory.mktemp("profile")
    (folder / "config.yaml").write_text(yaml.safe_dump(profile))
    return folder


def slurm_command(workdir: Path, profile: Path) -> list[str]:
    return [
        str(SNAKEMAKE),
        "--snakefile",
        str(SNAKEFILE),
        "--directory",
        str(workdir),
        "--workflow-profile",
        str(profile),
    ]


def queued_jobs(env: dict[str, str], workdir: Path) -> dict[str, tuple[str, str]]:
    """Pending or running jobs submitted from `workdir`: job ID -> (rule, state)."""
    out = subprocess.run(
        ["squeue", "-h", "-o", "%i|%k|%T|%Z"], env=env, capture_output=True, text=True, timeout=30
    ).stdout
    rows = [line.split("|") for line in out.splitlines()]
    return {job: (rule_of(c), state) for job, c, state, folder in rows if folder == str(workdir)}


def rule_of(comment: str) -> str:
    """The rule of a job from the comment the plugin gives it (rule_<name>_wildcards_<...>)."""
    return re.sub(r"^rule_|_wildcards_.*$", "", comment)


@dataclass(frozen=True)
class Job:
    id: str
    state: str
    rule: str
    tres: str


def accounted_jobs(env: dict[str, str], workdir: Path) -> list[Job]:
    """Every job submitted from `workdir`, as slurmdbd recorded it."""
    out = subprocess.run(
        [
            "sacct",
            "-X",
            "-n",
            "-P",
            "-S",
            "now-1days",
            "-o",
            "JobID,State,Comment,AllocTRES,WorkDir",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    jobs = []
    for line in out.splitlines():
        job, state, comment, tres, folder = line.split("|")
        if folder == str(workdir):
            jobs.append(Job(job, state, rule_of(comment), tres))
    return jobs


@dataclass(frozen=True)
class SlurmRun:
    workdir: Path
    in_flight: list[str]  # job IDs queued when the run was interrupted
    keyframe_mtime: int  # of an output finished before the interruption


@pytest.fixture(scope="module")
def slurm_run(
    tmp_path_factory: pytest.TempPathFactory,
    slurm_env: dict[str, str],
    slurm_profile: Path,
    run_config: list[str],
) -> Iterator[SlurmRun]:
    """A SLURM run interrupted by SIGINT while its model job runs, then resumed to the end."""
    workdir = tmp_path_factory.mktemp("slurm-run")
    command = slurm_command(workdir, slurm_profile)
    log_path = workdir.parent / f"{workdir.name}-snakemake.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [*command, *run_config],
            env=slurm_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=interruptible,
        )
    try:
        in_flight: dict[str, tuple[str, str]] = {}

        def model_job_running() -> bool:
            nonlocal in_flight
            in_flight = queued_jobs(slurm_env, workdir)
            copied = f"(Rule: {job_name(0, 'gen_a')})" in log_path.read_text()
            running = (MODEL_JOB, "RUNNING") in in_flight.values()
            return proc.poll() is not None or (copied and running)

        wait_for(
            model_job_running, 300, "the model job to run after the keyframes are copied", poll=0.5
        )
        assert proc.poll() is None, f"snakemake ended early ({proc.returncode}); see {log_path}"
        proc.send_signal(signal.SIGINT)  # as Ctrl-C: snakemake cancels its SLURM jobs
        proc.wait(timeout=120)
        wait_for(
            lambda: not queued_jobs(slurm_env, workdir), 180, "cancelled jobs to leave", poll=0.5
        )
        keyframe_mtime = (workdir / KEYFRAME).stat().st_mtime_ns
        resumed = subprocess.run(
            [*command, "--rerun-incomplete", *run_config],
            env=slurm_env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert resumed.returncode == 0, f"resumed run failed:\n{resumed.stdout}\n{resumed.stderr}"
        yield SlurmRun(workdir, list(in_flight), keyframe_mtime)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        leftover = queued_jobs(slurm_env, workdir)
        if leftover:
            subprocess.run(["scancel", *leftover], env=slurm_env, timeout=30)


def test_interrupt_cancels_the_running_slurm_jobs(slurm_run, slurm_env):
    states = {j.id: j.state for j in accounted_jobs(slurm_env, slurm_run.workdir)}
    assert slurm_run.in_flight
    assert any(states[job].startswith("CANCELLED") for job in slurm_run.in_flight), states


def test_resumed_run_keeps_jobs_finished_before_the_interrupt(slurm_run):
    assert (slurm_run.workdir / KEYFRAME).stat().st_mtime_ns == slurm_run.keyframe_mtime


def test_slurm_run_writes_the_same_files_as_a_local_run(slurm_run, local_run):
    def names(root: Path) -> set[str]:
        return {
            str(p.relative_to(root))
            for p in root.rglob("*")
            if p.is_file() and ".snakemake" not in p.relative_to(root).parts
        }

    expected = {f"gen_a/frame_00{i}.png" for i in range(1, 4)}
    expected |= {"eval_b/interpolated_frames/2.png", "eval_b/interpolated_frames/4.png"}
    assert expected <= names(local_run / OUT)
    assert names(slurm_run.workdir) == names(local_run)


def test_slurm_outputs_are_identical_to_a_local_runs(slurm_run, local_run):
    assert tree_bytes(slurm_run.workdir / OUT) == tree_bytes(local_run / OUT)
    metrics = Path("results/metrics.csv")
    assert (slurm_run.workdir / metrics).read_bytes() == (local_run / metrics).read_bytes()


def test_model_jobs_get_a_gpu_and_cpu_jobs_do_not(slurm_run, slurm_env):
    jobs = [j for j in accounted_jobs(slurm_env, slurm_run.workdir) if j.state == "COMPLETED"]
    model = [j for j in jobs if j.rule.startswith("interpolate_")]
    other = [j for j in jobs if not j.rule.startswith("interpolate_")]
    assert model and other
    assert all("gres/gpu=1" in j.tres for j in model), model
    assert not any("gres/gpu" in j.tres for j in other), other


def test_model_job_log_names_the_gpu_slurm_assigned(slurm_run):
    log = (slurm_run.workdir / "results" / "logs" / f"{MODEL_JOB}.log").read_text()
    # The fake GPUs are no CUDA devices, so device: auto says so and uses the CPU.
    assert re.search(r"CUDA_VISIBLE_DEVICES='[01]'\); running on the CPU", log), log
