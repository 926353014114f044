"""Running the real snakemake binary on small data in a temporary folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SNAKEFILE = ROOT / "workflow" / "Snakefile"
SNAKEMAKE = Path(sys.executable).parent / "snakemake"


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
