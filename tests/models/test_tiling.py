"""Tiled inference: tiles cover the frame, and the blend of per-tile results is seamless."""

from __future__ import annotations

import pytest
import torch

from vfi.models.tiling import interpolate_tiled, tile_starts


@pytest.mark.parametrize(("size", "tile", "overlap"), [(100, 40, 16), (257, 64, 32), (64, 64, 8)])
def test_tiles_cover_the_frame_and_neighbours_overlap_enough(size, tile, overlap):
    starts = tile_starts(size, tile, overlap)
    assert starts[0] == 0 and min(starts[-1] + tile, size) == size
    assert all(b - a <= tile - overlap for a, b in zip(starts, starts[1:], strict=False))


@pytest.mark.parametrize(("height", "width"), [(70, 100), (129, 65)])
def test_a_pointwise_function_comes_back_exactly_through_tiles(height, width):
    """Weights sum to one everywhere, so anything computed pixel by pixel is unchanged."""
    prev, next = torch.rand(2, 3, height, width), torch.rand(2, 3, height, width)
    tiled = interpolate_tiled(lambda a, b: 0.3 * a + 0.7 * b, prev, next, tile=48, overlap=20)
    torch.testing.assert_close(tiled, 0.3 * prev + 0.7 * next, rtol=0, atol=1e-6)


def test_seams_are_cross_faded_not_cut():
    """Each tile answers with its own constant: across a seam the values must ramp."""
    frame = torch.zeros(1, 1, 8, 100)
    calls = iter(range(10))
    tiled = interpolate_tiled(
        lambda a, b: torch.full_like(a, float(next(calls))), frame, frame, tile=60, overlap=20
    )
    row = tiled[0, 0, 0]
    steps = row[1:] - row[:-1]
    assert row[0] == 0 and row[-1] == 1
    assert 5 <= int((steps > 0).sum()) <= 20  # a ramp over the middle of the overlap


def test_an_overlap_as_large_as_the_tile_is_refused():
    with pytest.raises(ValueError, match="larger than its overlap"):
        tile_starts(100, 32, 32)
