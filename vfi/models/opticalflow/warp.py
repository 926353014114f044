"""Moving pixels along a flow field: backward warping, forward splatting, and filling the holes.

All arrays are float32 numpy, H x W x C (channels last); flows are H x W x 2 in pixels, x first.
"""

from __future__ import annotations

import numpy as np

from vfi.imaging import resize


def backward_warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """image(p + flow(p)) for every pixel p, bilinear, with the border replicated outwards.

    Exact in float32 (OpenCV's remap rounds positions to 1/32 pixel, visible in 16-bit data);
    a zero flow returns the image unchanged.
    """
    height, width = flow.shape[:2]
    x = np.clip(np.arange(width, dtype=np.float32) + flow[..., 0], 0, width - 1)
    y = np.clip(np.arange(height, dtype=np.float32)[:, None] + flow[..., 1], 0, height - 1)
    x0, y0 = np.floor(x), np.floor(y)
    fx, fy = (x - x0)[..., None], (y - y0)[..., None]
    x0, y0 = x0.astype(np.intp), y0.astype(np.intp)
    x1, y1 = np.minimum(x0 + 1, width - 1), np.minimum(y0 + 1, height - 1)
    flat = image.reshape(height * width, -1)

    def at(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return np.take(flat, rows * width + cols, axis=0)

    top = at(y0, x0) * (1 - fx) + at(y0, x1) * fx
    bottom = at(y1, x0) * (1 - fx) + at(y1, x1) * fx
    return (top * (1 - fy) + bottom * fy).astype(np.float32)


def forward_splat(values: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Sum of `values` (H x W x C) carried from each p to p + flow(p), spread bilinearly.

    Contributions that land outside the frame are dropped. Sums run in a fixed order
    (np.bincount), so the result does not depend on thread count.
    """
    height, width = flow.shape[:2]
    size = height * width
    x = (np.arange(width, dtype=np.float32) + flow[..., 0]).ravel()
    y = (np.arange(height, dtype=np.float32)[:, None] + flow[..., 1]).ravel()
    x0, y0 = np.floor(x), np.floor(y)
    fx, fy = x - x0, y - y0
    x0, y0 = x0.astype(np.int64), y0.astype(np.int64)
    flat = values.reshape(size, -1)
    out = np.zeros((size, flat.shape[1]), dtype=np.float64)
    for dy, dx, weight in (
        (0, 0, (1 - fx) * (1 - fy)),
        (0, 1, fx * (1 - fy)),
        (1, 0, (1 - fx) * fy),
        (1, 1, fx * fy),
    ):
        cols, rows = x0 + dx, y0 + dy
        inside = (cols >= 0) & (cols < width) & (rows >= 0) & (rows < height)
        index = np.where(inside, rows * width + cols, size)  # bin `size` collects the outside
        for c in range(flat.shape[1]):
            out[:, c] += np.bincount(index, weight * flat[:, c], minlength=size + 1)[:size]
    return out.astype(np.float32).reshape(height, width, -1)


def fill_holes(values: np.ndarray, weight: np.ndarray, trusted: float = 0.5) -> np.ndarray:
    """Fill where `weight` (H x W) is low from ever coarser averages (push-pull).

    `values` (H x W x C) are weighted sums, so values / weight is the estimate where weight > 0.
    A pixel with weight >= `trusted` keeps its own estimate; below that it blends smoothly into
    the average of its surroundings, so filled holes have no seams.
    """
    height, width = weight.shape
    weight = weight[..., None]
    own = values / np.maximum(weight, 1e-12)
    if min(height, width) <= 2:
        total = weight.sum()
        coarse = values.sum(axis=(0, 1)) / total if total > 0 else np.zeros(values.shape[2])
        surroundings = np.broadcast_to(coarse.astype(np.float32), values.shape)
    else:
        size = ((width + 1) // 2, (height + 1) // 2)
        small_values = resize(values, size)
        small_weight = resize(weight[..., 0], size)
        coarse = fill_holes(small_values * 1.0, small_weight, trusted)
        surroundings = resize(coarse, (width, height))
    alpha = np.clip(weight / trusted, 0.0, 1.0)
    return (alpha * own + (1 - alpha) * surroundings).astype(np.float32)
