"""The conditional normalizing-flow decoder of PerVFI v00 (attribute `condFLownet` of the model).

A Glow-like flow over the target frame, conditioned on the fused multi-scale features: three
blocks (level 0 = the frame at half resolution after a space-to-depth squeeze, 1 = quarter,
2 = eighth), each with K = 16 flow steps (ActNorm, invertible 1x1 conv, conditional affine
coupling). Only the reverse (sampling) direction is implemented: inference turns Gaussian noise
into a frame. Module and parameter names equal the official ones so that the `condFLownet.*`
entries of `PerVFI/v00.pth` load strictly (prefix stripped); the structure mirrors the official
one only where those keys force it.

Shapes for a frame of H x W (multiples of 8), N = batch:

* conds: level 0 N x 35 x H/2 x W/2, level 1 N x 64 x H/4 x W/4, level 2 N x 96 x H/8 x W/8.
* noise (already multiplied by the heat): level 0 N x 6 x H/2 x W/2, level 1 N x 12 x H/4 x W/4,
  level 2 N x 48 x H/8 x W/8 (`noise_shapes`).
* output: N x 3 x H x W in [0, 1] up to the decoder's overshoot (the caller clamps).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# Fused-feature channels of levels 0, 1, 2 (the v00 checkpoint's).
COND_CHANNELS = (35, 64, 96)
# Flow steps per block in v00.
STEPS = 16
# Hidden width of every coupling network.
_COUPLING_WIDTH = 64
# Spatial factor of one squeeze (space-to-depth) between blocks.
_SQUEEZE = 2


class ActNorm(nn.Module):
    """Per-channel affine normalisation; decoding applies its inverse `x * exp(-logs) - loc`.

    `initialized` is kept only because checkpoints carry it: the official layer re-initialises
    `loc`/`logs` from the first batch it sees when it is 0, which at inference would replace the
    trained values by statistics of one input. Loading such a state dict is therefore an error.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.loc = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.logs = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.register_buffer("initialized", torch.tensor(0, dtype=torch.uint8))

    def _load_from_state_dict(
        self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
    ) -> None:
        flag = state_dict.get(prefix + "initialized")
        if flag is not None and int(flag) == 0:
            # Collected like a shape mismatch: load_state_dict raises with every message at once.
            error_msgs.append(
                f"{prefix}initialized is 0: this ActNorm was never initialised from data, so the "
                "state dict is not a trained PerVFI decoder (the official code would overwrite "
                "loc/logs with statistics of the first input)"
            )
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )

    def reverse(self, x: Tensor) -> Tensor:
        return x * torch.exp(-self.logs) - self.loc


class InvConv2d(nn.Module):
    """Invertible 1x1 convolution (channel mixing by a square matrix, `weight` C x C x 1 x 1).

    Without autograd the inverse is cached: a decode inverts 51 matrices (about 7 ms on one
    CPU thread, and on a GPU 51 tiny kernels), while the weights never change at inference.
    The cache is dropped when the module is converted (`.to`, `.half`, ...) or loaded, and
    ignored when the weight's version counter shows an in-place change.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.eye(channels)[:, :, None, None])
        self._cached_inverse: tuple[int, Tensor] | None = None

    def _apply(self, fn, recurse: bool = True):
        self._cached_inverse = None
        return super()._apply(fn, recurse)

    def _load_from_state_dict(self, *args, **kwargs) -> None:
        self._cached_inverse = None
        super()._load_from_state_dict(*args, **kwargs)

    def _invert(self) -> Tensor:
        # Inverted in float64 and rounded once, so a trained (possibly ill-conditioned) matrix
        # is inverted as exactly as its stored values allow. `inv_ex` skips the error check,
        # which would synchronise a GPU; the trained matrices are invertible by construction.
        inverse, _ = torch.linalg.inv_ex(self.weight[:, :, 0, 0].double())
        return inverse.to(self.weight.dtype)[:, :, None, None]

    def inverse_weight(self) -> Tensor:
        """The inverse matrix as a 1x1 conv weight, in the weight's dtype."""
        if torch.is_grad_enabled():
            return self._invert()
        version = self.weight._version
        if self._cached_inverse is None or self._cached_inverse[0] != version:
            self._cached_inverse = (version, self._invert())
        return self._cached_inverse[1]

    def reverse(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.inverse_weight())


class ZeroConv2d(nn.Module):
    """3x3 conv (padding 1) whose output is scaled per channel by `exp(3 * scale)`.

    Trained from zero weights, hence the name; the learnt log-scale lets it grow quickly.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.scale = nn.Parameter(torch.zeros(1, out_channels, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x) * torch.exp(self.scale * 3)

    def output_on_zeros(self) -> Tensor:
        """What `forward` gives for an all-zero input: the scaled bias, 1 x C_out x 1 x 1.

        Exactly equal to running the conv on zeros (every product is 0, only the bias is
        added), without the convolution.
        """
        return self.conv.bias[None, :, None, None] * torch.exp(self.scale * 3)


class CouplingNet(nn.Module):
    """Predicts the coupling's shift and raw log-scale from the fixed half and the condition."""

    def __init__(self, in_channels: int, cond_channels: int, out_channels: int) -> None:
        super().__init__()
        # Index layout (0 conv, 2 conv, 4 ZeroConv2d) is the official key layout `tail.{0,2,4}`.
        self.tail = nn.Sequential(
            nn.Conv2d(in_channels + cond_channels, _COUPLING_WIDTH, 3, 1, 1),
            nn.ReLU(),
            nn.Conv2d(_COUPLING_WIDTH, _COUPLING_WIDTH, 1, 1, 0),
            nn.ReLU(),
            ZeroConv2d(_COUPLING_WIDTH, out_channels),
        )

    def forward(self, fixed: Tensor, cond: Tensor) -> Tensor:
        return self.tail(torch.cat([fixed, cond], dim=1))


class AffineCoupling(nn.Module):
    """Conditional affine coupling: the first half of the channels is transformed, the second
    half (with the condition) parametrises the transform.

    The log-scale is bounded as `scale * tanh(raw) + scale_shift` with two learnt scalars.
    """

    def __init__(self, channels: int, cond_channels: int) -> None:
        super().__init__()
        self.affine = CouplingNet(channels // 2, cond_channels, channels)
        self.scale = nn.Parameter(torch.zeros(1))
        self.scale_shift = nn.Parameter(torch.zeros(1))

    def reverse(self, x: Tensor, cond: Tensor) -> Tensor:
        moved, fixed = x.chunk(2, dim=1)
        shift, raw = self.affine(fixed, cond).chunk(2, dim=1)
        log_scale = self.scale * torch.tanh(raw) + self.scale_shift
        moved = (moved - shift) * torch.exp(-log_scale)
        return torch.cat([moved, fixed], dim=1)


class FlowStep(nn.Module):
    """One step; encoding runs actnorm -> invconv -> coupling, decoding the inverse order."""

    def __init__(self, channels: int, cond_channels: int) -> None:
        super().__init__()
        self.actnorm = ActNorm(channels)
        self.invconv = InvConv2d(channels)
        self.coupling = AffineCoupling(channels, cond_channels)

    def reverse(self, x: Tensor, cond: Tensor) -> Tensor:
        x = self.coupling.reverse(x, cond)
        x = self.invconv.reverse(x)
        return self.actnorm.reverse(x)


class FlowBlock(nn.Module):
    """One scale: K flow steps on the squeezed tensor plus a block-level invconv and ActNorm.

    `in_channels` counts the channels before the squeeze (3 at level 0, 6 at 1, 12 at 2).
    A split block (levels 0, 1) gets half of its squeezed channels from the coarser block and
    draws the other half from a Gaussian whose mean / log-std a `prior` conv predicts from that
    half. The top block (level 2, no split) draws all of them from a Gaussian whose parameters
    come from the prior applied to zeros, i.e. a learnt constant per channel.
    """

    def __init__(self, in_channels: int, cond_channels: int, split: bool, steps: int) -> None:
        super().__init__()
        channels = in_channels * _SQUEEZE**2
        self.split = split
        self.actnorm = ActNorm(channels)
        self.invconv = InvConv2d(channels)
        self.flows = nn.ModuleList([FlowStep(channels, cond_channels) for _ in range(steps)])
        # The prior outputs mean and log-std for the sampled channels (half of them if split).
        sampled = channels // 2 if split else channels
        self.prior = ZeroConv2d(channels - sampled if split else channels, 2 * sampled)

    def sample(self, coarser: Tensor | None, noise: Tensor) -> Tensor:
        """The squeezed latent: noise scaled by the prior, joined to `coarser` if split."""
        if self.split:
            if coarser is None:
                raise ValueError("a split flow block needs the coarser block's output")
            mean, log_sd = self.prior(coarser).chunk(2, dim=1)
            return torch.cat([coarser, mean + torch.exp(log_sd) * noise], dim=1)
        mean, log_sd = self.prior.output_on_zeros().chunk(2, dim=1)
        return mean + torch.exp(log_sd) * noise

    def reverse(self, coarser: Tensor | None, cond: Tensor, noise: Tensor) -> Tensor:
        """Decode one scale; returns the un-squeezed result (C/4 channels, 2x the size)."""
        x = self.sample(coarser, noise)
        for step in reversed(self.flows):
            x = step.reverse(x, cond)
        x = self.invconv.reverse(x)
        x = self.actnorm.reverse(x)
        # The official squeeze is exactly pixel_unshuffle, so its inverse is pixel_shuffle.
        return F.pixel_shuffle(x, _SQUEEZE)


class ConditionalFlowDecoder(nn.Module):
    """Turns noise and the fused conditions into a frame (the `condFLownet` of PerVFI v00).

    The default arguments reproduce the checkpoint's 645 `condFLownet.*` entries.
    """

    def __init__(
        self, cond_channels: tuple[int, int, int] = COND_CHANNELS, steps: int = STEPS
    ) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            [
                FlowBlock(3, cond_channels[0], split=True, steps=steps),
                FlowBlock(6, cond_channels[1], split=True, steps=steps),
                FlowBlock(12, cond_channels[2], split=False, steps=steps),
            ]
        )

    def decode(
        self, conds: list[Tensor], noise: list[Tensor], record: dict[str, Tensor] | None = None
    ) -> Tensor:
        """Frame N x 3 x H x W in [0, 1] (not clamped) from conds and noise of levels 0, 1, 2.

        The flow works in the model's [-1, 1] image range; its result is mapped back with
        `(y + 1) / 2`. With `record`, stores each block's output (`flow/block{2,1,0}_out`,
        blocks run coarse to fine), in [-1, 1].
        """
        if len(conds) != len(self.blocks) or len(noise) != len(self.blocks):
            raise ValueError(f"expected {len(self.blocks)} conds and noise tensors")
        x: Tensor | None = None
        for level in reversed(range(len(self.blocks))):
            x = self.blocks[level].reverse(x, conds[level], noise[level])
            if record is not None:
                record[f"flow/block{level}_out"] = x
        return (x + 1) / 2


def noise_shapes(height: int, width: int) -> list[tuple[int, int, int]]:
    """C x h x w of the noise of levels 0, 1, 2 for a frame of `height` x `width`."""
    if height % 8 or width % 8:
        raise ValueError(f"PerVFI needs a frame size divisible by 8, got {height}x{width}")
    # Levels 0 and 1 sample half of their squeezed channels (4 * 3 / 2, 4 * 6 / 2), level 2 all
    # of its 4 * 12.
    return [
        (6, height // 2, width // 2),
        (12, height // 4, width // 4),
        (48, height // 8, width // 8),
    ]


def draw_noise(
    batch: int,
    height: int,
    width: int,
    heat: float,
    *,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> list[Tensor]:
    """Standard normal noise times `heat` for every level, drawn level 0 first.

    Drawing order and shapes are the official ones, so the same seed gives the same noise.
    """
    return [
        torch.randn(batch, *shape, generator=generator, device=device, dtype=dtype) * heat
        for shape in noise_shapes(height, width)
    ]
