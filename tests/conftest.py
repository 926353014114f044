"""Fixtures shared by the whole suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from vfi.data.demo import write_demo


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo data set at a small size (shared, read-only for tests)."""
    root = tmp_path_factory.mktemp("demo")
    write_demo(root, height=32, width=48)
    return root
