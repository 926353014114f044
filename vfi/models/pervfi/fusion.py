"""PerVFI's multi-scale fusion (`multiscaleFuse`): blended features in, decoder conditions out.

An HRNet-style network. The full-resolution level runs through a bottleneck stem, the network then
grows to two and three parallel resolutions; each coarser level of the blended pyramid joins when
its resolution appears (concatenated with the new branch, then a 3x3 conv). Every stage exchanges
information between the resolutions (nearest upsampling / strided convs, summed). A final
stride-2 conv per branch halves each resolution and restores the input widths, giving the
conditions of the normalizing-flow (or vb) decoder.

Submodule names equal the official ones, so the official `multiscaleFuse.*` state-dict entries
(prefix stripped) load strictly. There is no normalisation layer anywhere (no running stats, no
buffers): eval and train modes compute the same thing. All convolutions but the final ones have
no bias; every activation is a plain ReLU.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# Width of the stems that lift each input level before it joins the network.
_STEM_WIDTH = 64
# Stage 1 (full resolution only): bottleneck blocks of width 64, expanded 4x to 256 channels.
_BOTTLENECK_WIDTH = 64
_BOTTLENECK_EXPANSION = 4
_BOTTLENECK_BLOCKS = 4
# Widths of the parallel branches (full, 1/2, 1/4 resolution) in stages 2 and 3.
_BRANCH_WIDTHS = (32, 64, 96)
# Each stage: this many exchange modules, each with this many residual blocks per branch.
_MODULES_PER_STAGE = 2
_BLOCKS_PER_BRANCH = 2


def _conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """Bias-free 3x3 conv with padding 1 (stride 2 halves H and W, rounding up)."""
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)


def _conv3x3_relu(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    """3x3 conv then ReLU; a Sequential so that the conv's key is `<name>.0.weight`."""
    return nn.Sequential(_conv3x3(in_channels, out_channels, stride), nn.ReLU())


class Bottleneck(nn.Module):
    """Residual 1x1 -> 3x3 -> 1x1 block that widens `width` to `4 * width` channels.

    `downsample` (a bias-free 1x1 conv) projects the shortcut when the input width differs.
    """

    def __init__(self, in_channels: int, width: int) -> None:
        super().__init__()
        out_channels = width * _BOTTLENECK_EXPANSION
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.conv2 = _conv3x3(width, width)
        self.conv3 = nn.Conv2d(width, out_channels, 1, bias=False)
        self.downsample = (
            nn.Conv2d(in_channels, out_channels, 1, bias=False)
            if in_channels != out_channels
            else None
        )

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.conv1(x))
        out = F.relu(self.conv2(out))
        out = self.conv3(out)
        shortcut = x if self.downsample is None else self.downsample(x)
        return F.relu(out + shortcut)


class BasicBlock(nn.Module):
    """Residual pair of 3x3 convs at a constant width (the branches never change width)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = _conv3x3(channels, channels)
        self.conv2 = _conv3x3(channels, channels)

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv2(F.relu(self.conv1(x)))
        return F.relu(out + x)


def _exchange_path(widths: Sequence[int], source: int, target: int) -> nn.Module:
    """Map branch `source` onto branch `target` (branch k has resolution H / 2**k).

    Coarser to finer: 1x1 conv, then nearest upsampling. Finer to coarser: one stride-2 3x3 conv
    per halving; all but the last keep the source width and are followed by a ReLU, the last
    maps to the target width without activation. Same branch: identity.
    """
    if source == target:
        return nn.Identity()
    if source > target:
        return nn.Sequential(
            nn.Conv2d(widths[source], widths[target], 1, bias=False),
            nn.Upsample(scale_factor=2 ** (source - target), mode="nearest"),
        )
    halvings: list[nn.Module] = [
        _conv3x3_relu(widths[source], widths[source], stride=2) for _ in range(target - source - 1)
    ]
    halvings.append(_conv3x3(widths[source], widths[target], stride=2))
    return nn.Sequential(*halvings)


class HighResolutionModule(nn.Module):
    """Residual blocks on every branch, then every branch receives the sum of all branches.

    Input and output: a list of tensors, branch k of `widths[k]` channels at H / 2**k.
    """

    def __init__(self, widths: Sequence[int]) -> None:
        super().__init__()
        self.branches = nn.ModuleList(
            nn.Sequential(*(BasicBlock(width) for _ in range(_BLOCKS_PER_BRANCH)))
            for width in widths
        )
        # fuse_layers[target][source]; the diagonal is an identity (no parameters, no keys).
        self.fuse_layers = nn.ModuleList(
            nn.ModuleList(_exchange_path(widths, source, target) for source in range(len(widths)))
            for target in range(len(widths))
        )

    def forward(self, xs: list[Tensor]) -> list[Tensor]:
        xs = [branch(x) for branch, x in zip(self.branches, xs, strict=True)]
        fused = []
        for paths in self.fuse_layers:
            # Summed in branch order, as the official code does (same rounding).
            total = paths[0](xs[0])
            for path, x in zip(paths[1:], xs[1:], strict=True):
                total = total + path(x)
            fused.append(F.relu(total))
        return fused


def _stage(widths: Sequence[int]) -> nn.Sequential:
    """`_MODULES_PER_STAGE` exchange modules in a row (a Sequential passes the branch list on)."""
    return nn.Sequential(*(HighResolutionModule(widths) for _ in range(_MODULES_PER_STAGE)))


class MultiscaleFuse(nn.Module):
    """Fuse the three blended feature levels into the decoder conditions.

    in_channels: widths of the input levels, fine to coarse; the outputs have the same widths.
    """

    def __init__(self, in_channels: Sequence[int] = (35, 64, 96)) -> None:
        super().__init__()
        stage2_widths = _BRANCH_WIDTHS[:2]
        stage3_widths = _BRANCH_WIDTHS
        stage1_width = _BOTTLENECK_WIDTH * _BOTTLENECK_EXPANSION

        self.stems = nn.ModuleList(_conv3x3_relu(c, _STEM_WIDTH) for c in in_channels)
        self.layer1 = nn.Sequential(
            Bottleneck(_STEM_WIDTH, _BOTTLENECK_WIDTH),
            *(Bottleneck(stage1_width, _BOTTLENECK_WIDTH) for _ in range(_BOTTLENECK_BLOCKS - 1)),
        )
        # Stage 1 -> 2: narrow the full-resolution map, and derive the 1/2 branch by a stride-2
        # conv (nested Sequential: the official key is `transition1.1.0.0.weight`).
        self.transition1 = nn.ModuleList(
            [
                _conv3x3_relu(stage1_width, stage2_widths[0]),
                nn.Sequential(_conv3x3_relu(stage1_width, stage2_widths[1], stride=2)),
            ]
        )
        # The 1/2 input level joins the new branch: cat(stem, branch) -> branch width.
        self.extra1 = _conv3x3_relu(_STEM_WIDTH + stage2_widths[1], stage2_widths[1])
        self.stage2 = _stage(stage2_widths)
        # Stage 2 -> 3: existing branches pass through; the 1/4 branch comes from the 1/2 one.
        self.transition2 = nn.ModuleList(
            [
                nn.Identity(),
                nn.Identity(),
                nn.Sequential(_conv3x3_relu(stage2_widths[1], stage3_widths[2], stride=2)),
            ]
        )
        self.extra2 = _conv3x3_relu(_STEM_WIDTH + stage3_widths[2], stage3_widths[2])
        self.stage3 = _stage(stage3_widths)
        # Halve every resolution and return to the input widths (these convs have a bias).
        self.final_layers = nn.ModuleList(
            nn.Conv2d(width, c, 3, stride=2, padding=1)
            for width, c in zip(stage3_widths, in_channels, strict=True)
        )

    def forward(self, features: Sequence[Tensor]) -> list[Tensor]:
        """Blended features, fine to coarse -> decoder conditions, fine to coarse.

        features: B x 35 x H x W, B x 64 x H/2 x W/2, B x 96 x H/4 x W/4 (H, W multiples of 8).
        Returns B x 35 x H/2 x W/2, B x 64 x H/4 x W/4, B x 96 x H/8 x W/8.
        """
        full, half, quarter = (stem(f) for stem, f in zip(self.stems, features, strict=True))

        x = self.layer1(full)
        branches = [transition(x) for transition in self.transition1]
        branches[1] = self.extra1(torch.cat([half, branches[1]], dim=1))
        branches = self.stage2(branches)

        # The new 1/4 branch is derived from the coarsest stage-2 branch.
        branches = [
            self.transition2[0](branches[0]),
            self.transition2[1](branches[1]),
            self.transition2[2](branches[1]),
        ]
        branches[2] = self.extra2(torch.cat([quarter, branches[2]], dim=1))
        branches = self.stage3(branches)

        return [final(b) for final, b in zip(self.final_layers, branches, strict=True)]
