"""Test helpers: small real image files in the users' layout, and the real snakemake binary."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from vfi.io.frames import write_frame

ROOT = Path(__file__).resolve().parent.parent
SNAKEFILE = ROOT / "workflow" / "Snakefile"
SNAKEMAKE = Path(sys.executable).parent / "snakemake"
# Copies of the golden outputs of the official LDMVFI code (see tests/fixtures/README.md).
LDMVFI_FIXTURES = ROOT / "tests" / "fixtures" / "ldmvfi"
TINY_CKPT = LDMVFI_FIXTURES / "tiny.ckpt"
TINY_CONFIG = LDMVFI_FIXTURES / "tiny_config.yaml"
FULL_MANIFEST = LDMVFI_FIXTURES / "full_manifest.json"


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


def snakemake_command(workdir: Path, *args: str, cores: int = 2) -> list[str]:
    return [
        str(SNAKEMAKE),
        "--snakefile",
        str(SNAKEFILE),
        "--directory",
        str(workdir),
        "--cores",
        str(cores),
        "--resources",
        "gpu=1",
        *args,
    ]


def run_snakemake(
    workdir: Path, *args: str, check: bool = True, timeout: float = 600, cores: int = 2
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        snakemake_command(workdir, *args, cores=cores),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"snakemake failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Every file under root (relative path -> content)."""
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, poll: float = 0.05) -> None:
    """Wait until `predicate()` holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(poll)


def interruptible() -> None:
    """`preexec_fn` for processes a test interrupts: a shell that ignores SIGINT (`nohup`, `&` in
    a script) passes that on, and the interrupt would then do nothing, unlike Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
