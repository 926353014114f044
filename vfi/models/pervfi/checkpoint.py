"""Read the official PerVFI weights (`PerVFI/v00.pth`, `PerVFI/vb.pth`): plain state dicts.

Both variants share the front end (`featurePyramid`, `deformableAlign`, `attentionMerge`,
`multiscaleFuse`); v00 adds the normalizing-flow decoder `condFLownet.*`, vb the CNN decoder
`generator.*` (its file has no `condFLownet.*`). The variant is told by which decoder the file
holds, then every key and shape is checked against the network, in one readable error.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import Tensor

from vfi.models.weights_file import (
    CheckpointError,
    check_keys,
    key_report,
    load_torch_file,
    unwrap_state_dict,
)

VARIANTS = ("v00", "vb")
# The decoder's key prefix in each variant's file.
DECODER_PREFIXES = {"v00": "condFLownet.", "vb": "generator."}

_HINT = (
    "This usually means the file belongs to another model or another PerVFI release; use "
    "PerVFI/v00.pth or PerVFI/vb.pth from the links in the README of github.com/mulns/PerVFI."
)


def expected_shapes(variant: str) -> dict[str, torch.Size]:
    """Official key -> shape of `variant`, in the network's order."""
    return dict(_expected_shapes(variant))


@functools.cache
def _expected_shapes(variant: str) -> tuple[tuple[str, torch.Size], ...]:
    from .model import PerVFI

    with torch.device("meta"):
        network = PerVFI(variant)
    return tuple((name, tensor.shape) for name, tensor in network.state_dict().items())


def detect_variant(state_dict: Mapping[str, Tensor], source: str = "checkpoint") -> str:
    """v00 or vb, by the decoder the weights hold; CheckpointError if neither or both."""
    found = [
        variant
        for variant, prefix in DECODER_PREFIXES.items()
        if any(key.startswith(prefix) for key in state_dict)
    ]
    if len(found) == 1:
        return found[0]
    what = "both decoders" if found else "no decoder"
    raise CheckpointError(
        f"{source}: not a PerVFI checkpoint: it holds {what} (v00 has condFLownet.* keys, vb "
        "has generator.* keys).\n" + key_report(state_dict, expected_shapes("v00"), "v00") + "\n"
        f"{_HINT}"
    )


def check_state_dict(
    state_dict: Mapping[str, Tensor], variant: str, source: str = "checkpoint"
) -> None:
    """Raise CheckpointError unless the keys and shapes are exactly those of `variant`."""
    problem = f"{source}: the weights do not match the PerVFI {variant} network."
    check_keys(state_dict, expected_shapes(variant), variant, problem, _HINT)


def read_weights(path: str | Path) -> tuple[str, dict[str, Tensor]]:
    """(variant, checked state dict on the CPU) of an official PerVFI file.

    The file is read with `weights_only=True`: pickled Python objects are refused without
    running them. A `module.` prefix on every key (a DataParallel save) is dropped.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"{path}: checkpoint file not found. Download PerVFI/v00.pth (or vb.pth) or "
            "correct the path."
        )
    tensors = unwrap_state_dict(load_torch_file(path), path, "PerVFI")
    variant = detect_variant(tensors, source=str(path))
    check_state_dict(tensors, variant, source=str(path))
    return variant, tensors
