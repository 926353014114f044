"""Soft-binary blending of the two time-t feature pyramids (`attentionMerge.*` in the weights).

Per level, a mask in [0, 1) says how much to take from aligned frame 1 instead of splatted
frame 0. It grows out of the hole mask only: the hole-mask convs and the final conv have no
bias, so away from holes (beyond their receptive field) the mask is exactly 0 and frame 0 is
kept as is. The frames' features only scale the mask channels (squeeze-and-excitation).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .alignment import LEVEL_CHANNELS

# Hidden channels of the mask branch and the squeeze-and-excitation reduction.
_CHANNELS = 64
_REDUCTION = 8
# Kernel of the first hole-mask conv in the published generator (the checkpoint has 9 x 9).
DILATE_SIZE = 9


class SoftBinary(nn.Module):
    """Soft mask of one level from its hole mask and both frames' features."""

    def __init__(self, feature_channels: int, dilate_size: int = DILATE_SIZE) -> None:
        super().__init__()
        c = _CHANNELS
        self.conv1 = nn.Sequential(
            nn.Conv2d(1, c, dilate_size, 1, padding="same", bias=False),
            nn.ReLU(),
            nn.Conv2d(c, c, 3, 1, padding="same", bias=False),
            nn.ReLU(),
            nn.Conv2d(c, c, 1, 1, padding="same", bias=False),
        )
        self.att = nn.Conv2d(2 * feature_channels, c, 3, 1, padding="same")
        self.fc = nn.Sequential(
            nn.Linear(c, c // _REDUCTION, bias=False),
            nn.ReLU(),
            nn.Linear(c // _REDUCTION, c, bias=False),
            nn.Sigmoid(),
        )
        self.conv2 = nn.Conv2d(c, 1, 1, 1, padding="same", bias=False)

    def forward(self, hole: Tensor, feat_0: Tensor, feat_1: Tensor) -> Tensor:
        """hole: N x 1 x H x W (1 = hole); features N x C x H x W. Returns N x 1 x H x W in
        [0, 1). No noise at all: the official training-time jitter is never part of inference."""
        spread = self.conv1(hole)
        pooled = self.att(torch.cat([feat_0, feat_1], dim=1)).mean(dim=(2, 3))
        gate = self.fc(pooled)[:, :, None, None]
        return torch.tanh(torch.abs(self.conv2(spread * gate)))


class AttentionMerge(nn.Module):
    """One SoftBinary per pyramid level (keys "0", "1", "2"), blending frame 0 and frame 1."""

    def __init__(self, dilate_size: int = DILATE_SIZE) -> None:
        super().__init__()
        self.softbinary = nn.ModuleDict(
            {f"{i}": SoftBinary(LEVEL_CHANNELS[i], dilate_size) for i in (2, 1, 0)}
        )

    def forward(
        self, feats_0: list[Tensor], feats_1: list[Tensor], holes: list[Tensor]
    ) -> tuple[list[Tensor], list[Tensor]]:
        """Per level (0 = full size): splatted frame-0 features, aligned frame-1 features and
        hole masks. Returns (blended features, soft masks), both ordered by level 0, 1, 2."""
        blended: list[Tensor] = []
        masks: list[Tensor] = []
        for i, (feat_0, feat_1, hole) in enumerate(zip(feats_0, feats_1, holes, strict=True)):
            mask = self.softbinary[f"{i}"](hole, feat_0, feat_1)
            blended.append(feat_0 * (1 - mask) + feat_1 * mask)
            masks.append(mask)
        return blended, masks
