"""Read LDMVFI weights: the official Lightning `.ckpt` and our compact `.safetensors` file.

Official checkpoint (`{"state_dict": ...}`, 2374 entries for the published model):
* U-Net: the EMA copies `model_ema.diffusion_model<path without dots>` are the inference weights;
  the raw training weights `model.diffusion_model.<path>` are ignored. The EMA names cannot be
  inverted by string rules, so the mapping is built from our module's own parameter names.
* Autoencoder: `first_stage_model.<path>`; the identical `cond_stage_model.<path>` copy is ignored.
* Also ignored: the 12 schedule buffers (recomputed from the config), `model_ema.decay` and
  `model_ema.num_updates`.
Anything else, anything missing and any shape mismatch is reported in one readable error.

Compact file: `unet.<path>` and `first_stage.<path>` tensors plus metadata (format version and
the config as YAML), so it loads memory-mapped without the 1.7 GB of raw U-Net weights.
Version 2 (written now) stores every tensor 64-byte aligned, with `__pad__.*` filler entries
(`vfi.models.weights_file`), so a float32 file's tensors become the CPU model's weights in
place; version 1 (4-byte aligned, no filler) is still read, its tensors are copied.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch
import yaml
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file
from torch import Tensor, nn

from vfi.models.weights_file import (
    CheckpointError,
    corrupt_file_error,
    drop_padding,
    load_torch_file,
    save_weights,
)

from .autoencoder import VQFlowAutoencoder
from .config import LDMVFIConfig, load_config, parse_config
from .unet import UNetModel

COMPACT_FORMAT = "vfi-ldmvfi-compact"
COMPACT_VERSION = "2"
# Versions this code reads: 1 differs only in alignment (no padding entries).
READABLE_VERSIONS = ("1", "2")
UNET_PREFIX = "unet."
FIRST_STAGE_PREFIX = "first_stage."

_RAW_UNET = "model.diffusion_model."
_EMA_UNET = "model_ema.diffusion_model"
_FIRST_STAGE = "first_stage_model."
_COND_STAGE = "cond_stage_model."
# Entries of an official checkpoint that inference never needs.
_IGNORED_OFFICIAL_KEYS = frozenset(
    {
        "betas",
        "alphas_cumprod",
        "alphas_cumprod_prev",
        "sqrt_alphas_cumprod",
        "sqrt_one_minus_alphas_cumprod",
        "log_one_minus_alphas_cumprod",
        "sqrt_recip_alphas_cumprod",
        "sqrt_recipm1_alphas_cumprod",
        "posterior_variance",
        "posterior_log_variance_clipped",
        "posterior_mean_coef1",
        "posterior_mean_coef2",
        "model_ema.decay",
        "model_ema.num_updates",
    }
)
# Keys listed per category in an error message before "... and N more".
_LISTED_KEYS = 12


@dataclass(frozen=True)
class NetworkWeights:
    """State dicts for our two networks, keyed by their own parameter names."""

    unet: dict[str, Tensor]
    first_stage: dict[str, Tensor]


@dataclass
class _KeyReport:
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mis_shaped: list[str] = field(default_factory=list)

    def raise_if_any(self, source: str, hint: str) -> None:
        if not (self.missing or self.unexpected or self.mis_shaped):
            return
        lines = [f"{source}: the weights do not match the LDMVFI model being built."]
        for title, keys in (
            ("missing", self.missing),
            ("unexpected", self.unexpected),
            ("wrong shape", self.mis_shaped),
        ):
            if keys:
                lines.append(f"  {title} ({len(keys)}):")
                lines += [f"    {key}" for key in keys[:_LISTED_KEYS]]
                if len(keys) > _LISTED_KEYS:
                    lines.append(f"    ... and {len(keys) - _LISTED_KEYS} more")
        lines.append(hint)
        raise CheckpointError("\n".join(lines))


def build_networks(config: LDMVFIConfig) -> tuple[UNetModel, VQFlowAutoencoder]:
    """The two networks a checkpoint fills, on the current default device (meta works)."""
    unet = UNetModel(**config.unet.kwargs())
    first_stage = VQFlowAutoencoder(**config.first_stage.kwargs())
    return unet, first_stage


def is_compact(path: str | Path) -> bool:
    return Path(path).suffix == ".safetensors"


def load_state_dict_file(
    path: str | Path, device: str | torch.device | None = None
) -> dict[str, Tensor]:
    """All tensors of a weights file: an official `.ckpt` (its `state_dict`) or a `.safetensors`.

    `.ckpt` files are read with `weights_only=True`, so a file that holds pickled Python objects
    is refused without running them. Every failure becomes a `CheckpointError`.
    device: where the tensors of a `.safetensors` file are put, in the dtype they are stored in
    (None: the CPU). On the CPU they stay memory-mapped: pages are read when a tensor is first
    used. The padding entries of an aligned file are dropped. A `.ckpt` is always read to the
    CPU (`read_weights` moves the tensors it keeps).
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"{path}: checkpoint file not found. Download the LDMVFI checkpoint or correct "
            "the path."
        )
    if is_compact(path):
        return _load_safetensors(path, torch.device("cpu" if device is None else device))
    content = load_torch_file(path)
    state_dict = content.get("state_dict", content) if isinstance(content, Mapping) else None
    if not isinstance(state_dict, Mapping) or not all(
        isinstance(value, Tensor) for value in state_dict.values()
    ):
        raise CheckpointError(
            f"{path}: not a model checkpoint: expected a dict of tensors, or a Lightning "
            "checkpoint whose 'state_dict' is one. Use the published LDMVFI checkpoint."
        )
    return dict(state_dict)


def compact_config(path: str | Path) -> LDMVFIConfig:
    """The config stored in a compact file's metadata."""
    try:
        with safe_open(path, framework="pt") as handle:
            metadata = handle.metadata() or {}
    except (SafetensorError, OSError) as err:
        raise corrupt_file_error(Path(path), err) from err
    if metadata.get("format") != COMPACT_FORMAT or "config_yaml" not in metadata:
        raise CheckpointError(
            f"{path}: a .safetensors file without LDMVFI metadata (format {COMPACT_FORMAT!r}). "
            "Make it with `convert_checkpoint` from the official .ckpt."
        )
    if metadata.get("format_version") not in READABLE_VERSIONS:
        raise CheckpointError(
            f"{path}: compact format version {metadata.get('format_version')!r}, this code reads "
            f"versions {', '.join(READABLE_VERSIONS)}. Convert the official .ckpt again."
        )
    return parse_config(yaml.safe_load(metadata["config_yaml"]), source=f"{path} (metadata)")


def ema_key(name: str) -> str:
    """Official EMA buffer name of U-Net parameter `name`: dots deleted, after the model prefix."""
    return _EMA_UNET + name.replace(".", "")


def split_official(
    state_dict: Mapping[str, Tensor],
    unet: nn.Module,
    first_stage: nn.Module,
    source: str = "checkpoint",
) -> NetworkWeights:
    """Pick the inference weights out of an official state_dict (see the module docstring)."""
    unet_shapes = _shapes(unet)
    first_shapes = _shapes(first_stage)
    ema_to_name = {ema_key(name): name for name in unet_shapes}
    if len(ema_to_name) != len(unet_shapes):
        raise CheckpointError("U-Net parameter names collide once dots are deleted")
    report = _KeyReport()
    weights = NetworkWeights(unet={}, first_stage={})
    for key, tensor in state_dict.items():
        if key in ema_to_name:
            weights.unet[ema_to_name[key]] = tensor
        elif key.startswith(_FIRST_STAGE) and key[len(_FIRST_STAGE) :] in first_shapes:
            weights.first_stage[key[len(_FIRST_STAGE) :]] = tensor
        elif not _ignored_official_key(key, unet_shapes, first_shapes):
            report.unexpected.append(key)
    _check(weights.unet, unet_shapes, report, ema_key)
    _check(weights.first_stage, first_shapes, report, lambda name: _FIRST_STAGE + name)
    report.raise_if_any(source, _ARCHITECTURE_HINT)
    return weights


def split_compact(
    tensors: Mapping[str, Tensor],
    unet: nn.Module,
    first_stage: nn.Module,
    source: str = "checkpoint",
) -> NetworkWeights:
    """Split a compact file's `unet.*` / `first_stage.*` tensors, checking names and shapes."""
    unet_shapes = _shapes(unet)
    first_shapes = _shapes(first_stage)
    report = _KeyReport()
    weights = NetworkWeights(unet={}, first_stage={})
    for key, tensor in tensors.items():
        if key.startswith(UNET_PREFIX) and key[len(UNET_PREFIX) :] in unet_shapes:
            weights.unet[key[len(UNET_PREFIX) :]] = tensor
        elif key.startswith(FIRST_STAGE_PREFIX) and key[len(FIRST_STAGE_PREFIX) :] in first_shapes:
            weights.first_stage[key[len(FIRST_STAGE_PREFIX) :]] = tensor
        else:
            report.unexpected.append(key)
    _check(weights.unet, unet_shapes, report, lambda name: UNET_PREFIX + name)
    _check(weights.first_stage, first_shapes, report, lambda name: FIRST_STAGE_PREFIX + name)
    report.raise_if_any(source, _ARCHITECTURE_HINT)
    return weights


def read_weights(
    path: str | Path,
    unet: nn.Module,
    first_stage: nn.Module,
    device: str | torch.device | None = None,
) -> NetworkWeights:
    """Load a weights file of either format and return the checked state dicts.

    The networks only give the expected names and shapes (meta modules work). device: where the
    returned tensors are (None: the CPU), in the dtype the file stores them in.
    """
    tensors = load_state_dict_file(path, device)
    split = split_compact if is_compact(path) else split_official
    weights = split(tensors, unet, first_stage, source=str(path))
    if device is None or is_compact(path):
        return weights
    return NetworkWeights(
        unet={k: v.to(device) for k, v in weights.unet.items()},
        first_stage={k: v.to(device) for k, v in weights.first_stage.items()},
    )


def convert_checkpoint(
    src: str | Path,
    dst: str | Path,
    config: str | Path | None = None,
    dtype: torch.dtype | None = None,
) -> Path:
    """Write the inference weights of `src` as a compact `.safetensors` file; returns dst.

    config: the official-format YAML `src` was trained with (None: the published config, or the
    config stored in `src` when it is already compact). dtype: optionally cast floating-point
    tensors (e.g. torch.float16 halves the file); loading casts back to the model's dtype.
    Writes format version 2 (tensors 64-byte aligned), the same bytes for the same input; a
    version-1 `src` is thereby upgraded. The file is written to a temporary name in dst's folder
    and renamed, so a reader never sees a half-written file and a job that has the old file
    memory-mapped keeps its weights.
    """
    src, dst = Path(src), Path(dst)
    if config is not None:
        cfg = load_config(config)
    else:
        cfg = compact_config(src) if is_compact(src) else load_config(None)
    with torch.device("meta"):
        unet, first_stage = build_networks(cfg)
    weights = read_weights(src, unet, first_stage)
    tensors = {UNET_PREFIX + k: v for k, v in weights.unet.items()}
    tensors |= {FIRST_STAGE_PREFIX + k: v for k, v in weights.first_stage.items()}
    if dtype is not None:
        tensors = {k: v.to(dtype) if v.is_floating_point() else v for k, v in tensors.items()}
    tensors = {k: v.contiguous() for k, v in tensors.items()}
    metadata = {
        "format": COMPACT_FORMAT,
        "format_version": COMPACT_VERSION,
        "config_yaml": cfg.to_yaml(),
        "source": src.name,
    }
    return save_weights(tensors, dst, metadata)


_ARCHITECTURE_HINT = (
    "This usually means the file belongs to another model or another LDMVFI config: pass the "
    "official-format YAML it was trained with (config=...), or use the published checkpoint "
    "with the built-in config."
)


def _shapes(module: nn.Module) -> dict[str, torch.Size]:
    return {name: tensor.shape for name, tensor in module.state_dict().items()}


def _ignored_official_key(
    key: str, unet_shapes: Mapping[str, torch.Size], first_shapes: Mapping[str, torch.Size]
) -> bool:
    """Keys the official model holds but inference does not use (never reported)."""
    if key in _IGNORED_OFFICIAL_KEYS:
        return True
    if key.startswith(_RAW_UNET):
        return key[len(_RAW_UNET) :] in unet_shapes
    if key.startswith(_COND_STAGE):
        return key[len(_COND_STAGE) :] in first_shapes
    return False


def _check(
    found: Mapping[str, Tensor],
    expected: Mapping[str, torch.Size],
    report: _KeyReport,
    file_key: Callable[[str], str],
) -> None:
    """Record expected names absent from `found` and tensors whose shape differs."""
    for name, shape in expected.items():
        if name not in found:
            report.missing.append(file_key(name))
        elif found[name].shape != shape:
            report.mis_shaped.append(
                f"{file_key(name)}: file {list(found[name].shape)}, model {list(shape)}"
            )


def _load_safetensors(path: Path, device: torch.device) -> dict[str, Tensor]:
    """All tensors of a `.safetensors` file but padding, loaded by safetensors onto `device`."""
    try:
        return drop_padding(load_file(path, device=str(device)))
    except (SafetensorError, OSError) as err:
        if device.type == "cpu":
            raise corrupt_file_error(path, err) from err
    # safetensors refuses some devices (e.g. meta): read on the CPU (a corrupt file fails there
    # with the usual message), then move.
    return {k: v.to(device) for k, v in _load_safetensors(path, torch.device("cpu")).items()}
