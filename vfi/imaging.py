"""Array image helpers shared by the models and the report.

Images are numpy arrays H x W or H x W x C (channels last); sizes are (width, height), as OpenCV
has them.
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

_ENLARGE = {"linear": cv2.INTER_LINEAR, "nearest": cv2.INTER_NEAREST}


def resize(
    image: np.ndarray, size: tuple[int, int], enlarge: Literal["linear", "nearest"] = "linear"
) -> np.ndarray:
    """`image` at `size` (width, height): area averaging when shrinking, `enlarge` (bilinear, or
    nearest neighbour to keep pixels visible) when growing. The channel axis is kept, also for
    one channel (OpenCV drops it); the same size returns `image` itself."""
    width, height = size
    if image.shape[:2] == (height, width):
        return image
    shrinking = width < image.shape[1]
    interpolation = cv2.INTER_AREA if shrinking else _ENLARGE[enlarge]
    out = cv2.resize(image, (width, height), interpolation=interpolation)
    return out.reshape(height, width, *image.shape[2:])
