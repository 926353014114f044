"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vfi.data.demo import write_demo

# The cluster tests start SLURM daemons and, as root, install slurm-wlm, munge and MariaDB with
# apt-get: only where someone asked for that (CI does, in .ci/run).
CLUSTER_OPT_IN = "VFI_CLUSTER_TESTS"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get(CLUSTER_OPT_IN) == "1":
        return
    skip = pytest.mark.skip(
        reason=f"cluster tests start a SLURM cluster and may install system packages; "
        f"set {CLUSTER_OPT_IN}=1 to run them"
    )
    for item in items:
        if "cluster" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo data set at a small size (shared, read-only for tests)."""
    root = tmp_path_factory.mktemp("demo")
    write_demo(root, height=32, width=48)
    return root
