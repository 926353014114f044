"""Forward (softmax) splatting in plain PyTorch, the only custom op PerVFI uses.

The official code runs a CuPy kernel; this is the same computation with `index_add_`: every
source pixel (x, y) adds `value * weight` to the 4 integer neighbours of its target
(x + u, y + v), with bilinear weights computed in float32 exactly as the kernel does. Sources
whose target is not finite (NaN or inf flow) are skipped and neighbours outside the frame are
dropped. On CPU the accumulation is deterministic; on CUDA it is too when
`torch.use_deterministic_algorithms(True)` is on (otherwise atomics reorder the sums, as the
official kernel's do).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

SplatMode = Literal["sum", "avg", "soft"]

# Added to the splatted weight before normalising, so empty (hole) pixels come out as 0.
_NORMALISE_EPS = 1e-7


def _neighbour_weights(
    flow: Tensor,
) -> tuple[Tensor, Tensor, Tensor, list[tuple[int, int, Tensor]]]:
    """Targets of every source pixel: the top-left neighbour, finiteness, and bilinear weights.

    flow: N x 2 x H x W in pixels (channel 0 = x). Returns (x0, y0, finite, [(dx, dy, weight)])
    with x0, y0 integer (int64) N x H x W and weights in the flow's dtype. The weights use the
    kernel's own expressions (distances to the integer neighbours), so they round alike.
    """
    n, _, h, w = flow.shape
    xs = torch.arange(w, device=flow.device, dtype=flow.dtype).view(1, 1, w)
    ys = torch.arange(h, device=flow.device, dtype=flow.dtype).view(1, h, 1)
    x = xs + flow[:, 0]
    y = ys + flow[:, 1]
    finite = torch.isfinite(x) & torch.isfinite(y)
    left = torch.floor(x)
    top = torch.floor(y)
    right = left + 1.0
    bottom = top + 1.0
    weights = [
        (0, 0, (right - x) * (bottom - y)),
        (1, 0, (x - left) * (bottom - y)),
        (0, 1, (right - x) * (y - top)),
        (1, 1, (x - left) * (y - top)),
    ]
    # Far-away (or non-finite) targets have no neighbour in the frame; clamping before the
    # integer cast avoids undefined float->int conversions and keeps them out of the frame.
    x0 = torch.where(finite, left, -2.0).clamp(-2, w).long()
    y0 = torch.where(finite, top, -2.0).clamp(-2, h).long()
    return x0, y0, finite, weights


def splat_sum(values: Tensor, flow: Tensor) -> Tensor:
    """Forward-splat `values` (N x C x H x W) by `flow` (N x 2 x H x W, pixels), summing.

    The output has the input's shape and dtype; the arithmetic runs in at least float32.
    """
    if flow.shape[1] != 2 or flow.shape[0] != values.shape[0] or flow.shape[2:] != values.shape[2:]:
        raise ValueError(
            f"flow must be N x 2 x H x W matching values {tuple(values.shape)}, "
            f"got {tuple(flow.shape)}"
        )
    n, c, h, w = values.shape
    compute = torch.promote_types(values.dtype, torch.float32)
    flow = flow.to(compute)
    x0, y0, finite, weights = _neighbour_weights(flow)
    # Channels last: one index per pixel moves all its channels at once.
    source = values.to(compute).permute(0, 2, 3, 1).reshape(n * h * w, c)
    batch_start = (torch.arange(n, device=flow.device) * (h * w)).view(n, 1, 1)
    out = source.new_zeros(n * h * w, c)
    for dx, dy, weight in weights:
        tx = x0 + dx
        ty = y0 + dy
        valid = finite & (tx >= 0) & (tx < w) & (ty >= 0) & (ty < h)
        index = torch.where(valid, batch_start + ty * w + tx, 0).reshape(-1)
        # where (not a multiplication by 0) so non-finite weights or values of skipped
        # sources cannot leak into pixel 0.
        contribution = torch.where(
            valid.reshape(-1, 1), source * weight.reshape(-1, 1), torch.zeros((), dtype=compute)
        )
        out.index_add_(0, index, contribution)
    return out.view(n, h, w, c).permute(0, 3, 1, 2).contiguous().to(values.dtype)


def softsplat(
    values: Tensor, flow: Tensor, metric: Tensor | None = None, mode: SplatMode = "sum"
) -> Tensor:
    """Forward splatting in the three modes of the official `softsplat`.

    "sum": plain sum. "avg": sum divided by the splatted count (+1e-7). "soft": weights
    exp(metric) (metric N x 1 x H x W), normalised the same way; PerVFI passes
    `metric = clip(-m, -20, 20)`, which callers do themselves. Holes (nothing landed) are 0.
    """
    if mode == "sum":
        if metric is not None:
            raise ValueError("mode 'sum' takes no metric")
        return splat_sum(values, flow)
    # Normalise in at least float32, as the splat itself, and return the input's dtype.
    dtype = values.dtype
    values = values.to(torch.promote_types(dtype, torch.float32))
    if mode == "avg":
        if metric is not None:
            raise ValueError("mode 'avg' takes no metric")
        weight = values.new_ones(values.shape[0], 1, *values.shape[2:])
        weighted = values
    elif mode == "soft":
        if metric is None:
            raise ValueError("mode 'soft' needs a metric")
        weight = metric.to(values.dtype).exp()
        weighted = values * weight
    else:
        raise ValueError(f"unknown splatting mode {mode!r} (choose sum, avg, soft)")
    out = splat_sum(torch.cat([weighted, weight], dim=1), flow)
    return (out[:, :-1] / (out[:, -1:] + _NORMALISE_EPS)).to(dtype)


def hole_mask(flow: Tensor) -> Tensor:
    """1.0 where nothing lands (a disocclusion), else 0.0, by the official rule: the avg-splat
    of ones is at most 0.5. That splat is w / (w + 1e-7) for a splatted weight w, so the rule
    marks pixels with w below about 1e-7, not pixels less than half covered.

    flow: N x 2 x H x W in pixels; returns N x 1 x H x W in the flow's dtype.
    """
    n, _, h, w = flow.shape
    coverage = softsplat(flow.new_ones(n, 1, h, w), flow, mode="avg")
    return (coverage <= 0.5).to(flow.dtype)
