"""Deformable alignment of frame-1 features to time t (the "asymmetric" half of PerVFI).

Frame 1 is not splatted: its features are resampled by modulated deformable convolutions whose
offsets are predicted, coarse to fine, from both frames' features, the hole mask of the splatted
frame 0 and the flow t -> 1. Names follow the official state dict (`deformableAlign.*`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.ops import DeformConv2d

# Feature channels of pyramid levels 0, 1, 2 (full, 1/2, 1/4 size).
LEVEL_CHANNELS = (35, 64, 96)
# Offset groups of the deformable conv per level: 35 channels split in 7 groups, 64 / 96 in 8.
_OFFSET_GROUPS = (7, 8, 8)
_KERNEL = 3


class DCNPack(nn.Module):
    """A 3x3 modulated deformable conv whose offsets and mask come from guiding features.

    `conv_offset` predicts 3 equal chunks: x/y offsets (the first two, concatenated, in
    torchvision's layout) and the modulation mask (sigmoid of the third).
    """

    def __init__(self, channels: int, groups: int, kernel: int = _KERNEL) -> None:
        super().__init__()
        self.conv_offset = nn.Conv2d(channels, groups * 3 * kernel * kernel, 3, 1, 1)
        self.dconv = DeformConv2d(channels, channels, kernel, padding=kernel // 2)

    def forward(self, x: Tensor, guide: Tensor) -> Tensor:
        first, second, mask = torch.chunk(self.conv_offset(guide), 3, dim=1)
        # The sampling runs in float32 under any autocast: offsets of tens of pixels lose
        # sub-pixel precision in bf16, and torchvision's CPU kernel has no bf16 version.
        with torch.autocast(x.device.type, enabled=False):
            # torchvision infers the offset groups from the offset's channels (2 * groups * 9).
            # Non-finite offsets (an overflow upstream, which the caller redoes in float32)
            # would make the kernel read outside the frame: they are zeroed first.
            offset = torch.nan_to_num(torch.cat([first, second], dim=1).float(), 0, 0, 0)
            return self.dconv(x.float(), offset, torch.sigmoid(mask.float()))


def _conv(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, 1, 1)


def _upsample(x: Tensor) -> Tensor:
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


def _lrelu(x: Tensor) -> Tensor:
    return F.leaky_relu(x, 0.1)


class DeformableAlign(nn.Module):
    """Aligns frame-1 features to time t, level 2 first; each finer level reuses the coarser
    level's offset features (x2: they are pixel offsets), aligned and merged features."""

    def __init__(self) -> None:
        super().__init__()
        self.offset_conv1 = nn.ModuleDict()
        self.offset_conv2 = nn.ModuleDict()
        self.offset_conv3 = nn.ModuleDict()
        self.deform_conv = nn.ModuleDict()
        self.feat_conv = nn.ModuleDict()
        self.merge_conv1 = nn.ModuleDict()
        self.merge_conv2 = nn.ModuleDict()
        coarsest = len(LEVEL_CHANNELS) - 1
        for i in range(coarsest, -1, -1):
            level = f"l{i}"
            c = LEVEL_CHANNELS[i]
            # Guide: features at t (splatted frame 0), frame-1 features, hole mask, flow t -> 1.
            self.offset_conv1[level] = _conv(2 * c + 3, c)
            if i == coarsest:
                self.offset_conv2[level] = _conv(c, c)
            else:
                coarser = LEVEL_CHANNELS[i + 1]
                self.offset_conv2[level] = _conv(c + coarser, c)
                self.offset_conv3[level] = _conv(c, c)
                self.feat_conv[level] = _conv(c + coarser, c)
                self.merge_conv2[level] = _conv(c + coarser, c)
            self.deform_conv[level] = DCNPack(c, _OFFSET_GROUPS[i])
            self.merge_conv1[level] = _conv(2 * c + 1, c)

    def forward(
        self,
        feats_t: list[Tensor],
        feats_1: list[Tensor],
        holes: list[Tensor],
        flows_t1: list[Tensor],
    ) -> list[Tensor]:
        """Per level (0 = full size): splatted frame-0 features at t, frame-1 features, hole
        masks (N x 1, 1 = hole) and the flow t -> 1 already resized to the level (pixels of that
        level). Returns the aligned frame-1 features of levels 0, 1, 2."""
        coarsest = len(LEVEL_CHANNELS) - 1
        outs: dict[int, Tensor] = {}
        up_offset = up_aligned = up_merged = None
        for i in range(coarsest, -1, -1):
            level = f"l{i}"
            guide = torch.cat([feats_t[i], feats_1[i], holes[i], flows_t1[i]], dim=1)
            offset = _lrelu(self.offset_conv1[level](guide))
            if i == coarsest:
                offset = _lrelu(self.offset_conv2[level](offset))
            else:
                offset = _lrelu(self.offset_conv2[level](torch.cat([offset, up_offset], dim=1)))
                offset = _lrelu(self.offset_conv3[level](offset))
            aligned = self.deform_conv[level](feats_1[i], offset)
            if i < coarsest:
                aligned = self.feat_conv[level](torch.cat([aligned, up_aligned], dim=1))
            merged = self.merge_conv1[level](torch.cat([feats_t[i], aligned, holes[i]], dim=1))
            if i < coarsest:
                merged = self.merge_conv2[level](torch.cat([merged, up_merged], dim=1))
            outs[i] = merged
            if i > 0:
                up_offset = _upsample(offset) * 2
                up_aligned = _upsample(_lrelu(aligned))
                up_merged = _upsample(merged)
        return [outs[i] for i in range(len(LEVEL_CHANNELS))]
