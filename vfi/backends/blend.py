"""The baseline: a linear cross-fade of the two neighbours.

Exact at t = 0 and 1, ghosting wherever anything moves. Every learned method must beat it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from vfi.backends.base import Backend


class BlendBackend(Backend):
    name = "blend"
    max_batch = 64

    def interpolate(
        self, prev: torch.Tensor, next: torch.Tensor, times: torch.Tensor, seeds: Sequence[int]
    ) -> torch.Tensor:
        t = times.to(prev.device, prev.dtype).view(-1, 1, 1, 1)
        return torch.lerp(prev, next, t)
