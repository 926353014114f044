"""Device choice and GPU claims, on the CPU with made-up device ids (no GPU needed)."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading

import pytest
import torch

from vfi.pipeline.devices import (
    claim_device,
    claim_for_process,
    lock_path,
    resolve_device,
    try_claim,
)

GPUS = ["GPU-aaaa", "GPU-bbbb"]


def test_lock_path_is_one_safe_file_name_per_device(tmp_path):
    assert lock_path(tmp_path, "GPU-1/2 x") == tmp_path / "vfi-gpu-GPU-1_2_x.lock"


def test_jobs_claim_distinct_devices(tmp_path):
    first, first_lock = claim_device(GPUS, tmp_path)
    second, second_lock = claim_device(GPUS, tmp_path)
    assert (first, second) == (0, 1)
    first_lock.close()
    second_lock.close()


def test_no_claim_while_every_device_is_held(tmp_path):
    held = [try_claim([lock_path(tmp_path, g)]) for g in GPUS]
    assert try_claim([lock_path(tmp_path, g) for g in GPUS]) is None
    for _, handle in held:
        handle.close()


def test_a_device_is_free_again_once_its_job_exits(tmp_path):
    path = lock_path(tmp_path, GPUS[0])
    holder = (
        "import fcntl, sys; f = open(sys.argv[1], 'ab'); fcntl.flock(f, fcntl.LOCK_EX); "
        "print('held', flush=True); sys.stdin.read()"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", holder, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline() == "held\n"
        assert try_claim([path]) is None
        proc.stdin.close()
        proc.wait(timeout=30)
    finally:
        proc.kill()
    claimed = try_claim([path])
    assert claimed is not None
    claimed[1].close()


def test_claim_waits_for_a_device_to_be_released(tmp_path, caplog):
    held = [claim_device(GPUS, tmp_path) for _ in GPUS]
    threading.Timer(0.3, held[1][1].close).start()
    with caplog.at_level(logging.WARNING):
        index, handle = claim_device(GPUS, tmp_path, poll_seconds=0.05, timeout_seconds=30)
    assert index == 1
    assert "waiting for one to be free" in caplog.text
    handle.close()
    held[0][1].close()


def test_claim_gives_up_after_its_timeout(tmp_path):
    _, handle = claim_device(GPUS[:1], tmp_path)
    with pytest.raises(TimeoutError, match="stayed claimed"):
        claim_device(GPUS[:1], tmp_path, poll_seconds=0.01, timeout_seconds=0.05)
    handle.close()


def test_a_process_keeps_its_claim_instead_of_waiting_for_itself(tmp_path):
    ids = [f"GPU-test-{tmp_path.name}"]  # one device; unique, as claims last for the process
    assert claim_for_process(ids, tmp_path) == 0
    assert claim_for_process(ids, tmp_path, timeout_seconds=5) == 0


needs_no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU case")


@needs_no_cuda
def test_auto_without_gpu_runs_on_cpu_and_warns_naming_the_assigned_gpus(monkeypatch, caplog):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    with caplog.at_level(logging.WARNING):
        assert resolve_device("auto") == torch.device("cpu")
    assert "running on the CPU" in caplog.text and "CUDA_VISIBLE_DEVICES='1'" in caplog.text


@needs_no_cuda
@pytest.mark.parametrize("setting", ["cuda", "cuda:1"])
def test_cuda_without_gpu_is_an_error(setting):
    with pytest.raises(RuntimeError, match="no usable CUDA GPU"):
        resolve_device(setting)


def test_cpu_setting_gives_the_cpu_without_a_warning(caplog):
    with caplog.at_level(logging.WARNING):
        assert resolve_device("cpu") == torch.device("cpu")
    assert not caplog.records
