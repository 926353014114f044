"""Training-free frame interpolation by optical flow, for any time t between two frames.

Knows nothing of backends or files: frames are float32 numpy arrays, H x W x C, C >= 1, in any
consistent intensity unit. `interpolate_frame` is the entry point; the steps live in

    estimate.py    robust per-pair normalisation and dense bidirectional flow (OpenCV DIS)
    warp.py        backward warping (exact bilinear), forward splatting, push-pull hole filling
    synthesis.py   flow at time t, occlusion-aware blending of both warped neighbours
"""

from vfi.models.opticalflow.estimate import FlowMethod, bidirectional_flow, normalise_for_flow
from vfi.models.opticalflow.synthesis import interpolate_frame

__all__ = ["FlowMethod", "bidirectional_flow", "interpolate_frame", "normalise_for_flow"]
