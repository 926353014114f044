"""The one interface every interpolator implements.

A backend receives a batch of frame pairs and, for each pair, the time of the wanted frame between
them and a seed. Frames are B x 3 x H x W float32 tensors in [-1, 1] (grayscale replicated to three
channels); the answer has the same shape and range. Seeds make stochastic backends (LDMVFI) draw
each sample's noise independently of the batch it is in.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import torch


class Backend(ABC):
    name: str = ""
    max_batch: int = 16  # pairs per call; the job splits larger work

    def __init__(self, device: torch.device) -> None:
        self.device = device

    @abstractmethod
    def interpolate(
        self, prev: torch.Tensor, next: torch.Tensor, times: torch.Tensor, seeds: Sequence[int]
    ) -> torch.Tensor:
        """Frames at `times` (B floats in (0, 1)) between `prev` and `next`; B x 3 x H x W."""

    def describe(self) -> dict[str, object]:
        """Parameters worth recording in a sequence's provenance."""
        return {"name": self.name}
