"""PerVFI's feature pyramid: a 3-level encoder and the Softmetric that rates splatting sources.

Attribute names follow the official state dict (`featurePyramid.netEncode.*`,
`featurePyramid.netSoftmetric.*`); the Softmetric's U-Net blocks are registered under the
official names, which contain spaces ("0x0 - 0x1": row 0, column 0 to row 0, column 1).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# Channels of the encoder's 32-channel branch at levels 0, 1, 2 (level 0 also carries the image).
ENCODER_CHANNELS = (32, 64, 96)
# Channels of the Softmetric U-Net rows 0..3 (row r works at 1 / 2**r of the frame size).
_SOFTMETRIC_ROWS = (16, 32, 64, 96)


def _conv3x3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride, 1, bias=False)


def _encoder_stage(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        _conv3x3(cin, cout, stride), nn.PReLU(cout), _conv3x3(cout, cout), nn.PReLU(cout)
    )


class Encoder(nn.Module):
    """Three levels of features of one frame (in [-1, 1], N x 3 x H x W).

    Level 0 is `cat(frame, 32 features)` (35 channels, full size); levels 1 and 2 (64 and 96
    channels at 1/2 and 1/4) continue from the 32-channel branch, not from the 35 channels.
    """

    def __init__(self) -> None:
        super().__init__()
        c0, c1, c2 = ENCODER_CHANNELS
        self.netOne = _encoder_stage(3, c0, 1)
        self.netTwo = _encoder_stage(c0, c1, 2)
        self.netThr = _encoder_stage(c1, c2, 2)

    def forward(self, frame: Tensor) -> list[Tensor]:
        level0 = self.netOne(frame)
        level1 = self.netTwo(level0)
        level2 = self.netThr(level1)
        return [torch.cat([frame, level0], dim=1), level1, level2]


class _Residual(nn.Module):
    """Two 3x3 convs with PReLUs (before each conv, or only between them) plus a shortcut.

    The shortcut is the identity when the widths agree, else a bias-free 1x1 conv.
    """

    def __init__(self, channels: tuple[int, int, int], pre_activation: bool) -> None:
        super().__init__()
        cin, mid, cout = channels
        layers: list[nn.Module] = [nn.PReLU(cin)] if pre_activation else []
        layers += [_conv3x3(cin, mid), nn.PReLU(mid), _conv3x3(mid, cout)]
        self.netMain = nn.Sequential(*layers)
        self.netShortcut = None if cin == cout else nn.Conv2d(cin, cout, 1, 1, 0, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        shortcut = x if self.netShortcut is None else self.netShortcut(x)
        return self.netMain(x) + shortcut


class _Down(nn.Module):
    """Halve the size: PReLU, strided 3x3 conv, PReLU, 3x3 conv (no shortcut)."""

    def __init__(self, channels: tuple[int, int, int]) -> None:
        super().__init__()
        cin, mid, cout = channels
        self.netMain = nn.Sequential(
            nn.PReLU(cin), _conv3x3(cin, mid, 2), nn.PReLU(mid), _conv3x3(mid, cout)
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.netMain(x)


class _Up(nn.Module):
    """Double the size (bilinear, align_corners=False), then PReLU, conv, PReLU, conv."""

    def __init__(self, channels: tuple[int, int, int]) -> None:
        super().__init__()
        cin, mid, cout = channels
        # Index 0 holds the parameter-free upsampling so the conv keys are netMain.1..4.
        self.netMain = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
            nn.PReLU(cin),
            _conv3x3(cin, mid),
            nn.PReLU(mid),
            _conv3x3(mid, cout),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.netMain(x)


def backwarp(image: Tensor, flow: Tensor) -> Tensor:
    """Sample `image` (N x C x H x W) at pixel + flow (N x 2 x H x W, pixels; x then y).

    Bilinear, zeros outside, align_corners=True on a linspace(-1, 1) grid as the official
    code does (same operations, hence the same rounding).
    """
    n, _, h, w = flow.shape
    xs = torch.linspace(-1.0, 1.0, w, device=flow.device, dtype=flow.dtype).view(1, 1, 1, w)
    ys = torch.linspace(-1.0, 1.0, h, device=flow.device, dtype=flow.dtype).view(1, 1, h, 1)
    grid = torch.cat([xs.expand(n, 1, h, w), ys.expand(n, 1, h, w)], dim=1)
    half_w = (image.shape[3] - 1.0) / 2.0
    half_h = (image.shape[2] - 1.0) / 2.0
    offset = torch.cat([flow[:, 0:1] / half_w, flow[:, 1:2] / half_h], dim=1)
    return F.grid_sample(
        image,
        (grid + offset).permute(0, 2, 3, 1),
        mode="bilinear",
        padding_mode="zeros",
        align_corners=True,
    )


def _fit(x: Tensor, like: Tensor) -> Tensor:
    """Crop the bottom row / right column an upsampling added to an odd-sized level."""
    return x[..., : like.shape[2], : like.shape[3]]


class Softmetric(nn.Module):
    """How reliable each pixel of a frame is as a splatting source (N x 1 x H x W, unbounded).

    Inputs: level-0 features of the source frame and of the other frame (35 channels, the first
    3 being the image in [-1, 1]) and the flow source -> other in pixels. The other frame's
    features are backward-warped to the source; their channel-mean L1 error and the source image
    feed a 4-row U-Net (down column 0, up column 1).
    """

    def __init__(self) -> None:
        super().__init__()
        self.netInput = _conv3x3(3, 12)
        self.netError = _conv3x3(1, 4)
        rows = _SOFTMETRIC_ROWS
        for row, width in enumerate(rows):
            self.add_module(f"{row}x0 - {row}x1", _Residual((width, width, width), True))
        for row in range(len(rows) - 1):
            self.add_module(
                f"{row}x0 - {row + 1}x0", _Down((rows[row], rows[row + 1], rows[row + 1]))
            )
        for row in range(len(rows) - 1, 0, -1):
            self.add_module(
                f"{row}x1 - {row - 1}x1", _Up((rows[row], rows[row - 1], rows[row - 1]))
            )
        self.netOutput = _Residual((rows[0], rows[0], 1), False)

    def forward(self, source: Tensor, other: Tensor, flow: Tensor) -> Tensor:
        error = F.l1_loss(source, backwarp(other, flow), reduction="none").mean(1, keepdim=True)
        column = [torch.cat([self.netInput(source[:, 0:3]), self.netError(error)], dim=1)]
        for row in range(len(_SOFTMETRIC_ROWS) - 1):
            column.append(self._modules[f"{row}x0 - {row + 1}x0"](column[-1]))
        # Up the second column from the coarsest row: lateral block, plus the row below upsampled.
        last = len(column) - 1
        out = self._modules[f"{last}x0 - {last}x1"](column[last])
        for row in range(last - 1, -1, -1):
            up = self._modules[f"{row + 1}x1 - {row}x1"](out)
            lateral = self._modules[f"{row}x0 - {row}x1"](column[row])
            out = lateral + _fit(up, lateral)
        return self.netOutput(out)


class FeaturePyramid(nn.Module):
    """Holds the encoder and the Softmetric under their official names."""

    def __init__(self) -> None:
        super().__init__()
        self.netEncode = Encoder()
        self.netSoftmetric = Softmetric()

    def forward(self, frame: Tensor) -> list[Tensor]:
        """Features of a frame in [-1, 1] (N x 3 x H x W): [35 @ H, 64 @ H/2, 96 @ H/4]."""
        return self.netEncode(frame)

    def metric(self, source: list[Tensor], other: list[Tensor], flow: Tensor) -> Tensor:
        """Softmetric of `source` against `other` (encoder pyramids) for flow source -> other."""
        return self.netSoftmetric(source[0], other[0], flow)
