"""Frames to and from the tensors every backend sees: 3 x H x W float32 in [-1, 1].

The intensity mapping (`vfi.io.intensity.Normalisation`) is applied here, once for every
backend: raw values -> unit range -> [-1, 1], and back. Kept apart from `vfi.io.frames` so that
jobs that only read and score frames never import torch.
"""

from __future__ import annotations

import numpy as np
import torch

from vfi.io.frames import FrameInfo
from vfi.io.intensity import Normalisation


def to_model_tensor(frame: np.ndarray, normalisation: Normalisation) -> torch.Tensor:
    """Frame -> 3 x H x W float32, unit range mapped to [-1, 1]; grayscale is replicated."""
    tensor = torch.from_numpy(normalisation.to_unit(frame))
    tensor = tensor.unsqueeze(0).expand(3, -1, -1) if frame.ndim == 2 else tensor.permute(2, 0, 1)
    return tensor.mul(2.0).sub(1.0).contiguous()


def from_model_tensor(
    tensor: torch.Tensor, like: FrameInfo, normalisation: Normalisation
) -> np.ndarray:
    """3 x H x W in [-1, 1] -> frame in the mode and bit depth of `like` (rounded, clipped).

    Grayscale output is the mean of the three channels: the model sees a grey image replicated
    to RGB and answers with three nearly equal channels. Raw data are clamped to [-1, 1] first,
    as they always were; stretched data keep values beyond it until mapped back and clipped to
    the sequence's full scale.
    """
    dtype = np.uint8 if like.bit_depth == 8 else np.uint16
    values = tensor.detach().float().cpu()
    if normalisation.mode == "raw":
        values = values.clamp(-1.0, 1.0)
    unit = values.add(1.0).mul(0.5)
    unit = unit.mean(dim=0) if like.mode == "L" else unit.permute(1, 2, 0)
    return normalisation.from_unit(unit.numpy(), np.dtype(dtype))
