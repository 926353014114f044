"""benchmarks/gpu_check.sh: its plumbing (--cpu-smoke), and golden tests asked to run on a GPU
that is not there."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = [
    "golden tests on cpu",
    "vfi bench --device cpu",
    "random weights",
    "job start-up on cpu",
    "workflow throughput",
    "LPIPS on cpu",
    "official LDMVFI against ours",
    "end",
]


@pytest.mark.workflow
def test_cpu_smoke_run_writes_every_section_with_its_status(tmp_path):
    out = tmp_path / "out"
    done = subprocess.run(
        ["bash", str(ROOT / "benchmarks" / "gpu_check.sh"), str(out), "--cpu-smoke"],
        capture_output=True,
        text=True,
        timeout=900,
        env=dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}"),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    text = (out / "gpu_check.txt").read_text()
    headings = re.findall(r"^## (.*)$", text, flags=re.MULTILINE)
    assert len(headings) == len(SECTIONS)
    for heading, expected in zip(headings, SECTIONS, strict=True):
        assert heading.startswith(expected)
    assert text.startswith("# GPU check, ")
    assert "mode: --cpu-smoke" in text
    # Every step ran and succeeded, and printed what it measures.
    assert text.count("status: ok") == len(SECTIONS) - 1, text
    assert re.search(r"\d+ passed", text)
    assert "first U-Net step" in text
    assert "frames per second (whole run, wall clock)" in text
    assert "LPIPS alex 64x48 gray16, 1 frame, cpu" in text
    assert "ours, fp32, 1 pair 64x64" in text and "official: not run" in text
    assert "steps not ok: 0" in text
    assert "passed" in (out / "gpu_check_tests.txt").read_text()


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is here: the tests would run")
def test_golden_tests_asked_for_cuda_without_a_gpu_skip_saying_why():
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-rs",
            str(ROOT / "tests" / "models" / "ldmvfi" / "test_unet.py"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=dict(os.environ, VFI_TEST_DEVICE="cuda"),
    )
    assert done.returncode == 0, done.stdout[-2000:]
    assert "passed" not in done.stdout and "failed" not in done.stdout
    # The golden tests skip for want of a GPU, the CPU-only ones as not placed on the device.
    assert "VFI_TEST_DEVICE=cuda but torch sees no CUDA device here" in done.stdout
    assert "CPU-only test (no test_device)" in done.stdout


# What the GPU check carries besides the tree (`gpu_check.py pack-deps` on 2026-12-01): 8.0 MiB of
# wheels (Snakemake's closure, lpips, the official code's needs), 0.5 MiB of official checkout.
CARRIED_MIB = 8.5


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="needs the git checkout")
def test_working_tree_leaves_room_for_what_the_gpu_check_carries():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from gpu_check import TRAVEL_LIMIT, _tree_files

    tree_mib = sum(f.stat().st_size for f in _tree_files()) / 2**20
    assert tree_mib + CARRIED_MIB <= TRAVEL_LIMIT / 2**20, (
        f"the working tree ({tree_mib:.1f} MiB) has grown too large to travel to a GPU machine "
        "with the check's wheels: pack large fixtures (tests/fixtures/pack.py)"
    )
