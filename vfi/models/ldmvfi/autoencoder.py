"""VQ-FIGAN, LDMVFI's first stage: frame encoder, vector quantiser and flow-style decoder.

The encoder maps a (padded) frame to a 3-channel latent at 1/32 resolution and also returns its
five intermediate feature maps `phi`. The decoder turns a latent back into the middle frame: it
upsamples with MaxViT cross-attention to the neighbours' `phi` features and then predicts, per
output pixel, deformable separable kernels that resample both neighbour frames (DSepConv), plus a
blending mask and a residual.

Child names follow the official checkpoint (`first_stage_model.*` minus that prefix), so weights
load by name. Numerics that matter for matching the official outputs:

* GroupNorm: 32 groups, eps 1e-6 (not the U-Net's 1e-5); swish written as `x * sigmoid(x)`.
* BatchNorm (decoder MBConv) must run in eval mode, i.e. with the stored running statistics.
* The quantiser computes distances in float32 as |z|^2 + |e|^2 - 2 z.e and takes the first argmin.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .dsepconv import KERNEL_SIZE, dsepconv
from .maxvit import MaxAttentionBlock
from .precision import FP32GroupNorm, float32_region

# Window size of every MaxViT block in the first stage (mid attention and cross-attention).
WINDOW_SIZE = 8
# Channels per head of the decoder cross-attention (heads = dim / 32).
CROSS_ATTN_DIM_HEAD = 32
# Autoencoder GroupNorm: 32 groups, eps 1e-6 (taming-transformers convention).
GROUP_NORM_GROUPS = 32
GROUP_NORM_EPS = 1e-6


def group_norm(channels: int) -> nn.GroupNorm:
    return FP32GroupNorm(GROUP_NORM_GROUPS, channels, eps=GROUP_NORM_EPS, affine=True)


def swish(x: Tensor) -> Tensor:
    """x * sigmoid(x), as written in the official code (fused SiLU may differ in the last bit)."""
    return x * torch.sigmoid(x)


# --------------------------------------------------------------------------------------------
# Convolutional building blocks


class ResnetBlock(nn.Module):
    """norm -> swish -> conv3x3, twice, plus a skip (1x1 `nin_shortcut` if channels change)."""

    def __init__(self, in_channels: int, out_channels: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.norm1 = group_norm(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.norm2 = group_norm(out_channels)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        if in_channels != out_channels:
            self.nin_shortcut = nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv1(swish(self.norm1(x)))
        h = self.conv2(self.dropout(swish(self.norm2(h))))
        skip = self.nin_shortcut(x) if hasattr(self, "nin_shortcut") else x
        return skip + h


def resnet_stack(in_channels: int, out_channels: int, num: int, dropout: float) -> nn.ModuleList:
    """`num` ResnetBlocks; the first changes the width from in_channels to out_channels."""
    return nn.ModuleList(
        ResnetBlock(in_channels if i == 0 else out_channels, out_channels, dropout)
        for i in range(num)
    )


class Downsample(nn.Module):
    """Halve H and W: zero-pad one row/column at the bottom/right, then a stride-2 conv3x3."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=0)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class Upsample(nn.Module):
    """Double H and W: nearest-neighbour x2, then conv3x3."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class MidBlock(nn.Module):
    """ResnetBlock -> single-head MaxViT self-attention (dim_head = channels) -> ResnetBlock."""

    def __init__(self, channels: int, dropout: float) -> None:
        super().__init__()
        self.block_1 = ResnetBlock(channels, channels, dropout)
        self.attn_1 = MaxAttentionBlock(channels, 1, channels, WINDOW_SIZE)
        self.block_2 = ResnetBlock(channels, channels, dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.block_2(self.attn_1(self.block_1(x)))


# --------------------------------------------------------------------------------------------
# Encoder


class EncoderLevel(nn.Module):
    """ResnetBlocks then a Downsample; the Downsample output is this level's feature `phi`."""

    def __init__(self, in_channels: int, out_channels: int, num_blocks: int, dropout: float):
        super().__init__()
        self.block = resnet_stack(in_channels, out_channels, num_blocks, dropout)
        self.downsample = Downsample(out_channels)

    def forward(self, x: Tensor) -> Tensor:
        for block in self.block:
            x = block(x)
        return self.downsample(x)


class Encoder(nn.Module):
    """B x 3 x H x W frame -> (B x z x H/32 x W/32 latent, five features phi[i] at H/2^(i+1)).

    With ch_mult of length 5 there is a Downsample at every level, hence total stride 32.
    """

    def __init__(
        self,
        ch: int,
        ch_mult: Sequence[int],
        num_res_blocks: int,
        in_channels: int,
        z_channels: int,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        widths = [ch * m for m in ch_mult]
        self.conv_in = nn.Conv2d(in_channels, ch, 3, padding=1)
        self.down = nn.ModuleList(
            EncoderLevel(c_in, c_out, num_res_blocks, dropout)
            for c_in, c_out in zip([ch, *widths[:-1]], widths, strict=True)
        )
        self.mid = MidBlock(widths[-1], dropout)
        self.norm_out = group_norm(widths[-1])
        self.conv_out = nn.Conv2d(widths[-1], z_channels, 3, padding=1)

    def forward(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        h = self.conv_in(x)
        phi = []
        for level in self.down:
            h = level(h)
            phi.append(h)
        h = self.conv_out(swish(self.norm_out(self.mid(h))))
        return h, phi


# --------------------------------------------------------------------------------------------
# Vector quantiser


class VectorQuantizer(nn.Module):
    """Nearest-codebook-row quantisation (taming `VectorQuantizer2`, legacy, no index remap)."""

    def __init__(self, n_embed: int, embed_dim: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(n_embed, embed_dim)

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """B x C x h x w -> (quantised B x C x h x w, int64 indices B x h x w)."""
        b, c, h, w = z.shape
        z = z.float()
        flat = z.permute(0, 2, 3, 1).reshape(-1, c)
        codebook = self.embedding.weight.float()
        # Expanded squared distance in float32 (autocast off), in the official order; argmin
        # takes the first minimum. Rounding here (~1e-2 at |z| ~ 150) can only flip near-ties.
        with float32_region(z):
            dist = (
                flat.pow(2).sum(dim=1, keepdim=True)
                + codebook.pow(2).sum(dim=1)
                - 2 * (flat @ codebook.t())
            )
        indices = dist.argmin(dim=1)
        quantised = self.embedding(indices).float().view(b, h, w, c).permute(0, 3, 1, 2)
        # Straight-through form z + (e - z), as returned by the official quantiser.
        quantised = z + (quantised - z)
        return quantised, indices.view(b, h, w)


# --------------------------------------------------------------------------------------------
# Decoder cross-attention (MaxViT with an MBConv projection of the neighbour features)


class SpatialMean(nn.Module):
    """B x C x H x W -> B x C, the squeeze of squeeze-excitation."""

    def forward(self, x: Tensor) -> Tensor:
        return x.mean(dim=(2, 3))


class SqueezeExcitation(nn.Module):
    """Channel gating x * sigmoid(MLP(mean(x))), hidden width = channels / 4, bias-free."""

    def __init__(self, channels: int, shrinkage: float = 0.25) -> None:
        super().__init__()
        hidden = int(channels * shrinkage)
        self.gate = nn.Sequential(
            SpatialMean(),
            nn.Linear(channels, hidden, bias=False),
            nn.SiLU(),
            nn.Linear(hidden, channels, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x * self.gate(x)[:, :, None, None]


def mbconv(in_channels: int, out_channels: int, expansion: int = 4) -> nn.Sequential:
    """MaxViT MBConv without residual (in != out): expand 1x1, depthwise 3x3, SE, project 1x1.

    BatchNorm eps is the PyTorch default 1e-5; it uses running statistics in eval mode.
    """
    hidden = out_channels * expansion
    return nn.Sequential(
        nn.Conv2d(in_channels, hidden, 1),
        nn.BatchNorm2d(hidden),
        nn.GELU(),
        nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden),
        nn.BatchNorm2d(hidden),
        nn.GELU(),
        SqueezeExcitation(hidden),
        nn.Conv2d(hidden, out_channels, 1),
        nn.BatchNorm2d(out_channels),
    )


class SpatialCrossAttentionWithMax(MaxAttentionBlock):
    """MaxViT block whose attention takes keys/values from the neighbours' encoder features.

    context = MBConv(cat(phi_prev, phi_next)) (2d -> d channels), then block/grid cross-attention
    with queries from x. `out_conv` only exists so the official checkpoint loads; the official
    forward returns before using it.
    """

    def __init__(self, dim: int) -> None:
        super().__init__(dim, dim // CROSS_ATTN_DIM_HEAD, CROSS_ATTN_DIM_HEAD, WINDOW_SIZE)
        self.proj_in = mbconv(2 * dim, dim)
        self.out_conv = nn.Sequential(
            SqueezeExcitation(2 * dim), nn.Conv2d(2 * dim, dim, 3, padding=1)
        )
        # List `proj_in` first, as the official module does, so state_dict() keys keep its order.
        self._modules = {"proj_in": self._modules.pop("proj_in"), **self._modules}

    def forward(  # type: ignore[override]  # takes two feature maps instead of one context
        self, x: Tensor, phi_prev: Tensor, phi_next: Tensor
    ) -> Tensor:
        """x: B x d x h x w; phi_prev, phi_next: B x d x h x w features of the neighbours."""
        context = self.proj_in(torch.cat([phi_prev, phi_next], dim=1))
        return super().forward(x, context)


class DecoderLevel(nn.Module):
    """ResnetBlocks, cross-attention to this level's phi, then Upsample (at every level)."""

    def __init__(self, in_channels: int, out_channels: int, num_blocks: int, dropout: float):
        super().__init__()
        self.block = resnet_stack(in_channels, out_channels, num_blocks, dropout)
        self.cross_attn = SpatialCrossAttentionWithMax(out_channels)
        self.upsample = Upsample(out_channels)

    def forward(self, x: Tensor, phi_prev: Tensor, phi_next: Tensor) -> Tensor:
        for block in self.block:
            x = block(x)
        return self.upsample(self.cross_attn(x, phi_prev, phi_next))


# --------------------------------------------------------------------------------------------
# Decoder: synthesis heads and DSepConv


def synthesis_head(in_channels: int, out_channels: int, sigmoid: bool = False) -> nn.Sequential:
    """conv3x3(c->64), ReLU, conv3x3(64->32), ReLU, conv3x3(32->n), ReLU, conv3x3(n->n)[, sigmoid].

    The widths 64 and 32 are fixed in the official code (they do not scale with `ch`).
    """
    layers: list[nn.Module] = [
        nn.Conv2d(in_channels, 64, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(64, 32, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(32, out_channels, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, 3, padding=1),
    ]
    if sigmoid:
        layers.append(nn.Sigmoid())
    return nn.Sequential(*layers)


class Decoder(nn.Module):
    """Latent B x z x h x w + neighbour frames/features -> middle frame B x 3 x 32h x 32w.

    `up` is indexed by level (`up.0` is the highest resolution) and run from the last level down.
    """

    def __init__(
        self,
        ch: int,
        ch_mult: Sequence[int],
        num_res_blocks: int,
        z_channels: int,
        out_ch: int = 3,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        widths = [ch * m for m in ch_mult]
        self.conv_in = nn.Conv2d(z_channels, widths[-1], 3, padding=1)
        self.mid = MidBlock(widths[-1], dropout)
        inputs = [*widths[1:], widths[-1]]  # level i receives the output of level i + 1
        self.up = nn.ModuleList(
            DecoderLevel(c_in, c_out, num_res_blocks, dropout)
            for c_in, c_out in zip(inputs, widths, strict=True)
        )
        self.norm_out = group_norm(widths[0])
        self.conv_out = nn.Conv2d(widths[0], widths[0], 3, padding=1)
        taps = KERNEL_SIZE**2
        # Registration order = official state_dict order.
        self.moduleAlpha1 = synthesis_head(widths[0], taps)
        self.moduleAlpha2 = synthesis_head(widths[0], taps)
        self.moduleBeta1 = synthesis_head(widths[0], taps)
        self.moduleBeta2 = synthesis_head(widths[0], taps)
        self.moduleKernelHorizontal1 = synthesis_head(widths[0], KERNEL_SIZE)
        self.moduleKernelHorizontal2 = synthesis_head(widths[0], KERNEL_SIZE)
        self.moduleKernelVertical1 = synthesis_head(widths[0], KERNEL_SIZE)
        self.moduleKernelVertical2 = synthesis_head(widths[0], KERNEL_SIZE)
        self.moduleMask = synthesis_head(widths[0], taps, sigmoid=True)
        self.moduleResidual = synthesis_head(widths[0], out_ch)

    def forward(
        self,
        z: Tensor,
        prev_frame: Tensor,
        next_frame: Tensor,
        phi_prev: Sequence[Tensor],
        phi_next: Sequence[Tensor],
    ) -> Tensor:
        """z: B x z x h x w (after post_quant_conv); frames: B x 3 x 32h x 32w, padded."""
        h = self.mid(self.conv_in(z))
        for i in reversed(range(len(self.up))):
            h = self.up[i](h, phi_prev[i], phi_next[i])
        features = self.conv_out(swish(self.norm_out(h)))
        return self.synthesize(features, prev_frame, next_frame)

    def synthesize(self, features: Tensor, prev_frame: Tensor, next_frame: Tensor) -> Tensor:
        """Blend both DSepConv-resampled neighbours with the mask and add the residual.

        Alpha (passed as offset_x) is the vertical, Beta (offset_y) the horizontal displacement;
        frames are replication-padded by 2 so the 5 x 5 kernels stay at the output size.
        """
        mask = self.moduleMask(features)
        warped_prev = dsepconv(
            F.pad(prev_frame, (2, 2, 2, 2), mode="replicate"),
            self.moduleKernelVertical1(features),
            self.moduleKernelHorizontal1(features),
            self.moduleAlpha1(features),
            self.moduleBeta1(features),
            mask,
        )
        warped_next = dsepconv(
            F.pad(next_frame, (2, 2, 2, 2), mode="replicate"),
            self.moduleKernelVertical2(features),
            self.moduleKernelHorizontal2(features),
            self.moduleAlpha2(features),
            self.moduleBeta2(features),
            1.0 - mask,
        )
        return warped_prev + warped_next + self.moduleResidual(features)


# --------------------------------------------------------------------------------------------
# The first stage as a whole


class VQFlowAutoencoder(nn.Module):
    """LDMVFI first stage (official `VQFlowNetInterface` minus its padding state and loss).

    Frames must already be reflection-padded to a multiple of 32 (the caller owns padding and
    cropping). Call `.eval()` before use: the decoder's BatchNorms need their running statistics.
    """

    def __init__(self, embed_dim: int, n_embed: int, ddconfig: dict[str, Any]) -> None:
        super().__init__()
        _check_supported(ddconfig)
        common = {
            "ch": ddconfig["ch"],
            "ch_mult": tuple(ddconfig["ch_mult"]),
            "num_res_blocks": ddconfig["num_res_blocks"],
            "dropout": ddconfig.get("dropout", 0.0),
        }
        z_channels = ddconfig["z_channels"]
        self.encoder = Encoder(in_channels=ddconfig["in_channels"], z_channels=z_channels, **common)
        self.decoder = Decoder(z_channels=z_channels, out_ch=ddconfig["out_ch"], **common)
        self.quantize = VectorQuantizer(n_embed, embed_dim)
        self.quant_conv = nn.Conv2d(z_channels, embed_dim, 1)
        self.post_quant_conv = nn.Conv2d(embed_dim, z_channels, 1)

    def encode(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        """B x 3 x Hp x Wp in [-1, 1] -> (latent B x 3 x Hp/32 x Wp/32, not quantised; phi list)."""
        h, phi = self.encoder(x)
        return self.quant_conv(h), phi

    def quantize_latent(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """B x 3 x h x w -> (quantised latent B x 3 x h x w, int64 codebook indices B x h x w)."""
        return self.quantize(z)

    def decode(
        self,
        z: Tensor,
        prev: Tensor,
        next: Tensor,
        phi_prev: Sequence[Tensor],
        phi_next: Sequence[Tensor],
    ) -> Tensor:
        """Latent B x 3 x h x w -> frame B x 3 x 32h x 32w (not clamped, not cropped).

        prev/next: the padded neighbour frames B x 3 x 32h x 32w; phi_*: their `encode` features.
        """
        quantised, _ = self.quantize_latent(z)
        return self.decoder(self.post_quant_conv(quantised), prev, next, phi_prev, phi_next)


def _check_supported(ddconfig: dict[str, Any]) -> None:
    """Reject configs outside the published LDMVFI variant instead of silently mis-building."""
    expected = {
        "double_z": False,
        "attn_resolutions": [],
        "attn_type": "max",
        "cond_type": "max_cross_attn",
    }
    for key, value in expected.items():
        given = ddconfig.get(key, value)
        if (list(given) if isinstance(given, (list, tuple)) else given) != value:
            raise NotImplementedError(f"ddconfig {key}={given!r} is not supported (only {value!r})")
    if len(ddconfig["ch_mult"]) != 5:
        raise NotImplementedError("the decoder's phi features assume five levels (total stride 32)")
