"""Writing compact `.safetensors` weight files: whole or not at all, and the same bytes each time.

The safetensors writer keeps the metadata in a hash map, so its order in the header, and with it
the file's bytes, changes from one call to the next (13 different headers in 20 saves). The
header is rewritten here with the metadata sorted: the same content, hence the same length, so
it is patched in place and the tensor data are left as written.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Mapping
from pathlib import Path

from safetensors.torch import save_file
from torch import Tensor


def save_weights(tensors: Mapping[str, Tensor], path: str | Path, metadata: dict[str, str]) -> Path:
    """Write `tensors` to `path` (via a temporary file in its folder, renamed when complete)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        save_file(dict(tensors), tmp, metadata=metadata)
        _sort_metadata(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _sort_metadata(path: Path) -> None:
    with open(path, "r+b") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(size))
        if "__metadata__" in header:
            header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
        text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        if len(text) > size:
            raise RuntimeError(f"{path}: re-serialised safetensors header is longer")
        f.seek(8)
        f.write(text.ljust(size, b" "))
