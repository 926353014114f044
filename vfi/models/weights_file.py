"""Weight files of every model: reading official `torch.save` files safely, and writing compact
`.safetensors` files whole or not at all, with the same bytes each time.

Reading: `torch.load(weights_only=True)`, so a file holding pickled code is refused without
running it, and every failure (not a checkpoint at all, truncated, refused) becomes a
`CheckpointError` that names the file and what to do.

Writing:
The safetensors writer keeps the metadata in a hash map, so its order in the header, and with it
the file's bytes, changes from one call to the next (13 different headers in 20 saves). The
header is rewritten here with the metadata sorted: the same content, hence the same length, so
it is patched in place and the tensor data are left as written.
"""

from __future__ import annotations

import json
import os
import pickle
import struct
from collections.abc import Mapping
from pathlib import Path

import torch
from safetensors.torch import save_file
from torch import Tensor


class CheckpointError(RuntimeError):
    """A weights file that cannot be used; the message says which file, what and what to do."""


def load_torch_file(path: Path) -> object:
    """The content of a `torch.save` file, read with `weights_only=True`."""
    with open(path, "rb") as f:
        head = f.read(4)
    # torch.save writes a zip archive (before PyTorch 1.6: a pickle stream)
    if not (head.startswith(b"PK\x03\x04") or head.startswith(b"\x80")):
        raise CheckpointError(
            f"{path}: not a PyTorch checkpoint (neither a zip archive nor a pickle; a failed "
            "download saves an HTML page under the file's name). Download the checkpoint again."
        )
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        if "weights_only" not in str(err).lower() and "weights only" not in str(err).lower():
            raise corrupt_file_error(path, err) from err
        raise CheckpointError(
            f"{path}: refused to load: the file contains pickled Python objects other than "
            "tensors, which could run code when loaded (torch.load weights_only=True rejected "
            f"it: {str(err).splitlines()[0]}). Use the published checkpoint or a file made by "
            "`convert_checkpoint`."
        ) from err
    except (RuntimeError, EOFError, OSError, ValueError) as err:
        raise corrupt_file_error(path, err) from err


def corrupt_file_error(path: Path, err: BaseException) -> CheckpointError:
    first_line = (str(err).splitlines() or [type(err).__name__])[0]
    return CheckpointError(
        f"{path}: cannot read the checkpoint, the file looks truncated or corrupt "
        f"({type(err).__name__}: {first_line}). Download or convert it again."
    )


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
