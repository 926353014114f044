"""MaxViT attention blocks (Tu et al. 2022) as used by LDMVFI's U-Net and autoencoder.

A `MaxAttentionBlock` mixes information locally (attention inside non-overlapping w x w windows,
"block" partition) and globally (attention among w x w pixels spaced H/w apart, "grid"
partition), each followed by a feed-forward layer. Every sub-block is `x + fn(LayerNorm(x))`.
Child names follow the official checkpoint (`attn_block`, `ff_block`, `attn_grid`, `ff_grid`,
each with `.norm` and `.fn`), so its weights load by name.

Token layout inside a window: token index = w1 * w + w2 (row-major over the window).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from .precision import FP32LayerNorm

# LayerNorm over channels, as in the official code (PyTorch default eps).
LAYER_NORM_EPS = 1e-5

# einops patterns: a window is indexed by (x, y), a position inside it by (w1, w2).
# Block: pixel (row, col) = (x * w + w1, y * w + w2), i.e. neighbouring pixels.
_BLOCK = "b c (x w1) (y w2) -> (b x y) (w1 w2) c"
_BLOCK_INV = "(b x y) (w1 w2) c -> b c (x w1) (y w2)"
# Grid: pixel (row, col) = (w1 * H/w + x, w2 * W/w + y), i.e. pixels spaced H/w, W/w apart.
_GRID = "b c (w1 x) (w2 y) -> (b x y) (w1 w2) c"
_GRID_INV = "(b x y) (w1 w2) c -> b c (w1 x) (w2 y)"


def block_partition(x: Tensor, window_size: int) -> Tensor:
    """B x C x H x W -> (B * H/w * W/w) x w^2 x C: windows of neighbouring pixels."""
    return rearrange(x, _BLOCK, w1=window_size, w2=window_size)


def block_merge(tokens: Tensor, batch: int, height: int, width: int) -> Tensor:
    """Inverse of `block_partition`: (B * H/w * W/w) x w^2 x C -> B x C x H x W."""
    w = _window_from_tokens(tokens)
    return rearrange(tokens, _BLOCK_INV, b=batch, x=height // w, y=width // w, w1=w, w2=w)


def grid_partition(x: Tensor, window_size: int) -> Tensor:
    """B x C x H x W -> (B * H/w * W/w) x w^2 x C: each window is a sparse w x w grid."""
    return rearrange(x, _GRID, w1=window_size, w2=window_size)


def grid_merge(tokens: Tensor, batch: int, height: int, width: int) -> Tensor:
    """Inverse of `grid_partition`: (B * H/w * W/w) x w^2 x C -> B x C x H x W."""
    w = _window_from_tokens(tokens)
    return rearrange(tokens, _GRID_INV, b=batch, x=height // w, y=width // w, w1=w, w2=w)


def _window_from_tokens(tokens: Tensor) -> int:
    w = round(tokens.shape[1] ** 0.5)
    if w * w != tokens.shape[1]:
        raise ValueError(f"{tokens.shape[1]} tokens per window is not a square window")
    return w


def relative_position_indices(window_size: int) -> Tensor:
    """w^2 x w^2 int64 table: row of `rel_pos_bias` for (query token, key token).

    idx = (dr + w - 1) * (2w - 1) + (dc + w - 1), (dr, dc) = query minus key position in window
    coordinates (so in grid attention the offsets count grid steps, not pixels).
    """
    w = window_size
    rows, cols = torch.meshgrid(torch.arange(w), torch.arange(w), indexing="ij")
    pos = torch.stack([rows.flatten(), cols.flatten()])  # 2 x w^2
    rel = pos[:, :, None] - pos[:, None, :]  # 2 x w^2 (query) x w^2 (key)
    return (rel[0] + w - 1) * (2 * w - 1) + (rel[1] + w - 1)


class RelPosAttention(nn.Module):
    """Multi-head attention within windows, with a learned relative-position bias per head.

    Input tokens N x n x dim (n = w^2); optional context tokens N x n x dim give keys and
    values (cross-attention). Channel index = head * dim_head + d.
    """

    def __init__(
        self, dim: int, heads: int, dim_head: int, window_size: int, dropout: float = 0.0
    ) -> None:
        super().__init__()
        inner = heads * dim_head
        self.heads = heads
        self.scale = dim_head**-0.5
        self.to_q = nn.Linear(dim, inner, bias=False)
        self.to_k = nn.Linear(dim, inner, bias=False)
        self.to_v = nn.Linear(dim, inner, bias=False)
        self.to_out = nn.Sequential(nn.Linear(inner, dim, bias=False), nn.Dropout(dropout))
        self.rel_pos_bias = nn.Embedding((2 * window_size - 1) ** 2, heads)
        # Derived from window_size only, so not part of the checkpoint.
        self.register_buffer(
            "rel_pos_indices", relative_position_indices(window_size), persistent=False
        )

    def forward(self, x: Tensor, context: Tensor | None = None) -> Tensor:
        context = x if context is None else context
        q, k, v = (
            rearrange(proj(src), "n t (h d) -> n h t d", h=self.heads)
            for proj, src in ((self.to_q, x), (self.to_k, context), (self.to_v, context))
        )
        bias = rearrange(self.rel_pos_bias(self.rel_pos_indices), "i j h -> h i j")
        # softmax(q k^T * dim_head^-0.5 + bias) v; the float mask is added to the scaled scores.
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype), scale=self.scale)
        return self.to_out(rearrange(out, "n h t d -> n t (h d)"))


class FeedForward(nn.Module):
    """Per-token MLP: Linear(d, 4d) -> exact (erf) GELU -> dropout -> Linear(4d, d)."""

    def __init__(self, dim: int, mult: int = 4, dropout: float = 0.0) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(dim, dim * mult),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(dim * mult, dim),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class PreNormResidual(nn.Module):
    """`x + fn(norm(x))` on channel-last tokens; a context, if given, shares the same norm."""

    def __init__(self, dim: int, fn: nn.Module) -> None:
        super().__init__()
        self.norm = FP32LayerNorm(dim, eps=LAYER_NORM_EPS)
        self.fn = fn

    def forward(self, x: Tensor, context: Tensor | None = None) -> Tensor:
        if context is None:
            return x + self.fn(self.norm(x))
        return x + self.fn(self.norm(x), self.norm(context))


class MaxAttentionBlock(nn.Module):
    """Block attention + FF, then grid attention + FF, on B x C x H x W (C = dim).

    H and W must be divisible by `window_size`. With `context` (B x C x H x W) the two
    attention sub-blocks take keys/values from it (cross-attention); feed-forwards act on x only.
    There is no residual around the whole block (each sub-block has its own).
    """

    def __init__(self, dim: int, heads: int, dim_head: int, window_size: int) -> None:
        super().__init__()
        self.window_size = window_size
        self.attn_block = PreNormResidual(dim, RelPosAttention(dim, heads, dim_head, window_size))
        self.ff_block = PreNormResidual(dim, FeedForward(dim))
        self.attn_grid = PreNormResidual(dim, RelPosAttention(dim, heads, dim_head, window_size))
        self.ff_grid = PreNormResidual(dim, FeedForward(dim))

    def forward(self, x: Tensor, context: Tensor | None = None) -> Tensor:
        _, _, h, w = x.shape
        if h % self.window_size or w % self.window_size:
            raise ValueError(f"spatial size {h}x{w} not divisible by window {self.window_size}")
        x = self._stage(x, context, block_partition, block_merge, self.attn_block, self.ff_block)
        return self._stage(x, context, grid_partition, grid_merge, self.attn_grid, self.ff_grid)

    def _stage(
        self,
        x: Tensor,
        context: Tensor | None,
        partition: Callable[[Tensor, int], Tensor],
        merge: Callable[[Tensor, int, int, int], Tensor],
        attn: PreNormResidual,
        ff: PreNormResidual,
    ) -> Tensor:
        b, _, h, w = x.shape
        tokens = partition(x, self.window_size)
        ctx = None if context is None else partition(context, self.window_size)
        tokens = ff(attn(tokens, ctx))
        return merge(tokens, b, h, w)
