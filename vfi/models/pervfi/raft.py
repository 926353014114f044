"""RAFT optical flow (Teed & Deng, ECCV 2020) run the way PerVFI's official wrapper runs it.

PerVFI feeds its generator flows from RAFT (the large model with the `raft-sintel` weights).
The network is torchvision's `raft_large`; only the driving code is ours, because the wrapper
differs from torchvision's `RAFT.forward` in ways that change the numbers:

* frames in [0, 1] are padded to a multiple of 8 with **zeros, centred** (left = pad // 2), and
  only then mapped to [-1, 1], so the border RAFT sees is black (-1), not grey (0); the mapping
  goes through 0..255 as the official code does (see `to_raft_input`);
* the forward and backward flows are two separate estimates, img0 -> img1 and img1 -> img0,
  each with 12 refinement steps. Only the final step's flow is upsampled (torchvision runs its
  mask head and upsampling after every step, about 1/6 more work per step, for outputs the
  wrapper throws away), and one feature-encoder pass serves both directions; both shortcuts
  leave the numbers unchanged;
* on CUDA the official code runs the encoders and the update block under float16 autocast
  (`mixed_precision=True`) while the correlation stays float32. `RaftFlow(mixed_precision=True)`
  reproduces those regions; it is off by default (float32 everywhere, as on CPU, where the
  official autocast does nothing).

Weights are never downloaded: `load_raft` reads a file the user provides, either torchvision's
port of raft-sintel or the original `raft-sintel.pth` of princeton-vl/RAFT (mapped by
`original_to_torchvision`).

Memory: RAFT's all-pairs correlation at 1/8 resolution holds (H W / 64)^2 float32 values, about
9.3 GB at 2048 x 1504. Building it briefly needs twice that (torchvision scales the product into a
new tensor), then its 4-level pyramid (12.3 GB) is held while one direction is refined. The
directions run one after the other, so none of this is doubled; the pyramid is freed after each.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Mapping
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.models.optical_flow import raft_large

from vfi.models.weights_file import (
    CheckpointError,
    check_keys,
    key_report,
    load_torch_file,
    unwrap_state_dict,
)

# torchvision's port of the original raft-sintel weights (Raft_Large_Weights.C_T_SKHT_V1).
TORCHVISION_RAFT_SINTEL_URL = (
    "https://download.pytorch.org/models/raft_large_C_T_SKHT_V1-0b8c9e55.pth"
)
# The original weights: models.zip of princeton-vl/RAFT (its download_models.sh) holds
# models/raft-sintel.pth; PerVFI's release has them as RAFT/raft-sintel.pth.
ORIGINAL_RAFT_MODELS_URL = "https://www.dropbox.com/s/npt24nvhoojdr0n/models.zip"
PERVFI_CHECKPOINTS_URL = "https://huggingface.co/Mulns/PerVFI-v1-0"

# RAFT works at 1/8 resolution: inputs must be multiples of this.
PAD_MULTIPLE = 8
# Smallest padded side torchvision's RAFT accepts: the coarsest of the 4 correlation levels
# (1/64 of the input) needs 2 cells for its bilinear lookup. The official code has no check
# and returns NaN flows below this size; smaller frames are padded up to it here.
MIN_PADDED_SIDE = 128
# Refinement steps of the official wrapper.
DEFAULT_ITERATIONS = 12

_PREFIX = "module."


# --- weights: key mapping of the original RAFT layout ------------------------------------


def _encoder_modules(original: str, torchvision: str) -> dict[str, str]:
    """Module paths of one BasicEncoder (fnet / cnet) -> torchvision FeatureEncoder paths."""
    table = {
        f"{original}.conv1": f"{torchvision}.convnormrelu.0",
        f"{original}.norm1": f"{torchvision}.convnormrelu.1",
        f"{original}.conv2": f"{torchvision}.conv",
    }
    block_parts = {
        "conv1": "convnormrelu1.0",
        "norm1": "convnormrelu1.1",
        "conv2": "convnormrelu2.0",
        "norm2": "convnormrelu2.1",
        "downsample.0": "downsample.0",
        "downsample.1": "downsample.1",
    }
    for layer in (1, 2, 3):
        for block in (0, 1):
            for part, renamed in block_parts.items():
                table[f"{original}.layer{layer}.{block}.{part}"] = (
                    f"{torchvision}.layer{layer}.{block}.{renamed}"
                )
    return table


def _update_block_modules() -> dict[str, str]:
    """Module paths of the original BasicUpdateBlock -> torchvision's update block and mask head.

    torchvision keeps the upsampling-mask head outside the update block (`mask_predictor`).
    """
    table = {
        "update_block.encoder.convc1": "update_block.motion_encoder.convcorr1.0",
        "update_block.encoder.convc2": "update_block.motion_encoder.convcorr2.0",
        "update_block.encoder.convf1": "update_block.motion_encoder.convflow1.0",
        "update_block.encoder.convf2": "update_block.motion_encoder.convflow2.0",
        "update_block.encoder.conv": "update_block.motion_encoder.conv.0",
        "update_block.flow_head.conv1": "update_block.flow_head.conv1",
        "update_block.flow_head.conv2": "update_block.flow_head.conv2",
        "update_block.mask.0": "mask_predictor.convrelu.0",
        "update_block.mask.2": "mask_predictor.conv",
    }
    # The separable GRU: suffix 1 = horizontal (1x5) pass, 2 = vertical (5x1) pass.
    for gate in ("z", "r", "q"):
        for direction in (1, 2):
            table[f"update_block.gru.conv{gate}{direction}"] = (
                f"update_block.recurrent_block.convgru{direction}.conv{gate}"
            )
    return table


# Original module path -> torchvision module path; parameter/buffer names are unchanged.
ORIGINAL_MODULES: dict[str, str] = {
    **_encoder_modules("fnet", "feature_encoder"),
    **_encoder_modules("cnet", "context_encoder"),
    **_update_block_modules(),
}

# The original residual blocks register their shortcut norm twice (as `norm3` and inside
# `downsample`), so the state dict stores those tensors under both names.
_SHORTCUT_NORM = re.compile(r"^(?P<block>[fc]net\.layer[23]\.0)\.norm3\.(?P<name>\w+)$")


@functools.cache
def _torchvision_shapes() -> dict[str, torch.Size]:
    with torch.device("meta"):
        model = raft_large(weights=None)
    return {name: tensor.shape for name, tensor in model.state_dict().items()}


def torchvision_shapes() -> dict[str, torch.Size]:
    """Key -> shape of torchvision's `raft_large` state dict."""
    return dict(_torchvision_shapes())


def original_to_torchvision(state_dict: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Rename an original princeton-vl/RAFT (large) state dict to torchvision's `raft_large`.

    Accepts keys with or without the `module.` prefix of a DataParallel save. The duplicate
    `norm3` entries of the shortcut norms are checked against their `downsample.1` twins and
    dropped. Raises CheckpointError listing every key without a rule, every torchvision key left
    missing and every shape that differs.
    """
    source = _strip_prefix(state_dict)
    renamed: dict[str, Tensor] = {}
    unmapped: list[str] = []
    for key, value in source.items():
        alias = _SHORTCUT_NORM.match(key)
        if alias is not None:
            twin = f"{alias['block']}.downsample.1.{alias['name']}"
            if twin in source:
                if not torch.equal(source[twin], value):
                    raise CheckpointError(f"{key} differs from {twin}; both name one norm layer")
                continue
            key = twin
        module, _, name = key.rpartition(".")
        if module not in ORIGINAL_MODULES:
            unmapped.append(key)
            continue
        renamed[f"{ORIGINAL_MODULES[module]}.{name}"] = value
    problem = "not a RAFT-large state dict in the original (princeton-vl/RAFT) layout:"
    network = "torchvision's raft_large (renamed)"
    if unmapped:
        raise CheckpointError(
            f"{problem}\n  keys without a mapping ({len(unmapped)}): {', '.join(unmapped[:12])}\n"
            + key_report(renamed, torchvision_shapes(), network)
        )
    check_keys(renamed, torchvision_shapes(), network, problem)
    return renamed


def _strip_prefix(state_dict: Mapping[str, Tensor]) -> dict[str, Tensor]:
    return {key.removeprefix(_PREFIX): value for key, value in state_dict.items()}


def _is_original_layout(state_dict: Mapping[str, Tensor]) -> bool:
    return any(key.startswith(("fnet.", "cnet.", "update_block.encoder.")) for key in state_dict)


# --- weights: loading ----------------------------------------------------------------------


def load_raft(path: str | Path, device: str | torch.device = "cpu") -> nn.Module:
    """torchvision's `raft_large` with the weights of `path`, in eval mode on `device`.

    The file is a state dict in torchvision's layout (e.g. `raft_large_C_T_SKHT_V1-0b8c9e55.pth`,
    torchvision's port of raft-sintel) or in the original layout (`raft-sintel.pth`, keys
    `module.fnet.*`, ...). It is read with `weights_only=True`; nothing is downloaded.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: RAFT weights not found. PerVFI uses RAFT-large with the raft-sintel "
            f"weights; nothing is downloaded at run time. Get either torchvision's port "
            f"({TORCHVISION_RAFT_SINTEL_URL}) or the original raft-sintel.pth (in models.zip "
            f"from princeton-vl/RAFT, {ORIGINAL_RAFT_MODELS_URL}, or RAFT/raft-sintel.pth in "
            f"{PERVFI_CHECKPOINTS_URL}) and pass its path."
        )
    state_dict = unwrap_state_dict(load_torch_file(path), path, "RAFT")
    if _is_original_layout(state_dict):
        try:
            state_dict = original_to_torchvision(state_dict)
        except CheckpointError as err:
            raise CheckpointError(f"{path}: {err}") from err
    else:
        problem = (
            f"{path}: not a RAFT-large state dict (neither torchvision's nor the original layout):"
        )
        check_keys(state_dict, torchvision_shapes(), "torchvision's raft_large", problem)
    model = raft_large(weights=None)
    model.load_state_dict(state_dict, strict=True)
    return model.to(device).eval()


# --- inference -------------------------------------------------------------------------------


def centre_padding(
    height: int, width: int, multiple: int = PAD_MULTIPLE, minimum: int = MIN_PADDED_SIDE
) -> tuple[int, ...]:
    """(left, right, top, bottom) padding to the next multiple, the extra pixel going right/bottom.

    This is the official flow wrapper's centred padding (the PerVFI generator pads right/bottom
    only; the two are independent). Sides below `minimum` are padded up to it the same way:
    the official code returns NaN flows there, RAFT's coarsest level being empty.
    """
    pad_h = max(-height % multiple, minimum - height)
    pad_w = max(-width % multiple, minimum - width)
    return (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2)


def to_raft_input(frame: Tensor, padding: tuple[int, ...]) -> Tensor:
    """A frame in [0, 1] as RAFT sees it: zero-padded (black), then mapped to [-1, 1].

    The wrapper scales to 0..255 and RAFT maps back with 2 (x / 255) - 1. That round trip is
    off by up to 1 ulp from 2x - 1, and 12 refinement steps amplify such differences to ~6e-5
    px, so the same float32 operations are done here: the flows then match bit for bit.
    """
    return 2.0 * (F.pad(frame * 255.0, padding) / 255.0) - 1.0


def _pixel_grid(batch: int, height: int, width: int, device: torch.device) -> Tensor:
    """batch x 2 x height x width pixel coordinates, channel 0 = x (column), float32."""
    ys, xs = torch.meshgrid(
        torch.arange(height, device=device, dtype=torch.float32),
        torch.arange(width, device=device, dtype=torch.float32),
        indexing="ij",
    )
    return torch.stack((xs, ys)).expand(batch, 2, height, width)


def convex_upsample(flow: Tensor, mask: Tensor, factor: int = PAD_MULTIPLE) -> Tensor:
    """Upsample a 1/`factor` flow (N x 2 x h x w, pixels of that level) to full resolution.

    Each full-resolution pixel is a softmax-weighted (convex) mix of the 3x3 coarse neighbours
    of its cell, the flow scaled by `factor` to full-resolution pixels. mask: N x (9 f f) x h x w
    logits, ordered (neighbour, row in cell, column in cell) as RAFT's mask head emits them.
    """
    n, channels, h, w = flow.shape
    weights = torch.softmax(mask.view(n, 1, 9, factor, factor, h, w), dim=2)
    neighbours = F.unfold(factor * flow, kernel_size=3, padding=1)
    neighbours = neighbours.view(n, channels, 9, 1, 1, h, w)
    fine = (weights * neighbours).sum(dim=2)  # n, c, row-in-cell, col-in-cell, h, w
    return fine.permute(0, 1, 4, 2, 5, 3).reshape(n, channels, factor * h, factor * w)


class RaftFlow:
    """Forward and backward flow between two frames with RAFT, as PerVFI's official wrapper.

    model: torchvision `raft_large` (see `load_raft`), in eval mode.
    iterations: refinement steps per direction (the wrapper uses 12).
    mixed_precision: on CUDA, run the encoders and the update block under float16 autocast as
        the official code does (its default there); no effect on CPU.
    """

    def __init__(
        self,
        model: nn.Module,
        iterations: int = DEFAULT_ITERATIONS,
        mixed_precision: bool = False,
    ) -> None:
        if iterations < 1:
            raise ValueError(f"iterations must be >= 1, got {iterations}")
        self.model = model
        self.iterations = iterations
        self.mixed_precision = mixed_precision

    @classmethod
    def from_file(
        cls, path: str | Path, device: str | torch.device = "cpu", **options: object
    ) -> RaftFlow:
        """`RaftFlow` on the weights of `path` (see `load_raft`)."""
        return cls(load_raft(path, device), **options)  # type: ignore[arg-type]

    @torch.no_grad()
    def __call__(self, img0: Tensor, img1: Tensor) -> tuple[Tensor, Tensor]:
        """(flow img0 -> img1, flow img1 -> img0), each N x 2 x H x W in pixels, channel 0 = x.

        img0, img1: frames in [0, 1], N x 3 x H x W, any H and W (sides below 128 are padded to
        128, where the official code gives NaN). Flows are on the model's device, float32, at
        the input size.
        """
        if img0.shape != img1.shape or img0.dim() != 4 or img0.shape[1] != 3:
            raise ValueError(
                f"expected two N x 3 x H x W frames of equal shape, got {tuple(img0.shape)} "
                f"and {tuple(img1.shape)}"
            )
        height, width = img0.shape[-2:]
        padding = centre_padding(height, width)
        device = next(self.model.parameters()).device
        image0, image1 = (
            to_raft_input(img.to(device=device, dtype=torch.float32), padding)
            for img in (img0, img1)
        )
        # A caller's autocast (the generator's precision) does not reach in here: the
        # correlation must stay float32, and the official fp16 regions are `mixed_precision`.
        with torch.autocast(device.type, enabled=False):
            features = self._features(image0, image1)
            fmap0, fmap1 = features.chunk(2, dim=0)
            forward = self._refine(image0, fmap0, fmap1)
            backward = self._refine(image1, fmap1, fmap0)
        left, _, top, _ = padding
        return tuple(  # type: ignore[return-value]
            flow[..., top : top + height, left : left + width] for flow in (forward, backward)
        )

    def _autocast(self, device: torch.device) -> contextlib.AbstractContextManager:
        """The official float16 autocast region, or nothing (CPU, or mixed precision off)."""
        if self.mixed_precision and device.type == "cuda":
            return torch.autocast(device_type="cuda", dtype=torch.float16)
        return contextlib.nullcontext()

    def _features(self, image0: Tensor, image1: Tensor) -> Tensor:
        """Matching features of both frames (2N x 256 x H/8 x W/8), float32.

        One encoder pass serves both directions: the instance norm is per image, so each
        frame's features do not depend on what it is batched with.
        """
        with self._autocast(image0.device):
            features = self.model.feature_encoder(torch.cat([image0, image1], dim=0))
        return features.float()

    def _refine(self, image: Tensor, fmap: Tensor, fmap_other: Tensor) -> Tensor:
        """Flow from `image` (N x 3 x H x W in [-1, 1]) to the other frame, full resolution."""
        raft = self.model
        corr_block = raft.corr_block
        corr_block.build_pyramid(fmap, fmap_other)
        try:
            with self._autocast(image.device):
                context = raft.context_encoder(image)
                hidden_size = raft.update_block.hidden_state_size
                hidden, context = context.split(
                    [hidden_size, context.shape[1] - hidden_size], dim=1
                )
                hidden, context = torch.tanh(hidden), torch.relu(context)
            n, _, h, w = fmap.shape
            origin = _pixel_grid(n, h, w, fmap.device)
            target = origin.clone()
            for _ in range(self.iterations):
                correlation = corr_block.index_pyramid(centroids_coords=target)
                with self._autocast(image.device):
                    hidden, delta = raft.update_block(hidden, context, correlation, target - origin)
                target = target + delta
            # Only the last step's mask is used, so it is computed once, from the last state.
            with self._autocast(image.device):
                mask = raft.mask_predictor(hidden)
            return convex_upsample(target - origin, mask)
        finally:
            # The pyramid (the all-pairs volume) lives on the module: free it at once.
            corr_block.corr_pyramid = []
