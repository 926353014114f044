"""The CNN decoder of the fast PerVFI variant `vb` (attribute `generator` of the model).

It replaces v00's normalizing flow by a deterministic coarse-to-fine decoder, so it takes no
noise. Parameter names equal the official ones so that the 14 `generator.*` entries of
`PerVFI/vb.pth` load strictly (prefix stripped).

Shapes for a frame of H x W (multiples of 8): conds as for v00, level 0 N x 35 x H/2 x W/2,
level 1 N x 64 x H/4 x W/4, level 2 N x 96 x H/8 x W/8; output N x 3 x H x W.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .normalizing_flow import COND_CHANNELS


class ResidualConvBlock(nn.Module):
    """conv3x3 -> PReLU -> conv3x3 (no biases) plus a bias-free 1x1 projection shortcut.

    Every block of this decoder changes the channel count, so the shortcut always exists.
    """

    def __init__(self, in_channels: int, hidden: int, out_channels: int) -> None:
        super().__init__()
        self.netMain = nn.Sequential(
            nn.Conv2d(in_channels, hidden, 3, 1, 1, bias=False),
            nn.PReLU(hidden, init=0.25),
            nn.Conv2d(hidden, out_channels, 3, 1, 1, bias=False),
        )
        self.netShortcut = nn.Conv2d(in_channels, out_channels, 1, 1, 0, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.netMain(x) + self.netShortcut(x)


def _upsample(x: Tensor) -> Tensor:
    # The official decoder uses nn.UpsamplingBilinear2d, i.e. align_corners=True.
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)


class CNNDecoder(nn.Module):
    """Fuses the three condition levels coarse to fine and maps them to a frame."""

    def __init__(self, cond_channels: tuple[int, int, int] = COND_CHANNELS) -> None:
        super().__init__()
        c0, c1, c2 = cond_channels
        self.conv3 = ResidualConvBlock(c2, 128, c1)
        self.conv2 = ResidualConvBlock(2 * c1, 256, c0)
        self.conv1 = ResidualConvBlock(2 * c0, 96, 128)
        # 128 channels at H/2 become 32 at H after the depth-to-space step.
        self.tail = nn.Conv2d(128 // 4, 3, 3, 1, padding=1)

    def decode(self, conds: list[Tensor]) -> Tensor:
        """Frame N x 3 x H x W in [0, 1] (not clamped) from the conds of levels 0, 1, 2.

        The network works in the model's [-1, 1] image range; `(y + 1) / 2` maps it back.
        """
        level0, level1, level2 = conds
        x = _upsample(self.conv3(level2))
        x = _upsample(self.conv2(torch.cat([x, level1], dim=1)))
        x = self.conv1(torch.cat([x, level0], dim=1))
        y = self.tail(F.pixel_shuffle(x, 2))
        return (y + 1) / 2
