"""Interpolation of frames too large for memory, tile by tile with feathered seams.

A frame pair is cut into overlapping tiles at the same places in both frames; each tile pair is
interpolated on its own and the results are blended where tiles overlap, each weighted by a
linear ramp that falls towards its inner edges. Inside one tile the model sees only that tile:
motion larger than the overlap, and a model's global statistics (IFRNet's mean intensity), can
make tiles differ from a whole-frame run near the seams, which the ramps hide. Make the overlap
larger than the largest motion between the frames.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

# The fraction of an overlap that is cross-faded (see `_ramp`).
FEATHER = 0.5

PairFunction = Callable[[Tensor, Tensor], Tensor]
"""(prev, next) N x C x h x w -> the frame between them, N x C' x h x w"""


def tile_starts(size: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of `tile` pixels covering `size`, neighbours overlapping by at least
    `overlap` (spread evenly, so every seam overlaps by the same amount give or take a pixel)."""
    if tile <= overlap:
        raise ValueError(f"tile ({tile}) must be larger than its overlap ({overlap})")
    if size <= tile:
        return [0]
    count = math.ceil((size - overlap) / (tile - overlap))
    return [round(i * (size - tile) / (count - 1)) for i in range(count)]


def _ramp(length: int, overlaps: tuple[int, int], feather: float) -> Tensor:
    """1-D weights of a tile that overlaps its neighbours by `overlaps` (before, after) pixels.

    In each overlap only its middle `feather` fraction is blended (a linear cross-fade that sums
    to one with the neighbour's); outside it, the pixel is taken from the tile it lies deeper
    in. So every pixel used keeps a margin of context, and seams are soft.
    """
    weights = torch.ones(length, dtype=torch.float64)
    for side, overlap in enumerate(overlaps):
        if overlap <= 0:
            continue
        width = max(1, round(overlap * feather))
        skip = (overlap - width) // 2
        rise = torch.zeros(overlap, dtype=torch.float64)
        rise[skip : skip + width] = (torch.arange(width, dtype=torch.float64) + 0.5) / width
        rise[skip + width :] = 1.0
        if side == 0:
            weights[:overlap] = torch.minimum(weights[:overlap], rise)
        else:  # the neighbour after rises by the same rule, so this tile falls by its complement
            weights[length - overlap :] = torch.minimum(weights[length - overlap :], 1.0 - rise)
    return weights


def _axis(size: int, tile: int, overlap: int, feather: float) -> list[tuple[int, int, Tensor]]:
    """(start, length, weights) of every tile along one axis."""
    starts = tile_starts(size, tile, overlap)
    length = min(tile, size)
    spans = []
    for i, start in enumerate(starts):
        before = starts[i - 1] + length - start if i > 0 else 0
        after = start + length - starts[i + 1] if i + 1 < len(starts) else 0
        spans.append((start, length, _ramp(length, (before, after), feather)))
    return spans


def interpolate_tiled(
    interpolate: PairFunction,
    prev: Tensor,
    next: Tensor,
    tile: int,
    overlap: int,
    feather: float = FEATHER,
) -> Tensor:
    """`interpolate(prev, next)` computed over tiles of at most `tile` x `tile` pixels.

    Frames that fit in one tile go through `interpolate` whole, unchanged. The blend is computed
    in float64 and returned in the dtype of the tiles' results.
    """
    height, width = prev.shape[-2:]
    if height <= tile and width <= tile:
        return interpolate(prev, next)
    rows, columns = _axis(height, tile, overlap, feather), _axis(width, tile, overlap, feather)
    total: Tensor | None = None
    weight_sum = torch.zeros(height, width, dtype=torch.float64, device=prev.device)
    for top, tile_h, ramp_y in rows:
        for left, tile_w, ramp_x in columns:
            window = (..., slice(top, top + tile_h), slice(left, left + tile_w))
            out = interpolate(prev[window], next[window])
            weight = torch.outer(ramp_y, ramp_x).to(prev.device)
            if total is None:
                total = torch.zeros(
                    (*out.shape[:-2], height, width), dtype=torch.float64, device=prev.device
                )
                dtype = out.dtype
            total[window] += out.to(torch.float64) * weight
            weight_sum[window] += weight
    assert total is not None
    return (total / weight_sum).to(dtype)
