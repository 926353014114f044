"""The front end of the PerVFI generator: from two frames and their flows to the decoder's
three conditions.

Order of work (asymmetric blending): encode both frames; rate every frame-0 / frame-1 pixel as a
splatting source (Softmetric, scaled by the distance in time); forward-splat frame 0's feature
pyramid to time t, noting holes; splat frame 1's flow to get the flow t -> 1; align frame 1's
features to t with deformable convs; blend with soft masks; fuse the levels (multiscaleFuse).

Two resizing conventions of the official code are kept on purpose: the splatting pyramid resizes
metric and flow cumulatively (level 2 from level 1), the alignment resizes the flow t -> 1
directly from full size; both scale a flow's x and y by the height ratio only.
"""

from __future__ import annotations

from collections.abc import Callable

import torch.nn.functional as F
from torch import Tensor, nn

from .splatting import hole_mask, softsplat

# exp(-metric) weights are clipped to exp(+-20) so that soft splatting cannot overflow.
_METRIC_CLIP = 20.0


def resize(x: Tensor, size: tuple[int, int]) -> Tensor:
    """Bilinear resize (align_corners=False) to `size` (h, w)."""
    return F.interpolate(x, size, mode="bilinear", align_corners=False)


def resize_flow(flow: Tensor, size: tuple[int, int]) -> Tensor:
    """Resize a flow in pixels to `size`; both components scale by h / H (the official code
    uses the height ratio for x too, which only matters when the aspect ratio changes)."""
    return resize(flow, size) * (size[0] / flow.shape[2])


def _splat_weight(metric: Tensor) -> Tensor:
    """The metric as PerVFI feeds soft splatting: lower metric = stronger source."""
    return metric.neg().clip(-_METRIC_CLIP, _METRIC_CLIP)


def _time(t: float | Tensor, like: Tensor) -> float | Tensor:
    """t as a Python float or as N x 1 x 1 x 1 (one time per sample) in `like`'s dtype."""
    if isinstance(t, Tensor):
        if t.dim() == 0:
            return float(t)
        if t.shape != (like.shape[0],):
            expected = (like.shape[0],)
            raise ValueError(f"t must be a float or of shape {expected}, got {tuple(t.shape)}")
        return t.to(device=like.device, dtype=like.dtype).view(-1, 1, 1, 1)
    return float(t)


def splat_pyramid(
    feats: list[Tensor], metric: Tensor, flow: Tensor
) -> tuple[list[Tensor], list[Tensor]]:
    """Soft-splat each level of `feats` by `flow` (pixels at full size) with weights from
    `metric`; returns (features at t, hole masks) per level. Metric and flow of each level are
    resized from the previous level's (cumulative), as in the official code."""
    warped: list[Tensor] = []
    holes: list[Tensor] = []
    for level, feat in enumerate(feats):
        if level > 0:
            size = (feat.shape[2], feat.shape[3])
            metric = resize(metric, size)
            flow = resize_flow(flow, size)
        warped.append(softsplat(feat, flow, _splat_weight(metric), "soft"))
        holes.append(hole_mask(flow))
    return warped, holes


def _check_inputs(img0: Tensor, img1: Tensor, fflow: Tensor, bflow: Tensor) -> None:
    n, _, h, w = img0.shape
    if img1.shape != img0.shape or img0.shape[1] != 3:
        shapes = f"{tuple(img0.shape)} and {tuple(img1.shape)}"
        raise ValueError(f"frames must both be N x 3 x H x W, got {shapes}")
    for name, flow in (("fflow", fflow), ("bflow", bflow)):
        if flow.shape != (n, 2, h, w):
            raise ValueError(f"{name} must be {(n, 2, h, w)}, got {tuple(flow.shape)}")
    # Three halvings in the decoder (and two here) need sizes divisible by 8; pad first.
    if h % 8 or w % 8:
        raise ValueError(f"frame size {h}x{w} must be a multiple of 8 (pad right/bottom first)")


def _record_offsets(model: nn.Module, record: dict[str, Tensor]) -> list[Callable[[], None]]:
    """Hooks storing each level's raw DCN offset-conv output under `align/l{i}_offset_conv`."""
    removers = []
    for name, pack in model.deformableAlign.deform_conv.items():

        def store(_module: nn.Module, _inputs: tuple, output: Tensor, key: str = name) -> None:
            record[f"align/{key}_offset_conv"] = output

        removers.append(pack.conv_offset.register_forward_hook(store).remove)
    return removers


def compute_conditions(
    model: nn.Module,
    img0: Tensor,
    img1: Tensor,
    fflow: Tensor,
    bflow: Tensor,
    t: float | Tensor,
    record: dict[str, Tensor] | None = None,
) -> list[Tensor]:
    """The decoder's conditions [35 @ H/2, 64 @ H/4, 96 @ H/8] for frames at time t.

    model: any module with `featurePyramid`, `deformableAlign`, `attentionMerge` and
    `multiscaleFuse`. img0, img1: frames in [0, 1], N x 3 x H x W, H and W multiples of 8.
    fflow (0 -> 1), bflow (1 -> 0): N x 2 x H x W in pixels, channel 0 = x. t: a float in
    [0, 1] or a tensor of N times. If `record` is a dict, intermediates are stored in it under
    the names of the golden fixtures (`softmetric/m0_raw`, `pyramid/bmasks/0`, `conds/2`, ...).
    """
    _check_inputs(img0, img1, fflow, bflow)
    pyramid = model.featurePyramid
    frame0 = img0 * 2 - 1
    frame1 = img1 * 2 - 1
    feats0 = pyramid(frame0)
    feats1 = pyramid(frame1)
    m0 = pyramid.metric(feats0, feats1, fflow)
    m1 = pyramid.metric(feats1, feats0, bflow)

    # Metrics scale by 2t and 2(1 - t) (both 1 at the midpoint), flows by the time travelled.
    time = _time(t, fflow)
    metric0 = m0 * 2 * time
    flow0t = time * fflow
    metric1 = m1 * 2 * (1 - time)
    flow1t = (1 - time) * bflow
    # Flow t -> 1: the flow 1 -> t splatted to t along itself, negated.
    flow_t1 = -softsplat(flow1t, flow1t, _splat_weight(metric1), "soft")

    warped0, holes = splat_pyramid(feats0, metric0, flow0t)
    flows_t1 = [
        flow_t1 if hole.shape[2:] == flow_t1.shape[2:] else resize_flow(flow_t1, hole.shape[2:])
        for hole in holes
    ]

    removers = _record_offsets(model, record) if record is not None else []
    try:
        aligned1 = model.deformableAlign(warped0, feats1, holes, flows_t1)
    finally:
        for remove in removers:
            remove()
    blended, masks = model.attentionMerge(warped0, aligned1, holes)
    conds = model.multiscaleFuse(blended)

    if record is not None:
        record["softmetric/m0_raw"] = m0
        record["softmetric/m1_raw"] = m1
        record["pyramid/Ft2"] = flow_t1
        stages = {
            "encode/img0": feats0,
            "encode/img1": feats1,
            "pyramid/warped0": warped0,
            "pyramid/bmasks": holes,
            "align/feaR": aligned1,
            "merge/smasks": masks,
            "merge/feas": blended,
            "conds": conds,
        }
        for prefix, tensors in stages.items():
            for level, tensor in enumerate(tensors):
                record[f"{prefix}/{level}"] = tensor
    return list(conds)
