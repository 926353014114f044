"""Frames to and from the tensors every backend sees: 3 x H x W float32 in [-1, 1].

Kept apart from `vfi.io.frames` so that jobs that only read and score frames never import torch.
"""

from __future__ import annotations

import numpy as np
import torch

from vfi.io.frames import FrameInfo, max_value


def to_model_tensor(frame: np.ndarray) -> torch.Tensor:
    """Frame -> 3 x H x W float32 in [-1, 1]; grayscale is replicated to three channels."""
    scale = float(max_value(frame.dtype))
    tensor = torch.from_numpy(frame.astype(np.float32) / scale)
    tensor = tensor.unsqueeze(0).expand(3, -1, -1) if frame.ndim == 2 else tensor.permute(2, 0, 1)
    return tensor.mul(2.0).sub(1.0).contiguous()


def from_model_tensor(tensor: torch.Tensor, like: FrameInfo) -> np.ndarray:
    """3 x H x W in [-1, 1] -> frame in the mode and bit depth of `like` (rounded, clipped).

    Grayscale output is the mean of the three channels: the model sees a grey image replicated
    to RGB and answers with three nearly equal channels.
    """
    dtype = np.uint8 if like.bit_depth == 8 else np.uint16
    scale = float(max_value(np.dtype(dtype)))
    unit = tensor.detach().float().cpu().clamp(-1.0, 1.0).add(1.0).mul(0.5)
    unit = unit.mean(dim=0) if like.mode == "L" else unit.permute(1, 2, 0)
    return np.rint(unit.numpy() * scale).astype(dtype)
