"""Weight files of every model: reading official `torch.save` files safely, and writing compact
`.safetensors` files whole or not at all, with the same bytes each time.

Reading: `torch.load(weights_only=True)`, so a file holding pickled code is refused without
running it, and every failure (not a checkpoint at all, truncated, refused) becomes a
`CheckpointError` that names the file and what to do.

Writing (`save_weights`): the file is laid out here, not by the safetensors writer, for two
reasons. (1) Alignment: every tensor's data start at a multiple of `ALIGNMENT` (64) bytes of the
file, so once the file is memory-mapped (at a page boundary) each tensor is as aligned as
torch's own CPU allocations and can be used in place, without a copy, computing the same bits
as a copy would (some CPU kernels round differently for less aligned weights). The format
allows no gaps between tensors, so a gap is filled by a `__pad__.<offset>` uint8 tensor of zeros
(any safetensors reader loads the file; our loaders drop them, `drop_padding`), and the JSON
header is padded with spaces, which the format allows, so that the data start at a multiple of
64 too. (2) Determinism: the safetensors writer keeps the metadata in a hash map, so its order
in the header, and with it the file's bytes, changed from one call to the next (13 different
headers in 20 saves); here the metadata are sorted and the tensors keep the order given.
"""

from __future__ import annotations

import json
import pickle
import struct
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO

import torch
from torch import Tensor

from vfi.io.atomic import write_stream_atomic

# Wrappers a training script may put around a state dict, and the prefix DataParallel adds.
WRAPPER_KEYS = ("state_dict", "model")
DATA_PARALLEL_PREFIX = "module."
# Keys listed per category in an error message before "... and N more".
LISTED_KEYS = 12
# Byte alignment of every tensor in a file of `save_weights`: enough for every dtype and the
# widest SIMD loads, and what torch's CPU allocator gives its own tensors.
ALIGNMENT = 64
# Name prefix of the uint8 entries that fill the gaps between aligned tensors.
PADDING_PREFIX = "__pad__."
# safetensors' names of the dtypes weights come in.
_DTYPE_CODES = {
    torch.float64: "F64",
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.int16: "I16",
    torch.int8: "I8",
    torch.uint8: "U8",
    torch.bool: "BOOL",
}


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


def is_state_dict(content: object) -> bool:
    """A non-empty dict of name -> tensor."""
    return (
        isinstance(content, Mapping)
        and len(content) > 0
        and all(isinstance(k, str) and isinstance(v, Tensor) for k, v in content.items())
    )


def unwrap_state_dict(content: object, path: Path, model: str) -> dict[str, Tensor]:
    """The flat state dict in a loaded `.pth`: itself, or under one of `WRAPPER_KEYS`, with a
    `module.` prefix on every key dropped (a DataParallel model saved as is)."""
    tensors = None
    if is_state_dict(content):
        tensors = dict(content)  # type: ignore[call-overload]
    elif isinstance(content, Mapping):
        inner = [content[k] for k in WRAPPER_KEYS if k in content and is_state_dict(content[k])]
        if len(inner) == 1:
            tensors = dict(inner[0])
    if tensors is None:
        raise CheckpointError(
            f"{path}: not a model checkpoint: expected a dict of tensors (an official {model} "
            f".pth) or a dict holding one under {' or '.join(map(repr, WRAPPER_KEYS))}."
        )
    if all(k.startswith(DATA_PARALLEL_PREFIX) for k in tensors):
        return {k[len(DATA_PARALLEL_PREFIX) :]: v for k, v in tensors.items()}
    return tensors


def check_keys(
    state_dict: Mapping[str, Tensor],
    expected: Mapping[str, torch.Size],
    network: str,
    problem: str,
    hint: str = "",
) -> None:
    """Raise CheckpointError (`problem`, the `key_report`, `hint`) unless `state_dict` has
    exactly the keys and shapes of `expected`."""
    if set(state_dict) == set(expected) and all(
        state_dict[k].shape == shape for k, shape in expected.items()
    ):
        return
    report = key_report(state_dict, expected, network)
    raise CheckpointError(f"{problem}\n{report}" + (f"\n{hint}" if hint else ""))


def key_report(
    state_dict: Mapping[str, Tensor], expected: Mapping[str, torch.Size], network: str
) -> str:
    """Missing, unexpected and mis-shaped keys of `state_dict` against `expected`, for errors."""
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    mis_shaped = [
        f"{k}: file {list(state_dict[k].shape)}, {network} {list(shape)}"
        for k, shape in expected.items()
        if k in state_dict and state_dict[k].shape != shape
    ]
    lines = [f"  compared with the {len(expected)} keys of {network}:"]
    for title, keys in (
        ("missing", missing),
        ("unexpected", unexpected),
        ("wrong shape", mis_shaped),
    ):
        if keys:
            lines.append(f"  {title} ({len(keys)}):")
            lines += [f"    {key}" for key in keys[:LISTED_KEYS]]
            if len(keys) > LISTED_KEYS:
                lines.append(f"    ... and {len(keys) - LISTED_KEYS} more")
    return "\n".join(lines)


def save_weights(tensors: Mapping[str, Tensor], path: str | Path, metadata: dict[str, str]) -> Path:
    """Write `tensors` (in this order) to `path` as an aligned `.safetensors` file (see the
    module docstring), through a temporary file renamed when complete.

    A file that jobs may have memory-mapped is thereby replaced, never rewritten in place: a
    running job keeps the weights it loaded.
    """
    path = Path(path)
    if sys.byteorder != "little":
        raise RuntimeError("safetensors files are little-endian; this machine is not")
    header, pieces = _aligned_layout(tensors, metadata)

    def fill(out: BinaryIO) -> None:
        out.write(struct.pack("<Q", len(header)))
        out.write(header)
        for piece in pieces:
            if isinstance(piece, int):
                out.write(bytes(piece))
            elif piece.numel():
                # raw little-endian bytes, without a copy (bfloat16 has no numpy dtype)
                out.write(piece.reshape(-1).view(torch.uint8).numpy().data)

    write_stream_atomic(path, fill)
    return path


def is_padding(name: str) -> bool:
    """Whether `name` is a padding entry of `save_weights`, not a weight."""
    return name.startswith(PADDING_PREFIX)


def drop_padding(tensors: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """The tensors of a loaded file without `save_weights`' padding entries."""
    return {name: tensor for name, tensor in tensors.items() if not is_padding(name)}


def is_aligned(tensor: Tensor) -> bool:
    """Whether the tensor's data start at a multiple of `ALIGNMENT` bytes in memory."""
    return tensor.data_ptr() % ALIGNMENT == 0


def _aligned_layout(
    tensors: Mapping[str, Tensor], metadata: Mapping[str, str]
) -> tuple[bytes, list[Tensor | int]]:
    """The padded JSON header, and the tensors (contiguous, on the CPU) and padding sizes to
    write after it, each tensor starting at a multiple of `ALIGNMENT` bytes of the file."""
    entries: dict[str, object] = {"__metadata__": dict(sorted(metadata.items()))}
    pieces: list[Tensor | int] = []
    offset = 0
    for name, tensor in tensors.items():
        if is_padding(name) or name == "__metadata__" or tensor.dtype not in _DTYPE_CODES:
            raise ValueError(
                f"cannot save tensor {name!r} ({tensor.dtype}): reserved name or dtype "
                f"without a safetensors code"
            )
        if gap := -offset % ALIGNMENT:
            entries[f"{PADDING_PREFIX}{offset}"] = _entry("U8", [gap], offset, gap)
            pieces.append(gap)
            offset += gap
        data = tensor.detach().to("cpu").contiguous()
        size = data.numel() * data.element_size()
        entries[name] = _entry(_DTYPE_CODES[data.dtype], list(data.shape), offset, size)
        pieces.append(data)
        offset += size
    text = json.dumps(entries, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    # spaces after the JSON: the data then start at a multiple of ALIGNMENT (8 + header size)
    return text + b" " * (-(8 + len(text)) % ALIGNMENT), pieces


def _entry(dtype: str, shape: list[int], offset: int, size: int) -> dict[str, object]:
    return {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + size]}
