"""The one interface every interpolator implements.

A backend receives a batch of frame pairs and, for each pair, the time of the wanted frame between
them and a seed. Frames are B x 3 x H x W float32 tensors in [-1, 1] (grayscale replicated to three
channels); the answer has the same shape and range. Seeds make stochastic backends (LDMVFI) draw
each sample's noise independently of the batch it is in.

A job hands a backend all its pairs at once (`interpolate_pairs`), naming frames by key, so that
a backend can reuse work per frame: LDMVFI encodes each known frame once, however many pairs
share it.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class Pair:
    """One wanted frame: between the frames keyed `prev` and `next`, at `time` in (0, 1)."""

    prev: Hashable
    next: Hashable
    time: float
    seed: int


FrameLoader = Callable[[Hashable], torch.Tensor]
"""key -> 3 x H x W float32 frame in [-1, 1] (on the CPU)"""


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

    def interpolate_pairs(self, pairs: Sequence[Pair], load: FrameLoader) -> Iterator[torch.Tensor]:
        """The frame of every pair (all of one size), in order, each as soon as it is made.

        Pairs go to `interpolate` in chunks of `max_batch`; a frame shared by pairs of one chunk
        is loaded once.
        """
        for chunk in chunks(pairs, self.max_batch):
            frames = {key: load(key) for pair in chunk for key in (pair.prev, pair.next)}
            prev = torch.stack([frames[p.prev] for p in chunk]).to(self.device)
            next = torch.stack([frames[p.next] for p in chunk]).to(self.device)
            times = torch.tensor([p.time for p in chunk], dtype=torch.float32)
            yield from self.interpolate(prev, next, times, [p.seed for p in chunk])

    def take_diagnostics(self) -> dict[str, np.ndarray] | None:
        """Debug images of the oldest frame made and not yet taken (a backend with a debug
        output, `flow.debug`), in the order frames are made; None for the others."""
        return None

    def describe(self) -> dict[str, object]:
        """Parameters worth recording in a sequence's provenance."""
        return {"name": self.name}


def make_cuda_deterministic() -> None:
    """Deterministic CUDA kernels for this process, so a frame's bytes are the same on every run
    (cuBLAS workspace, cuDNN without autotuning, and atomics-free scatter-adds)."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
    torch.use_deterministic_algorithms(True, warn_only=True)


def chunks(pairs: Sequence[Pair], size: int) -> Iterator[Sequence[Pair]]:
    for start in range(0, len(pairs), size):
        yield pairs[start : start + size]
