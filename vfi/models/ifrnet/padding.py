"""Padding frames to a size IFRNet accepts, as the maintainer's `InputPadder` does.

The network needs H and W to be multiples of 16 (four stride-2 levels). Other sizes do not fail,
they come back geometrically stretched, so frames are padded outside the network: replicated
borders, centred, an odd remainder going to the right / bottom. The padded pixels count in the
network's normalising mean, exactly as in the official benchmarks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import torch.nn.functional as F
from torch import Tensor

# Total stride of the encoder: the network size must be a multiple of it.
NETWORK_MULTIPLE = 16
# scale_factor must be this close to a fraction with a small denominator.
_SCALE_TOLERANCE = 1e-9
_MAX_DENOMINATOR = 1000


@dataclass(frozen=True)
class InputPadder:
    """Centred replicate padding of H x W frames to multiples of `divisor`."""

    height: int
    width: int
    divisor: int = NETWORK_MULTIPLE

    def __post_init__(self) -> None:
        if self.height < 1 or self.width < 1 or self.divisor < 1:
            raise ValueError(
                f"frame size and divisor must be positive (got {self.height} x {self.width}, "
                f"divisor {self.divisor})"
            )

    @property
    def pads(self) -> tuple[int, int, int, int]:
        """(left, right, top, bottom), as the official `F.pad` list."""
        # Official: pad = (((size // d) + 1) * d - size) % d, which equals (-size) % d.
        pad_h, pad_w = (-self.height) % self.divisor, (-self.width) % self.divisor
        return pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2

    @property
    def padded_size(self) -> tuple[int, int]:
        left, right, top, bottom = self.pads
        return self.height + top + bottom, self.width + left + right

    def pad(self, frames: Tensor) -> Tensor:
        """B x C x H x W -> B x C x padded H x padded W (replicated borders)."""
        if tuple(frames.shape[-2:]) != (self.height, self.width):
            raise ValueError(
                f"padder made for {self.height} x {self.width} frames, got "
                f"{frames.shape[-2]} x {frames.shape[-1]}"
            )
        if not any(self.pads):
            return frames
        return F.pad(frames, list(self.pads), mode="replicate")

    def unpad(self, frames: Tensor) -> Tensor:
        """Crop padded frames back to H x W (a view)."""
        left, _, top, _ = self.pads
        return frames[..., top : top + self.height, left : left + self.width]


def divisor_for_scale(scale_factor: float) -> int:
    """Smallest padding divisor d such that d * scale_factor is a multiple of 16.

    Then the frames the network sees (padded size * scale_factor) are multiples of 16: d = 16
    at scale 1, d = 20 at 0.8 (the official SNU-FILM setting), d = 32 at 0.5. scale_factor
    must be a fraction p / q with q <= 1000.
    """
    if not (scale_factor > 0 and math.isfinite(scale_factor)):
        raise ValueError(f"scale_factor must be a positive number (got {scale_factor})")
    fraction = Fraction(scale_factor).limit_denominator(_MAX_DENOMINATOR)
    if abs(float(fraction) - scale_factor) > _SCALE_TOLERANCE:
        raise ValueError(
            f"scale_factor {scale_factor} is not a simple fraction (p / q with q <= "
            f"{_MAX_DENOMINATOR}); no padding makes the resized frames multiples of 16"
        )
    # d * p / q = 16 k  <=>  d a multiple of 16 q / gcd(16 q, p).
    base = NETWORK_MULTIPLE * fraction.denominator
    return base // math.gcd(base, fraction.numerator)


def padder_for(height: int, width: int, scale_factor: float = 1.0) -> InputPadder:
    """The padder for H x W frames run at `scale_factor`, checked to give an exact round trip.

    The network then sees floor(padded * s) pixels, multiples of 16, and the official resize
    back by 1 / s returns floor(floor(padded * s) / s) = padded pixels; a scale for which
    double rounding breaks this is refused.
    """
    padder = InputPadder(height, width, divisor_for_scale(scale_factor))
    for size in padder.padded_size:
        inner = math.floor(size * scale_factor)
        back = math.floor(inner * (1.0 / scale_factor))
        if inner % NETWORK_MULTIPLE or back != size:
            raise ValueError(
                f"scale_factor {scale_factor} does not work for padded size {size}: the network "
                f"would see {inner} pixels and return {back}; use another scale_factor"
            )
    return padder
