"""Test helpers: small real image files in the users' layout, and the real snakemake binary."""

from __future__ import annotations

import math
import signal
import subprocess
import sys
import time
import zlib
from collections.abc import Callable, Mapping
from collections.abc import Sequence as SequenceOf
from pathlib import Path

import numpy as np
import torch

from vfi.io.frames import write_frame

ROOT = Path(__file__).resolve().parent.parent
SNAKEFILE = ROOT / "workflow" / "Snakefile"
SNAKEMAKE = Path(sys.executable).parent / "snakemake"
# Copies of the golden outputs of the official LDMVFI code (see tests/fixtures/README.md).
LDMVFI_FIXTURES = ROOT / "tests" / "fixtures" / "ldmvfi"
TINY_CKPT = LDMVFI_FIXTURES / "tiny.ckpt"
TINY_CONFIG = LDMVFI_FIXTURES / "tiny_config.yaml"
FULL_MANIFEST = LDMVFI_FIXTURES / "full_manifest.json"
# Copies of the golden outputs of the official IFRNet code; its weights come from a formula.
IFRNET_FIXTURES = ROOT / "tests" / "fixtures" / "ifrnet"
_P = 2147483647  # 2**31 - 1
# --config of the shared run with a compare backend: blend beside the main backend (flow).
COMPARE_CONFIG = ("compare=[blend]",)


def load_ifrnet_fixture(name: str):
    return torch.load(IFRNET_FIXTURES / name, map_location="cpu", weights_only=True)


def unit_values(n: int, seed: int) -> torch.Tensor:
    """n float64 numbers in [-1, 1], RNG-free (integer hashing).

    The README's formula with in-place operations (the same exact integer and IEEE arithmetic,
    about 3x faster on the 20 M values of IFRNet_L).
    """
    x = torch.arange(n, dtype=torch.int64).mul_(2654435761).add_(seed).remainder_(_P)
    for _ in range(3):
        x.mul_(48271).remainder_(_P)
        x.bitwise_xor_(x >> 13)
        x.mul_(69621).remainder_(_P)
        x.bitwise_xor_(x >> 11)
    return x.to(torch.float64).div_(_P).mul_(2.0).sub_(1.0)


def fixture_weights(variant: str, shapes: Mapping[str, SequenceOf[int]]) -> dict[str, torch.Tensor]:
    """The fixture weights of `variant`; the arithmetic is kept exactly as the README's."""
    sd = {}
    for key, shape in shapes.items():
        shape = tuple(shape)
        seed = zlib.crc32(f"{variant}/{key}".encode()) % _P
        u = unit_values(math.prod(shape), seed).reshape(shape)
        if key.endswith(".bias"):
            ws = tuple(shapes[key[:-5] + ".weight"])
            v = u * (1.0 / math.sqrt(ws[1] * ws[2] * ws[3]))
        elif len(shape) == 1:  # PReLU slopes
            v = 0.25 + 0.2 * u
        else:  # Conv2d [out, in, k, k] and ConvTranspose2d [in, out, k, k]
            v = u * (2.3 / math.sqrt(shape[1] * shape[2] * shape[3]))
            if key == "decoder1.convblock.2.weight":  # head: 2 + 2 flow, 1 mask, 3 residual
                v = v * 0.7
                v[:, 5:8] = v[:, 5:8] * 0.15
        sd[key] = v.to(torch.float32).contiguous()
    return sd


def write_ifrnet_checkpoint(path: Path, variant: str = "IFRNet_S", time_input: bool = True) -> Path:
    """An official-format IFRNet checkpoint with the fixture weights (a flat state dict, as the
    maintainer's files). time_input=False zeroes the time channel, as in the Vimeo90K files."""
    shapes = load_ifrnet_fixture("weights_manifest.pt")["variants"][variant]["shapes"]
    weights = fixture_weights(variant, {k: v.tolist() for k, v in shapes.items()})
    if not time_input:
        weights["decoder4.convblock.0.0.weight"][:, -1] = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(weights, path)
    return path


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
