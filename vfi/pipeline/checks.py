"""Checks of the output folders, run before any job (at DAG build time).

A run must never write into its own input, and it should fail at once, not hours later, when an
output folder cannot be written.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from vfi.data.sequences import Problem


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def output_folder_problems(data_dir: Path, output_dirs: dict[str, Path]) -> list[Problem]:
    """Problems with the output folders (by config key): inside the data, or not writable."""
    data = Path(data_dir).resolve()
    problems = []
    for key, folder in output_dirs.items():
        resolved = Path(folder).resolve()
        if _inside(resolved, data) or _inside(data, resolved):
            problems.append(
                Problem(
                    f"{key} {folder} overlaps the data folder {data_dir}; inputs are never "
                    f"written to: choose an output folder outside {data_dir}"
                )
            )
            continue
        reason = _not_writable(resolved)
        if reason:
            problems.append(
                Problem(
                    f"{key} {folder} cannot be written ({reason}); "
                    "choose another folder or fix its permissions"
                )
            )
    return problems


def _not_writable(folder: Path) -> str | None:
    """None if a file can be created in `folder` (creating the folder if needed)."""
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is a file, not a folder"
    target = folder if folder.exists() else existing
    try:
        fd, probe = tempfile.mkstemp(prefix=".vfi-write-check-", dir=target)
    except OSError as err:
        return f"{err.strerror} in {target}"
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)
    return None
