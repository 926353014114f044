"""Keep freed host memory in the process instead of handing it back to the OS after every tensor.

PyTorch's CPU tensors come from the C library's `malloc`. glibc serves every block above its
mmap threshold (at most 32 MiB) with a fresh `mmap` and returns it with `munmap` when freed, so
each large activation of a full-size frame (a 64-channel 1024 x 1024 map is 256 MiB) is
page-faulted and zeroed by the kernel again on every layer. On two cores that was a third of the
LDMVFI decoder's time (docs/performance.md). Told to serve large blocks from its heap and to keep
up to 2 GiB of free memory at the heap's top, glibc reuses the pages instead: same results,
peak memory about the same (the peak is what a job must have anyway), far fewer page faults.

`VFI_SYSTEM_MALLOC=1` leaves the C library's defaults alone. Other C libraries (macOS, musl) are
left alone too.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys

log = logging.getLogger(__name__)

# glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
# The largest trim threshold mallopt takes (an int): free heap memory above it is returned.
_TRIM_THRESHOLD = 2**31 - 1

_done = False


def keep_freed_memory() -> bool:
    """Make glibc reuse freed large blocks; True when it was told so (once per process)."""
    global _done
    if _done:
        return True
    if os.environ.get("VFI_SYSTEM_MALLOC") == "1" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt, libc_version = libc.mallopt, libc.gnu_get_libc_version
    except (OSError, AttributeError):
        return False  # not glibc
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    libc_version.restype = ctypes.c_char_p
    # Order matters: no trimming first, so nothing mapped before is handed back mid-change.
    _done = mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD) == 1 and mallopt(_M_MMAP_MAX, 0) == 1
    log.debug("glibc %s keeps freed memory: %s", libc_version().decode(), _done)
    return _done
