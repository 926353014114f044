"""keep_freed_memory: large freed blocks are reused instead of page-faulted in again."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

# Allocates and frees a 64 MiB tensor; prints the minor page faults of nine such cycles after ten
# of warm-up (the heap settles within a few: small allocations in between split freed blocks).
FAULTS = """
import resource, sys, torch
from vfi.allocator import keep_freed_memory
told = keep_freed_memory()
def cycle():
    torch.ones(16 * 2**20)
for _ in range(10):
    cycle()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(9):
    cycle()
print(told, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""

# The middle frame of the tiny test model, as bytes.
DIGEST = """
import hashlib, sys, torch
from vfi.allocator import keep_freed_memory
from vfi.models.ldmvfi import LDMVFI
keep_freed_memory()
torch.set_num_threads(1)
model = LDMVFI.from_checkpoint(sys.argv[1], config=sys.argv[2])
frames = torch.rand(2, 1, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1
out = model.interpolate(frames[0], frames[1], steps=2, seeds=[0])
print(hashlib.sha256(out.numpy().tobytes()).hexdigest())
"""

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="glibc's allocator is the one tuned"
)


def run_python(code: str, *args: str, system_malloc: bool) -> str:
    env = {k: v for k, v in os.environ.items() if k != "VFI_SYSTEM_MALLOC"}
    if system_malloc:
        env["VFI_SYSTEM_MALLOC"] = "1"
    done = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_freed_large_tensors_are_reused_without_page_faults():
    told, faults = run_python(FAULTS, system_malloc=False).split()
    assert told == "True"
    # 9 x 64 MiB fresh would be 9 x 16384 faults of 4 KiB pages; reused, almost none.
    assert int(faults) < 2000


def test_system_malloc_opt_out_leaves_glibc_defaults():
    told, faults = run_python(FAULTS, system_malloc=True).split()
    assert told == "False"
    assert int(faults) > 9 * 8000


def test_interpolation_gives_the_same_bytes_with_either_allocator():
    from support import TINY_CKPT, TINY_CONFIG

    args = (str(TINY_CKPT), str(TINY_CONFIG))
    kept = run_python(DIGEST, *args, system_malloc=False)
    assert kept == run_python(DIGEST, *args, system_malloc=True)
