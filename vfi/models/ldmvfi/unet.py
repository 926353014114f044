"""The LDMVFI denoising U-Net (ADM / latent-diffusion "openaimodel" layout with MaxViT attention).

It predicts the noise eps in the latent x_t given the conditioning latents of the two neighbour
frames, concatenated along channels by the caller. Child names follow the official checkpoint
(`time_embed`, `input_blocks`, `middle_block`, `output_blocks`, `out`, and inside ResBlocks
`in_layers`, `emb_layers`, `out_layers`, `skip_connection`) so `model.diffusion_model.*` weights
load by name once that prefix is stripped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .maxvit import MaxAttentionBlock
from .precision import FP32GroupNorm

# GroupNorm in the U-Net: 32 groups, eps 1e-5 (the autoencoder uses 1e-6; do not share).
NORM_GROUPS = 32
NORM_EPS = 1e-5


class GroupNorm32(FP32GroupNorm):
    """The U-Net's GroupNorm: 32 groups, eps 1e-5, in float32 (as the official U-Net does)."""

    def __init__(self, channels: int) -> None:
        super().__init__(NORM_GROUPS, channels, eps=NORM_EPS)


def timestep_embedding(t: Tensor, dim: int, max_period: float = 10000.0) -> Tensor:
    """Sinusoidal embedding of integer DDPM steps: B -> B x dim, laid out [cos(t f), sin(t f)].

    f_i = exp(-ln(max_period) * i / half), i = 0..half-1 (cos first, as in the checkpoint's
    training code; swapping the halves silently breaks the pretrained weights).
    """
    half = dim // 2
    freqs = torch.exp(
        -math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half
    )
    args = t[:, None].float() * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=-1)
    return emb


class ResBlock(nn.Module):
    """Residual block conditioned on the time embedding: B x C_in x H x W -> B x C_out x H x W.

    in: GroupNorm -> SiLU -> conv3x3; + Linear(SiLU(emb)) per channel; out: GroupNorm -> SiLU ->
    dropout -> conv3x3; skip is identity or a 1x1 conv when the channel count changes.
    """

    def __init__(self, channels: int, emb_channels: int, out_channels: int, dropout: float) -> None:
        super().__init__()
        self.in_layers = nn.Sequential(
            GroupNorm32(channels), nn.SiLU(), nn.Conv2d(channels, out_channels, 3, padding=1)
        )
        self.emb_layers = nn.Sequential(nn.SiLU(), nn.Linear(emb_channels, out_channels))
        self.out_layers = nn.Sequential(
            GroupNorm32(out_channels),
            nn.SiLU(),
            nn.Dropout(dropout),
            nn.Conv2d(out_channels, out_channels, 3, padding=1),
        )
        self.skip_connection = (
            nn.Identity() if channels == out_channels else nn.Conv2d(channels, out_channels, 1)
        )

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:
        h = self.in_layers(x)
        h = h + self.emb_layers(emb).to(h.dtype)[:, :, None, None]
        return self.skip_connection(x) + self.out_layers(h)


class Downsample(nn.Module):
    """Halve H and W with a 3x3 conv, stride 2, padding 1 (H, W even)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.op = nn.Conv2d(channels, channels, 3, stride=2, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.op(x)


class Upsample(nn.Module):
    """Double H and W: nearest-neighbour x2, then a 3x3 conv."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))


class TimestepSequential(nn.Sequential):
    """Sequential that hands the time embedding to the ResBlocks and not to other layers."""

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:  # type: ignore[override]
        for layer in self:
            x = layer(x, emb) if isinstance(layer, ResBlock) else layer(x)
        return x


class UNetModel(nn.Module):
    """Noise predictor: x = cat([x_t, c]) B x in_channels x h x w, t int64 B -> eps B x 3 x h x w.

    h and w must be divisible by 2^(len(channel_mult) - 1) * window (8 for the published config:
    two downsamplings, then 2 x 2 MaxViT windows). `attention_resolutions` lists the downsampling
    rates (1, 2, 4, ...) whose ResBlocks are followed by a `MaxAttentionBlock`; the middle block
    always has one. Arguments of the official config this model does not use go to `ignored`.
    """

    def __init__(
        self,
        image_size: int,
        in_channels: int,
        out_channels: int,
        model_channels: int,
        attention_resolutions: Sequence[int],
        num_res_blocks: int,
        channel_mult: Sequence[int] = (1, 2, 4),
        num_head_channels: int = 32,
        use_max_self_attn: bool = True,
        dropout: float = 0.0,
        **ignored: object,
    ) -> None:
        super().__init__()
        if not use_max_self_attn:
            raise NotImplementedError("only the MaxViT attention variant of LDMVFI is supported")
        self.model_channels = model_channels
        # The official code derives the MaxViT window from the latent size in the config.
        window = min(image_size // 4, 8)
        emb_ch = 4 * model_channels

        def attention(ch: int) -> MaxAttentionBlock:
            return MaxAttentionBlock(ch, ch // num_head_channels, num_head_channels, window)

        self.time_embed = nn.Sequential(
            nn.Linear(model_channels, emb_ch), nn.SiLU(), nn.Linear(emb_ch, emb_ch)
        )

        self.input_blocks = nn.ModuleList(
            [TimestepSequential(nn.Conv2d(in_channels, model_channels, 3, padding=1))]
        )
        skip_chans = [model_channels]
        ch, ds = model_channels, 1
        for level, mult in enumerate(channel_mult):
            for _ in range(num_res_blocks):
                layers: list[nn.Module] = [ResBlock(ch, emb_ch, mult * model_channels, dropout)]
                ch = mult * model_channels
                if ds in attention_resolutions:
                    layers.append(attention(ch))
                self.input_blocks.append(TimestepSequential(*layers))
                skip_chans.append(ch)
            if level != len(channel_mult) - 1:
                self.input_blocks.append(TimestepSequential(Downsample(ch)))
                skip_chans.append(ch)
                ds *= 2

        self.middle_block = TimestepSequential(
            ResBlock(ch, emb_ch, ch, dropout), attention(ch), ResBlock(ch, emb_ch, ch, dropout)
        )

        self.output_blocks = nn.ModuleList()
        for level, mult in reversed(list(enumerate(channel_mult))):
            for i in range(num_res_blocks + 1):
                skip = skip_chans.pop()
                layers = [ResBlock(ch + skip, emb_ch, mult * model_channels, dropout)]
                ch = mult * model_channels
                if ds in attention_resolutions:
                    layers.append(attention(ch))
                if level and i == num_res_blocks:
                    layers.append(Upsample(ch))
                    ds //= 2
                self.output_blocks.append(TimestepSequential(*layers))

        self.out = nn.Sequential(
            GroupNorm32(ch), nn.SiLU(), nn.Conv2d(model_channels, out_channels, 3, padding=1)
        )

    def forward(self, x: Tensor, t: Tensor) -> Tensor:
        emb = self.time_embed(timestep_embedding(t, self.model_channels).to(x.dtype))
        skips = []
        h = x
        for block in self.input_blocks:
            h = block(h, emb)
            skips.append(h)
        h = self.middle_block(h, emb)
        for block in self.output_blocks:
            h = block(torch.cat([h, skips.pop()], dim=1), emb)
        return self.out(h)
