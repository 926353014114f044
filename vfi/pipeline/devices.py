"""Which device a model job runs on, and how model jobs on one machine avoid sharing a GPU.

A scheduler says which GPUs a job may use through `CUDA_VISIBLE_DEVICES` (SLURM sets it for jobs
that request `--gpus`); CUDA then numbers those GPUs from 0. Snakemake's `--resources gpu=N` only
counts GPU jobs, it does not tell a job which GPU to take, so on a machine with several GPUs every
job would pick `cuda:0`. Instead each job claims one GPU with an exclusive lock file
(`<tmp>/vfi-gpu-<uuid>.lock`, `flock`), held until the job's process exits; the kernel releases
it even after a crash, so no lock outlives its job. Locks are named after the GPU's UUID, so jobs
that see the same GPU under different numbers (other `CUDA_VISIBLE_DEVICES`) still agree.

Settings (`device:` in the config):
  auto     a GPU if one is visible (claimed as above), else the CPU with a WARNING in the log
  cuda     a GPU (claimed as above), or fail when there is none
  cuda:N   GPU N of the visible ones, no claim (the user's explicit choice; may share a GPU)
  cpu      the CPU
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

# Lock files of the GPUs this process claimed, by device id: open until the process exits, which
# is the point.
_HELD: dict[str, IO[bytes]] = {}


def lock_path(lock_dir: Path, device_id: str) -> Path:
    """The lock file of one GPU; `device_id` is any stable name of it (its UUID)."""
    return lock_dir / f"vfi-gpu-{re.sub(r'[^A-Za-z0-9_.-]', '_', device_id)}.lock"


def try_claim(paths: Sequence[Path]) -> tuple[int, IO[bytes]] | None:
    """Lock the first free one of `paths`: (its index, the open lock file), or None if all are held.

    The lock lasts as long as the returned file is open (also against other open files of this
    process: `flock` locks belong to the open file, not to the process).
    """
    for index, path in enumerate(paths):
        handle = _open_lock_file(path)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        return index, handle
    return None


def _open_lock_file(path: Path) -> IO[bytes]:
    """Open a lock file, creating it if needed, so that jobs of every user can lock it.

    Read access is enough for `flock`, and a file of another user in /tmp can be opened only
    without O_CREAT (Linux's fs.protected_regular), so O_CREAT is used only to make a new file.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:  # another job made it just now
            fd = os.open(path, os.O_RDONLY)
    return os.fdopen(fd, "rb")


def claim_device(
    device_ids: Sequence[str],
    lock_dir: Path,
    poll_seconds: float = 2.0,
    timeout_seconds: float | None = None,
) -> tuple[int, IO[bytes]]:
    """Claim one of the devices, waiting while every one is held by another job.

    Waiting happens when more GPU jobs run than there are GPUs (`--resources gpu=N` above the GPU
    count): the job then runs when a GPU is free instead of sharing one unknowingly.
    Returns (index into `device_ids`, open lock file). Raises TimeoutError after
    `timeout_seconds` (None: wait as long as it takes).
    """
    if not device_ids:
        raise ValueError("no devices to claim")
    paths = [lock_path(lock_dir, d) for d in device_ids]
    deadline = None if timeout_seconds is None else time.monotonic() + timeout_seconds
    warned = False
    while (claimed := try_claim(paths)) is None:
        if deadline is not None and time.monotonic() >= deadline:
            raise TimeoutError(
                f"all {len(paths)} GPU(s) stayed claimed by other jobs for {timeout_seconds} s "
                f"(lock files {', '.join(map(str, paths))})"
            )
        if not warned:
            log.warning(
                "all %d visible GPU(s) are in use by other vfi jobs (more GPU jobs run than "
                "there are GPUs: lower --resources gpu=N); waiting for one to be free",
                len(paths),
            )
            warned = True
        time.sleep(poll_seconds)
    return claimed


def claim_for_process(
    device_ids: Sequence[str], lock_dir: Path, timeout_seconds: float | None = None
) -> int:
    """Index of the device this process uses: the one it claimed before, else a newly claimed one.

    Reusing the claim matters when one process resolves its device twice: claiming again would
    wait for its own lock forever on a one-GPU machine.
    """
    for index, device_id in enumerate(device_ids):
        if device_id in _HELD:
            return index
    index, handle = claim_device(device_ids, lock_dir, timeout_seconds=timeout_seconds)
    _HELD[device_ids[index]] = handle
    return index


def describe_visible_devices(environ: Mapping[str, str] = os.environ) -> str:
    """How the environment limits the GPUs, for log messages."""
    value = environ.get("CUDA_VISIBLE_DEVICES")
    return "CUDA_VISIBLE_DEVICES unset" if value is None else f"CUDA_VISIBLE_DEVICES={value!r}"


def resolve_device(setting: str, lock_dir: Path | None = None) -> torch.device:
    """The device of a model job for the `device:` setting (see the module docstring).

    A claimed GPU stays claimed until the process exits. `lock_dir` defaults to the temporary
    directory (`TMPDIR`, else /tmp): jobs must share it to see each other's claims.
    """
    import torch

    visible = describe_visible_devices()
    if setting == "cpu":
        log.info("device: cpu (as configured)")
        return torch.device("cpu")
    if not torch.cuda.is_available():
        if setting == "auto":
            log.warning(
                "device: auto found no usable CUDA GPU (%s); running on the CPU, which is slow "
                "for ldmvfi. Set device: cuda to make a missing GPU an error.",
                visible,
            )
            return torch.device("cpu")
        raise RuntimeError(
            f"device {setting!r} was requested but PyTorch sees no usable CUDA GPU ({visible}); "
            "run on a machine or job with a GPU, or set device: auto or device: cpu"
        )
    count = torch.cuda.device_count()
    if setting not in ("auto", "cuda"):
        device = torch.device(setting)
        if device.index is not None and device.index >= count:
            raise RuntimeError(
                f"device {setting!r} was requested but only {count} GPU(s) are visible ({visible})"
            )
        log.info("device: %s (%s, as configured; not claimed)", device, _name(device))
        return device
    uuids = [str(torch.cuda.get_device_properties(i).uuid) for i in range(count)]
    index = claim_for_process(uuids, Path(lock_dir or tempfile.gettempdir()))
    device = torch.device("cuda", index)
    log.info(
        "device: %s (%s, GPU-%s; %s; claimed with %s)",
        device,
        _name(device),
        uuids[index],
        visible,
        _HELD[uuids[index]].name,
    )
    return device


def _name(device: torch.device) -> str:
    import torch

    return torch.cuda.get_device_name(device)


# Scoring (finish jobs, `metrics.device`): LPIPS, and SSIM with it, run on a GPU when one is
# worth claiming. A finish job's rule must know before it runs whether it takes a GPU
# (resources: gpu=1), so the workflow asks `gpu_visible` when it builds the DAG: without torch,
# whose import costs seconds on every snakemake start.
METRICS_DEVICES = ("auto", "cpu", "cuda")
NVIDIA_GPUS = Path("/proc/driver/nvidia/gpus")


def gpu_visible(environ: Mapping[str, str] = os.environ, gpus_dir: Path = NVIDIA_GPUS) -> bool:
    """Whether this process can see an NVIDIA GPU, judged without importing torch: the driver
    lists one (one folder per GPU) and CUDA_VISIBLE_DEVICES does not hide them all."""
    visible = environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1", "NoDevFiles"):
        return False
    try:
        return any(gpus_dir.iterdir())
    except OSError:
        return False


def metrics_device_claims_gpu(setting: str, visible: bool) -> bool:
    """Whether finish jobs declare a GPU for `metrics.device` (`visible`: `gpu_visible()`).

    `cuda` always does (on a cluster the node that builds the DAG need not have one); `auto`
    does when this machine has one.
    """
    return setting == "cuda" or (setting == "auto" and visible)


def scoring_device(setting: str, lock_dir: Path | None = None) -> torch.device:
    """The device a finish job scores on for `metrics.device`: `cpu`; `cuda`, a claimed GPU or
    an error; `auto`, a claimed GPU if torch sees one, else the CPU (the reference path, so an
    INFO line, not the warning of model jobs)."""
    import torch

    if setting not in METRICS_DEVICES:
        raise ValueError(f"metrics.device must be one of {list(METRICS_DEVICES)}, got {setting!r}")
    if setting == "cpu" or torch.cuda.is_available():
        return resolve_device(setting, lock_dir)
    visible = describe_visible_devices()
    if setting == "auto":
        log.info("metrics.device: auto found no CUDA GPU (%s); scoring on the CPU", visible)
        return torch.device("cpu")
    raise RuntimeError(
        f"metrics.device is cuda but PyTorch sees no usable CUDA GPU ({visible}); run the "
        "finish jobs where there is one, or set metrics.device: auto or cpu"
    )
