"""Atomic writes: a file is either its old self or entirely new, never half written.

The bytes go to a temporary file in the target's folder (same filesystem, so the final rename is
atomic) whose name starts with a dot, so nobody takes it for a result. Every output of the
workflow (frames, tables, figures, pages) is written through here, so a job killed at any moment
leaves finished files or none.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


class OutputError(OSError):
    """An output file could not be written; the message names it and says what to do."""


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that `path` either keeps its old content or holds all of `data`.

    The temporary file lives in the same folder (same filesystem, so the rename is atomic) and
    starts with a dot so that nobody takes it for a result.
    """
    write_stream_atomic(Path(path), lambda out: out.write(data))


def write_stream_atomic(path: Path, fill: Callable[[BinaryIO], object]) -> None:
    """Let `fill` write a temporary file next to `path`, then rename it over `path`.

    Temporary files of `path` left by a killed earlier attempt are removed first: the job
    rewriting `path` is now its only writer.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise OutputError(_explain_write_error(path, err)) from err
    try:
        with os.fdopen(fd, "wb") as out:
            fill(out)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(err, OSError):
            raise OutputError(_explain_write_error(path, err)) from err
        raise


def _explain_write_error(path: Path, err: OSError) -> str:
    hints = {
        errno.ENOSPC: "the disk is full: free space, then rerun with --rerun-incomplete",
        errno.EFBIG: "a file size limit was hit (ulimit -f or a quota): raise it, then rerun",
        errno.EDQUOT: "the disk quota is exhausted: free space, then rerun",
        errno.EACCES: "permission denied: choose another output folder or fix its permissions",
        errno.EROFS: "the file system is read-only: choose another output folder",
    }
    hint = hints.get(err.errno or 0, err.strerror or str(err))
    return f"{path}: could not be written ({hint}); nothing was left under this name"


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def copy_atomic(src: Path, dst: Path) -> None:
    """Copy a file byte for byte (keyframes are passed through untouched), atomically."""
    with open(src, "rb") as inp:
        write_stream_atomic(Path(dst), lambda out: shutil.copyfileobj(inp, out))
