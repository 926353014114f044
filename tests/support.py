"""Test helpers: small real image files in the users' layout, and the real snakemake binary."""

from __future__ import annotations

import functools
import hashlib
import lzma
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Mapping
from collections.abc import Sequence as SequenceOf
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vfi.io.frames import write_frame

ROOT = Path(__file__).resolve().parent.parent
SNAKEFILE = ROOT / "workflow" / "Snakefile"
SNAKEMAKE = Path(sys.executable).parent / "snakemake"
# Unpacked copies of the fixtures stored xz-compressed (`<name>.xz`), one per packed content.
FIXTURE_CACHE = Path(tempfile.gettempdir()) / f"vfi-test-fixtures-{os.getuid()}"


@functools.cache
def fixture_file(path: Path) -> Path:
    """`path` itself, or, for a fixture stored as `path.xz`, its unpacked copy in the cache.

    Large fixtures are kept xz-compressed so that the repository stays small enough to travel to
    a GPU machine (tests/fixtures/README.md). The copy lies in a folder named after the packed
    file's hash, so an edited fixture is never read stale, and is written under a temporary
    name first, so that parallel test processes never read a half-written one. Cached: the
    packed file is read and hashed once per process.
    """
    if path.exists():
        return path
    packed = path.with_name(path.name + ".xz")
    data = packed.read_bytes()
    # A folder per packed content, the file under its own name (a checkpoint's name names
    # what is made of it, e.g. the workflow's converted weights).
    copy = FIXTURE_CACHE / hashlib.sha256(data).hexdigest()[:16] / path.name
    if not copy.exists():
        copy.parent.mkdir(parents=True, exist_ok=True)
        partial = copy.with_name(f".{copy.name}.{os.getpid()}.partial")
        partial.write_bytes(lzma.decompress(data))
        partial.replace(copy)
    return copy


# Copies of the golden outputs of the official LDMVFI code (see tests/fixtures/README.md).
LDMVFI_FIXTURES = ROOT / "tests" / "fixtures" / "ldmvfi"
TINY_CONFIG = LDMVFI_FIXTURES / "tiny_config.yaml"
FULL_MANIFEST = LDMVFI_FIXTURES / "full_manifest.json"
# Copies of the golden outputs of the official IFRNet code; its weights come from a formula.
IFRNET_FIXTURES = ROOT / "tests" / "fixtures" / "ifrnet"
_P = 2147483647  # 2**31 - 1
# --config of the shared run with a compare backend: blend beside the main backend (flow).
COMPARE_CONFIG = ("compare=[blend]",)


def load_ifrnet_fixture(name: str):
    return torch.load(fixture_file(IFRNET_FIXTURES / name), map_location="cpu", weights_only=True)


# Copies of the golden outputs of the official PerVFI code (see tests/fixtures/README.md).
PERVFI_FIXTURES = ROOT / "tests" / "fixtures" / "pervfi"
PERVFI_VB_GENERATOR_WEIGHTS = PERVFI_FIXTURES / "pervfi_vb_generator_random_state_dict.pt"

# Fixture files stored packed, by the name tests import them under (unpacked on first use).
_PACKED = {
    "TINY_CKPT": LDMVFI_FIXTURES / "tiny.ckpt",
    "PERVFI_V00_WEIGHTS": PERVFI_FIXTURES / "pervfi_v00_random_state_dict.pt",
}


def __getattr__(name: str) -> Path:
    if name in _PACKED:
        return fixture_file(_PACKED[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load_pervfi_fixture(name: str):
    """A golden file (`case_a.pt`, `softsplat_cases.pt`, ...) or a fixture state dict."""
    return torch.load(fixture_file(PERVFI_FIXTURES / name), map_location="cpu", weights_only=True)


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


def pervfi_state_dict(variant: str = "v00") -> dict[str, torch.Tensor]:
    """The fixture weights of a PerVFI variant (float16, as stored): vb is v00's front end with
    the vb decoder instead of `condFLownet.*`, as the official vb.pth."""
    weights = load_pervfi_fixture("pervfi_v00_random_state_dict.pt")
    if variant == "v00":
        return weights
    front = {k: v for k, v in weights.items() if not k.startswith("condFLownet.")}
    return front | load_pervfi_fixture(PERVFI_VB_GENERATOR_WEIGHTS.name)


def write_pervfi_checkpoint(path: Path, variant: str = "v00", prefix: str = "") -> Path:
    """An official-format PerVFI file (a flat state dict) of the fixture weights."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({prefix + k: v for k, v in pervfi_state_dict(variant).items()}, path)
    return path


def write_raft_weights(path: Path, seed: int = 0) -> Path:
    """torchvision `raft_large` weights, seeded random (the published ones cannot be fetched)."""
    from torchvision.models.optical_flow import raft_large

    torch.manual_seed(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(raft_large(weights=None).state_dict(), path)
    return path


def job_counts(dry_run_output: str) -> dict[str, int]:
    """Jobs per rule in the "Job stats" table of a snakemake dry run ({} when nothing to do)."""
    import re

    if "Job stats:" not in dry_run_output:
        return {}
    table = dry_run_output.split("Job stats:")[1].split("total")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}


def smooth_pair(height: int, width: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A smooth colour frame in [-1, 1] (1 x 3 x H x W) and the same shifted by a few pixels."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 3, height // 8, width // 8, generator=generator)
    frame = torch.nn.functional.interpolate(coarse, size=(height, width), mode="bicubic")
    frame = frame.clamp(0, 1) * 2 - 1
    return frame, torch.roll(frame, shifts=(2, 3), dims=(2, 3))


def add_lab_data(data: Path) -> None:
    """Data as labs have them: a generation sequence without ground truth (12-bit values in
    16-bit files), one with ground truth, and an RGB evaluation sequence, of odd sizes."""
    from vfi.io.frames import read_frame

    add_sequence(data, "gen_12bit", [1, 5], height=37, width=53, bit_depth=16)
    add_sequence(data, "gen-gt", [1, 5], gt=[3], height=40, width=56)
    add_sequence(data, "eval", [1, 3], generate=False, gt=[2], mode="RGB", height=40, width=56)
    for frame in (data / "input" / "gen_12bit").iterdir():  # rewrite as 12-bit values
        write_frame(frame, read_frame(frame) >> 4)


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


def frame_alone_and_in_batch(
    tmp_path: Path, settings_for: Callable[[Path], Any]
) -> tuple[bytes, bytes]:
    """Bytes of sequence a's frame 2 made by a level-1 job of its own and by one with sequence b
    (two 16-bit 40x56 sequences under tmp_path/data; settings_for(data_dir) gives the run's
    settings)."""
    from vfi.data.layout import OutputLayout
    from vfi.data.sequences import discover
    from vfi.pipeline.interpolate import run_level

    data = tmp_path / "data"
    for name in ("a", "b"):
        add_sequence(data, name, [1, 3], height=40, width=56, bit_depth=16)
    run = settings_for(data)
    sequences = discover(data).sequences
    run_level([s for s in sequences if s.name == "a"], 1, OutputLayout(tmp_path / "alone"), run)
    run_level(sequences, 1, OutputLayout(tmp_path / "together"), run)
    frame = Path("a") / "frame_002.png"
    return (tmp_path / "alone" / frame).read_bytes(), (tmp_path / "together" / frame).read_bytes()
