"""Read IFRNet weights: official `.pth` checkpoints and our compact `.safetensors` file.

An official checkpoint is a flat dict of the 104 parameters of one variant (official names, no
prefix, no buffers), written by `torch.save(model.state_dict())`. Also accepted: a `module.`
prefix on every key (a DataParallel model saved as is) and a wrapper dict holding the state dict
under `state_dict` / `model`. The variant is told by the shape of the first encoder conv.

Compact file: the same 104 tensors (optionally cast, e.g. float16) plus metadata naming the
format and the variant; written deterministically (same input, same bytes). Version 2 (written
now) stores every tensor 64-byte aligned with `__pad__.*` filler entries, which loading drops
(`vfi.models.weights_file`); version 1 (no filler) is still read.
"""

from __future__ import annotations

import functools
import pickle
from collections.abc import Mapping
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file
from torch import Tensor

from vfi.models.weights_file import (
    CheckpointError,
    check_keys,
    corrupt_file_error,
    drop_padding,
    key_report,
    load_torch_file,
    save_weights,
    unwrap_state_dict,
)

from .network import VARIANTS, IFRNetNetwork

COMPACT_FORMAT = "vfi-ifrnet-compact"
COMPACT_VERSION = "2"
# Versions this code reads: 1 differs only in alignment (no padding entries).
READABLE_VERSIONS = ("1", "2")
# The first encoder conv tells the variant apart: [width1, 3, k, k].
VARIANT_KEY = "encoder.pyramid1.0.0.weight"
# decoder4's first conv; its last input channel multiplies the time embedding.
TIME_KEY = "decoder4.convblock.0.0.weight"


def expected_shapes(variant: str) -> dict[str, torch.Size]:
    """Official key -> shape of `variant`, in official order."""
    return dict(_expected_shapes(variant))


@functools.cache
def _expected_shapes(variant: str) -> tuple[tuple[str, torch.Size], ...]:
    with torch.device("meta"):
        network = IFRNetNetwork(variant)
    return tuple((name, tensor.shape) for name, tensor in network.state_dict().items())


def detect_variant(state_dict: Mapping[str, Tensor], source: str = "checkpoint") -> str:
    """The variant whose first encoder conv has the shape of the file's; CheckpointError else."""
    found = state_dict.get(VARIANT_KEY)
    if found is not None:
        for name in VARIANTS:
            if found.shape == expected_shapes(name)[VARIANT_KEY]:
                return name
    known = ", ".join(f"{list(expected_shapes(name)[VARIANT_KEY])} ({name})" for name in VARIANTS)
    what = "absent" if found is None else f"of shape {list(found.shape)}"
    raise CheckpointError(
        f"{source}: not an IFRNet checkpoint: {VARIANT_KEY!r} is {what}; IFRNet checkpoints "
        f"have it as {known}.\n"
        + key_report(state_dict, expected_shapes("IFRNet"), "IFRNet")
        + "\n"
        + _HINT
    )


def check_state_dict(
    state_dict: Mapping[str, Tensor], variant: str, source: str = "checkpoint"
) -> None:
    """Raise CheckpointError unless the keys and shapes are exactly those of `variant`."""
    problem = f"{source}: the weights do not match the {variant} network."
    check_keys(state_dict, expected_shapes(variant), variant, problem, _HINT)


def is_compact(path: str | Path) -> bool:
    return Path(path).suffix == ".safetensors"


def load_state_dict_file(path: str | Path) -> dict[str, Tensor]:
    """All tensors of a weights file (official `.pth` or compact), on the CPU, keys unprefixed.

    `.pth` files are read with `weights_only=True`: a file holding pickled Python objects is
    refused without running them. Every failure becomes a CheckpointError. Keys are not checked
    here (see `check_state_dict`); a compact file's variant metadata is.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"{path}: checkpoint file not found. Download the IFRNet checkpoint (e.g. "
            "IFRNet_Vimeo90K.pth) or correct the path."
        )
    if is_compact(path):
        return _load_compact(path)
    return unwrap_state_dict(load_torch_file(path), path, "IFRNet")


def read_weights(path: str | Path) -> tuple[str, dict[str, Tensor]]:
    """(variant, checked state dict) of a weights file of either format."""
    tensors = load_state_dict_file(path)
    variant = detect_variant(tensors, source=str(path))
    if is_compact(path):
        stored = compact_metadata(path).get("variant")
        if stored != variant:
            raise CheckpointError(
                f"{path}: the metadata says variant {stored!r} but the weights are {variant}. "
                "Convert the official checkpoint again."
            )
    check_state_dict(tensors, variant, source=str(path))
    return variant, tensors


def compact_metadata(path: str | Path) -> dict[str, str]:
    """The metadata of a compact file, checked for our format and version."""
    try:
        with safe_open(path, framework="pt") as handle:
            metadata = handle.metadata() or {}
    except (SafetensorError, OSError) as err:
        raise corrupt_file_error(Path(path), err) from err
    if metadata.get("format") != COMPACT_FORMAT:
        raise CheckpointError(
            f"{path}: a .safetensors file without IFRNet metadata (format {COMPACT_FORMAT!r}). "
            "Make it with `convert_checkpoint` from the official .pth."
        )
    if metadata.get("version") not in READABLE_VERSIONS:
        raise CheckpointError(
            f"{path}: compact format version {metadata.get('version')!r}, this code reads "
            f"versions {', '.join(READABLE_VERSIONS)}. Convert the official .pth again."
        )
    return metadata


def uses_time(state_dict: Mapping[str, Tensor]) -> bool:
    """Whether the output depends on t: False when decoder4's time-channel weights are all zero.

    The published Vimeo90K checkpoints are like that (trained with t = 0.5 only); use the GoPro
    ones for other times.
    """
    if TIME_KEY not in state_dict:
        raise CheckpointError(f"not an IFRNet state dict: no {TIME_KEY!r}")
    return bool(state_dict[TIME_KEY][:, -1].any())


def file_uses_time(path: str | Path) -> bool:
    """`uses_time` of a weights file, reading only what it needs (memory-mapped)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file not found.")
    if is_compact(path):
        compact_metadata(path)
        try:
            with safe_open(path, framework="pt") as handle:
                return uses_time({TIME_KEY: handle.get_tensor(TIME_KEY)})
        except (SafetensorError, OSError) as err:
            raise corrupt_file_error(path, err) from err
    try:
        content = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except (RuntimeError, pickle.UnpicklingError, EOFError, OSError, ValueError):
        content = load_torch_file(path)  # not a zip file (mmap needs one), or a readable error
    return uses_time(unwrap_state_dict(content, path, "IFRNet"))


def convert_checkpoint(src: str | Path, dst: str | Path, dtype: torch.dtype | None = None) -> Path:
    """Write the weights of `src` (official or compact) as a compact `.safetensors`; returns dst.

    dtype: optionally cast the tensors (float16 halves the file; loading casts back to the
    model's dtype). The same input gives the same bytes. The file is written to a temporary name
    in dst's folder and renamed, so a reader never sees a half-written file.
    """
    src = Path(src)
    variant, tensors = read_weights(src)
    return write_compact(tensors, variant, dst, source=src.name, dtype=dtype)


def write_compact(
    tensors: Mapping[str, Tensor],
    variant: str,
    dst: str | Path,
    source: str,
    dtype: torch.dtype | None = None,
    extra: Mapping[str, str] | None = None,
) -> Path:
    """Write a state dict of `variant` as a compact `.safetensors` (official key order, variant
    and `source` recorded, plus any `extra` metadata); the same tensors give the same bytes."""
    check_state_dict(tensors, variant, source=source)
    ordered = {k: tensors[k].detach().to("cpu") for k in expected_shapes(variant)}
    if dtype is not None:
        ordered = {k: v.to(dtype) for k, v in ordered.items()}
    ordered = {k: v.contiguous() for k, v in ordered.items()}
    metadata = {
        **(extra or {}),
        "format": COMPACT_FORMAT,
        "version": COMPACT_VERSION,
        "variant": variant,
        "source": source,
    }
    return save_weights(ordered, dst, metadata)


_HINT = (
    "This usually means the file belongs to another model (e.g. RIFE or LDMVFI) or is not an "
    "IFRNet checkpoint; use a published IFRNet .pth or a file made by `convert_checkpoint`."
)


def _load_compact(path: Path) -> dict[str, Tensor]:
    compact_metadata(path)
    try:
        return drop_padding(load_file(path, device="cpu"))
    except (SafetensorError, OSError) as err:
        raise corrupt_file_error(path, err) from err
