"""Fixtures of the workflow tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import COMPARE_CONFIG, add_sequence, run_snakemake


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory, demo_data: Path) -> Path:
    """One complete run of the workflow on the small demo data, shared by every test module
    that only reads its results (a run costs a minute or more of CI time)."""
    workdir = tmp_path_factory.mktemp("demo-run")
    run_snakemake(workdir, "--config", f"data_dir={demo_data}")
    return workdir


@pytest.fixture(scope="session")
def compare_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two tiny sequences with ground truth: a generation one and an evaluation one."""
    data = tmp_path_factory.mktemp("compare-data")
    add_sequence(data, "gen", [1, 5], gt=[2, 3, 4])
    add_sequence(data, "ev", [1, 3, 5], generate=False, gt=[2, 4])
    return data


@pytest.fixture(scope="session")
def compare_run(tmp_path_factory: pytest.TempPathFactory, compare_data: Path) -> Path:
    """One complete run with `compare: [blend]`, shared by the comparison and report tests."""
    workdir = tmp_path_factory.mktemp("compare-run")
    run_snakemake(workdir, "--config", f"data_dir={compare_data}", *COMPARE_CONFIG)
    return workdir
