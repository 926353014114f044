"""PerVFI for inference: frames of any size in, the frame at time t out.

The network holds the official modules under their official names, so the published state
dicts load strictly. `synthesize` is the official generator given flows and noise;
`interpolate` is the official wrapper: zero-pad right and bottom to a multiple of 8, RAFT flows
both ways, noise drawn at `heat` (here from one seed per frame), generate, clamp, crop.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vfi.models.times import pair_times
from vfi.models.weights_file import CheckpointError

from .alignment import DeformableAlign
from .blending import AttentionMerge
from .checkpoint import VARIANTS, read_weights
from .conditioning import compute_conditions
from .features import FeaturePyramid
from .fusion import MultiscaleFuse
from .normalizing_flow import ConditionalFlowDecoder, draw_noise
from .raft import DEFAULT_ITERATIONS, RaftFlow
from .vb_decoder import CNNDecoder

log = logging.getLogger(__name__)

# The decoders squeeze the frame three times by 2: sides must be multiples of this.
SIZE_MULTIPLE = 8
# The noise scale the official wrapper uses.
DEFAULT_HEAT = 0.3


class PerVFI(nn.Module):
    """The PerVFI generator, v00 (normalizing-flow decoder) or vb (CNN decoder).

    Stateless between calls. A flow estimator (`flow_estimator`, not part of the state dict)
    is needed by `interpolate` only; `from_checkpoint` attaches RAFT when given its weights.
    """

    def __init__(self, variant: str = "v00") -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"PerVFI variant must be one of {VARIANTS}, got {variant!r}")
        self.variant = variant
        self.featurePyramid = FeaturePyramid()
        self.deformableAlign = DeformableAlign()
        self.attentionMerge = AttentionMerge()
        self.multiscaleFuse = MultiscaleFuse()
        if variant == "v00":
            self.condFLownet = ConditionalFlowDecoder()
        else:
            self.generator = CNNDecoder()
        self.flow_estimator: RaftFlow | None = None

    @classmethod
    def from_checkpoint(
        cls,
        path: str | Path,
        device: str | torch.device = "cpu",
        flow_weights: str | Path | None = None,
        raft_iterations: int = DEFAULT_ITERATIONS,
    ) -> PerVFI:
        """Load an official `PerVFI/v00.pth` or `vb.pth` (variant told by the file), and RAFT
        from `flow_weights` if given. Returns the model in eval mode, float32, on `device`.
        Raises `CheckpointError` with a readable message."""
        variant, state_dict = read_weights(path)
        model = cls.from_state_dict(state_dict, variant, device, source=str(path))
        if flow_weights is not None:
            model.flow_estimator = RaftFlow.from_file(
                flow_weights, device=device, iterations=raft_iterations
            )
        return model

    @classmethod
    def from_state_dict(
        cls,
        state_dict: dict[str, Tensor],
        variant: str,
        device: str | torch.device = "cpu",
        source: str = "state dict",
    ) -> PerVFI:
        """Build from official-format weights (copied to float32; integer buffers kept)."""
        with torch.device("meta"):
            model = cls(variant)
        weights = {
            k: v.to(device=device, dtype=torch.float32 if v.is_floating_point() else v.dtype)
            for k, v in state_dict.items()
        }
        try:
            model.load_state_dict(weights, strict=True, assign=True)
        except RuntimeError as err:
            raise CheckpointError(f"{source}: {err}") from err
        return model.eval()

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @torch.inference_mode()
    def synthesize(
        self,
        prev: Tensor,
        next: Tensor,
        t: float | Sequence[float] | Tensor,
        flow_forward: Tensor,
        flow_backward: Tensor,
        noise: Sequence[Tensor] | None,
        record: dict[str, Tensor] | None = None,
    ) -> Tensor:
        """The official generator: the frame at t from frames and flows given.

        prev, next: N x 3 x H x W in [0, 1]; they are zero-padded right and bottom to a multiple
        of 8 (the official wrapper's padding) and the result is cropped back. flow_forward
        (prev -> next), flow_backward (next -> prev): N x 2 x h x w in pixels, channel 0 = x, at
        the frames' size (zero-padded like them) or at the padded size. t: one time or one per
        pair. noise: v00's three noise tensors, already times heat, of the padded size's shapes
        (`normalizing_flow.noise_shapes`); None for vb. record: intermediates by golden name.
        Returns N x 3 x H x W float32 in [0, 1] on the inputs' device.
        """
        if prev.shape != next.shape or prev.dim() != 4 or prev.shape[1] != 3:
            raise ValueError(
                f"prev and next must both be N x 3 x H x W (got {list(prev.shape)} and "
                f"{list(next.shape)})"
            )
        if (noise is None) != (self.variant == "vb"):
            raise ValueError(
                "PerVFI v00 needs its three noise tensors"
                if noise is None
                else "PerVFI vb draws no noise: pass noise=None"
            )
        batch, _, height, width = prev.shape
        padding = _padding(height, width)
        device = self.device
        img0, img1 = (F.pad(x.to(device, torch.float32), padding) for x in (prev, next))
        flows = [
            _pad_flow(f.to(device, torch.float32), padding, img0.shape[-2:])
            for f in (flow_forward, flow_backward)
        ]
        times = pair_times(t, batch).to(device)
        conds = compute_conditions(self, img0, img1, *flows, times, record=record)
        if torch.is_autocast_enabled(device.type) and not all(c.isfinite().all() for c in conds):
            # float16 can overflow where float32 does not: such a batch is made again in float32.
            log.warning("PerVFI's front end overflowed under autocast; recomputing it in float32")
            with torch.autocast(device.type, enabled=False):
                conds = compute_conditions(self, img0, img1, *flows, times, record=record)
        # The decoders stay float32: the normalizing flow inverts matrices and exponentiates.
        conds = [c.float() for c in conds]
        with torch.autocast(device.type, enabled=False):
            if self.variant == "v00":
                raw = self.condFLownet.decode(conds, [z.to(device, torch.float32) for z in noise])
            else:
                raw = self.generator.decode(conds)
        if record is not None:
            record["pred_raw"] = raw
        out = raw.float().clamp(0, 1)[..., :height, :width]
        return out.to(prev.device).contiguous()

    @torch.inference_mode()
    def interpolate(
        self,
        prev: Tensor,
        next: Tensor,
        t: float | Sequence[float] | Tensor,
        seeds: Sequence[int],
        heat: float = DEFAULT_HEAT,
    ) -> Tensor:
        """The frames at time t, flows by the attached estimator, noise from one seed per pair.

        prev, next: N x 3 x H x W in [0, 1], any H and W. Pair i's noise is drawn on the CPU
        from a generator seeded with seeds[i] (so the result does not depend on the device or on
        its batch-mates), in the official order, times `heat`. Returns N x 3 x H x W in [0, 1].
        """
        if self.flow_estimator is None:
            raise RuntimeError(
                "PerVFI.interpolate needs a flow estimator: load with "
                "PerVFI.from_checkpoint(..., flow_weights=<RAFT weights>)"
            )
        batch, _, height, width = prev.shape
        if len(seeds) != batch:
            raise ValueError(f"need one seed per pair: {len(seeds)} seeds for {batch} pairs")
        padding = _padding(height, width)
        img0, img1 = (F.pad(x.to(self.device, torch.float32), padding) for x in (prev, next))
        flow_forward, flow_backward = self.flow_estimator(img0, img1)
        noise = None
        if self.variant == "v00":
            noise = seeded_noise(seeds, *img0.shape[-2:], heat)
        out = self.synthesize(img0, img1, t, flow_forward, flow_backward, noise)
        return out[..., :height, :width].to(prev.device).contiguous()


def seeded_noise(seeds: Sequence[int], height: int, width: int, heat: float) -> list[Tensor]:
    """v00's noise for a batch: sample i from a CPU generator seeded with seeds[i]."""
    per_sample = [
        draw_noise(1, height, width, heat, generator=torch.Generator().manual_seed(int(seed)))
        for seed in seeds
    ]
    return [torch.cat(level) for level in zip(*per_sample, strict=True)]


def _padding(height: int, width: int) -> tuple[int, int, int, int]:
    """F.pad amounts (left, right, top, bottom): zeros right and bottom to a multiple of 8."""
    return (0, -width % SIZE_MULTIPLE, 0, -height % SIZE_MULTIPLE)


def _pad_flow(flow: Tensor, padding: tuple[int, int, int, int], size: torch.Size) -> Tensor:
    """A flow at the padded size: given so, or zero-padded like the frames."""
    if flow.shape[-2:] == size:
        return flow
    padded = F.pad(flow, padding)
    if padded.shape[-2:] != size:
        raise ValueError(
            f"flows must be of the frames' size or of the padded size {list(size)}, got "
            f"{list(flow.shape[-2:])}"
        )
    return padded
