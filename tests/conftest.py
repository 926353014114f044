"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vfi.data.demo import write_demo

# The cluster tests start SLURM daemons and, as root, install slurm-wlm, munge and MariaDB with
# apt-get: only where someone asked for that (CI does, in .ci/run).
CLUSTER_OPT_IN = "VFI_CLUSTER_TESTS"
# The golden tests put their models and inputs on this device (default cpu); `cuda` runs them on
# a GPU (benchmarks/gpu_check.sh does), and then only the tests that use `test_device`.
TEST_DEVICE = "VFI_TEST_DEVICE"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _skip_device_runs(items)
    if os.environ.get(CLUSTER_OPT_IN) == "1":
        return
    skip = pytest.mark.skip(
        reason=f"cluster tests start a SLURM cluster and may install system packages; "
        f"set {CLUSTER_OPT_IN}=1 to run them"
    )
    for item in items:
        if "cluster" in item.keywords:
            item.add_marker(skip)


def _skip_device_runs(items: list[pytest.Item]) -> None:
    """With VFI_TEST_DEVICE set to another device, run only the tests placed on it.

    A test that does not use `test_device` computes on the CPU whatever the variable says, so a
    GPU run would only repeat the CPU suite; without that device the device tests skip, saying
    why, instead of failing.
    """
    requested = os.environ.get(TEST_DEVICE, "cpu")
    if requested == "cpu":
        return
    missing = _missing_device(requested)
    cpu_only = pytest.mark.skip(reason=f"CPU-only test (no test_device); {TEST_DEVICE}={requested}")
    for item in items:
        if "test_device" not in getattr(item, "fixturenames", ()):
            item.add_marker(cpu_only)
        elif missing:
            item.add_marker(pytest.mark.skip(reason=missing))


def _missing_device(requested: str) -> str | None:
    """Why `requested` cannot run here, or None when it can."""
    import torch

    try:
        device = torch.device(requested)
    except RuntimeError as err:
        return f"{TEST_DEVICE}={requested} is not a torch device: {err}"
    if device.type == "cuda" and not torch.cuda.is_available():
        return f"{TEST_DEVICE}={requested} but torch sees no CUDA device here"
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        return (
            f"{TEST_DEVICE}={requested} but torch sees {torch.cuda.device_count()} CUDA device(s)"
        )
    return None


@pytest.fixture(scope="session")
def test_device():
    """The device of the golden tests' models and inputs: the CPU unless VFI_TEST_DEVICE says.

    On CUDA the numerics are kept as close to the goldens' float32 CPU run as CUDA allows: no
    TF32, deterministic cuDNN and algorithms (warn_only: a few ops, e.g. scatter-adds, have no
    deterministic CUDA kernel and would otherwise stop the test rather than differ slightly).
    """
    import torch

    device = torch.device(os.environ.get(TEST_DEVICE, "cpu"))
    if device.type == "cuda":
        from vfi.backends.base import make_cuda_deterministic

        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        make_cuda_deterministic()
    return device


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo data set at a small size (shared, read-only for tests)."""
    root = tmp_path_factory.mktemp("demo")
    write_demo(root, height=32, width=48)
    return root


@pytest.fixture(scope="session")
def to_test_device(test_device):
    """Moves a tensor, or every tensor in a dict, list or tuple of them, to `test_device`."""
    import torch

    def move(value):
        if isinstance(value, torch.Tensor):
            return value.to(test_device)
        if isinstance(value, dict):
            return {key: move(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(move(item) for item in value)
        return value

    return move
