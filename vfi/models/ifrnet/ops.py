"""The two resampling operations of IFRNet, written to match the official ones bit for bit.

Both are precision-sensitive geometry: `warp` always samples in float32 (a bfloat16 sampling
grid is off by whole pixels on large frames) and returns the dtype of the image it warps.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def resize(x: Tensor, scale_factor: float) -> Tensor:
    """Bilinear resize by `scale_factor` (align_corners=False), as the official `resize`.

    The scale factor itself is passed to `F.interpolate` (not an output size): the output size
    is floor(size * scale) in double precision and the factor also sets the sampling positions.
    """
    return F.interpolate(x, scale_factor=scale_factor, mode="bilinear", align_corners=False)


def warp(img: Tensor, flow: Tensor) -> Tensor:
    """Backward-warp `img` (B x C x h x w) by `flow` (B x 2 x H x W, pixels, x then y).

    The result has the flow's size H x W, not the image's: the official code resamples the image
    onto a [-1, 1] grid of the flow's size (`linspace`, then flow / ((size - 1) / 2)), with
    `align_corners=True` and border padding. Keeping exactly these operations (rather than a
    pixel-coordinate grid) keeps results bit-identical to the official code.
    """
    batch, _, height, width = flow.shape
    flow = flow.float()
    xx = torch.linspace(-1.0, 1.0, width, device=flow.device).view(1, 1, 1, width)
    yy = torch.linspace(-1.0, 1.0, height, device=flow.device).view(1, 1, height, 1)
    grid = torch.cat([xx.expand(batch, -1, height, -1), yy.expand(batch, -1, -1, width)], dim=1)
    offset = torch.cat(
        [flow[:, 0:1] / ((width - 1.0) / 2.0), flow[:, 1:2] / ((height - 1.0) / 2.0)], dim=1
    )
    grid = (grid + offset).permute(0, 2, 3, 1)
    out = F.grid_sample(
        img.float(), grid, mode="bilinear", padding_mode="border", align_corners=True
    )
    return out.to(img.dtype)
