"""Helpers shared by the whole suite: small real image files and the demo data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vfi.demo import write_demo
from vfi.frames import write_frame


def make_frame(
    mode: str = "L", bit_depth: int = 8, height: int = 24, width: int = 32, seed: int = 0
) -> np.ndarray:
    """A random frame with the given mode and bit depth."""
    rng = np.random.default_rng(seed)
    dtype = np.uint8 if bit_depth == 8 else np.uint16
    shape = (height, width) if mode == "L" else (height, width, 3)
    return rng.integers(0, np.iinfo(dtype).max, shape, dtype=dtype, endpoint=True)


def add_sequence(
    data_dir: Path,
    name: str,
    indices: list[int],
    *,
    generate: bool = True,
    gt: list[int] = (),
    mode: str = "L",
    bit_depth: int = 8,
    height: int = 24,
    width: int = 32,
    suffix: str = ".png",
) -> Path:
    """Write a sequence in the users' layout; returns its input folder."""
    folder = data_dir / "input" / name
    for i in indices:
        stem = f"frame_{i:03d}" if generate else str(i)
        write_frame(folder / f"{stem}{suffix}", make_frame(mode, bit_depth, height, width, i))
    for i in gt:
        stem = f"frame_{i:03d}" if generate else str(i)
        write_frame(
            data_dir / "gt" / name / f"{stem}{suffix}",
            make_frame(mode, bit_depth, height, width, 100 + i),
        )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo data set at a small size (shared, read-only for tests)."""
    root = tmp_path_factory.mktemp("demo")
    write_demo(root, height=32, width=48)
    return root
