"""The midpoint hierarchy: which frame is made from which two parents, level by level.

LDMVFI predicts the middle of two frames. For a gap (a, b) with b - a >= 2 the new frame is
m = (a + b) // 2, made from a and b; then (a, m) and (m, b) are filled the same way. The recursion
depth is the frame's level, so every frame of a level depends only on known frames and frames of
earlier levels: one level is one batched model call. For keyframes 1 and 19:

    level 1: 10            level 2: 5, 14          level 3: 3, 7, 12, 16
    level 4: 2, 4, 6, 8, 11, 13, 15, 17            level 5: 9, 18
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Timing = Literal["midpoint", "exact"]


@dataclass(frozen=True)
class PlannedFrame:
    """A frame to generate: `index` made from known-by-then frames `prev` < index < `next`."""

    index: int
    prev: int
    next: int
    level: int

    @property
    def exact_time(self) -> float:
        """Where the frame really lies between its parents, in (0, 1)."""
        return (self.index - self.prev) / (self.next - self.prev)

    def time(self, timing: Timing) -> float:
        """The time the interpolator is asked for: 0.5 (midpoint) or the exact time."""
        return 0.5 if timing == "midpoint" else self.exact_time

    def effective_time(self, timing: Timing) -> float:
        """The position in the sequence that the generated frame actually shows.

        With midpoint timing frame 5 of parents 1 and 10 shows time 5.5, not 5.
        """
        return self.prev + self.time(timing) * (self.next - self.prev)


def midpoint_plan(known: Iterable[int]) -> list[PlannedFrame]:
    """Every missing frame between the smallest and largest known index, with parents and level.

    Sorted by (level, index). Each gap between neighbouring known frames is filled independently.
    """
    indices = sorted(set(known))
    planned: list[PlannedFrame] = []

    def fill(a: int, b: int, level: int) -> None:
        if b - a < 2:
            return
        m = (a + b) // 2
        planned.append(PlannedFrame(index=m, prev=a, next=b, level=level))
        fill(a, m, level + 1)
        fill(m, b, level + 1)

    for a, b in zip(indices, indices[1:], strict=False):
        fill(a, b, 1)
    return sorted(planned, key=lambda f: (f.level, f.index))


def frame_seed(global_seed: int, sequence: str, index: int) -> int:
    """A frame's random seed: a function of (global seed, sequence, frame index) only.

    So resumed, re-batched or re-ordered runs draw the same noise for the same frame.
    """
    digest = hashlib.sha256(f"{global_seed}\x00{sequence}\x00{index}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)
