"""Fixtures of the workflow tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import run_snakemake


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory, demo_data: Path) -> Path:
    """One complete run of the workflow on the small demo data, shared by every test module
    that only reads its results (a run costs a minute or more of CI time)."""
    workdir = tmp_path_factory.mktemp("demo-run")
    run_snakemake(workdir, "--config", f"data_dir={demo_data}")
    return workdir
