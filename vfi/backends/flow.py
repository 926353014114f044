"""Classical optical-flow interpolation behind the backend interface: any t, no weights, CPU.

The default backend: it needs nothing beyond the installed packages and is the baseline LDMVFI
must beat. The algorithm lives in `vfi.models.opticalflow`; this class only converts tensors.
Output is deterministic: the same bytes on every rerun, whatever OpenCV's thread count (checked
with 1, 2 and 4); the job sets that count from its `threads` (`vfi --threads`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import numpy as np
import torch

from vfi.backends.base import Backend
from vfi.models.opticalflow import interpolate_frame
from vfi.models.opticalflow.estimate import FlowMethod


class FlowBackend(Backend):
    name = "flow"
    max_batch = 8  # pairs are computed one by one; this bounds the frames held in memory

    def __init__(
        self,
        device: torch.device,
        method: FlowMethod | None = None,
        *,
        debug: bool = False,
        **method_options: Any,
    ) -> None:
        """`method`, or its fields as keywords (the config's `flow:` section); `debug` keeps
        each frame's motion and occlusion maps for `take_diagnostics`."""
        super().__init__(device)
        self.method = method or FlowMethod(**method_options)
        self.debug = debug
        self._diagnostics: deque[dict[str, np.ndarray]] = deque()

    def interpolate(
        self, prev: torch.Tensor, next: torch.Tensor, times: torch.Tensor, seeds: Sequence[int]
    ) -> torch.Tensor:
        """Frames B x 3 x H x W at `times` in [0, 1]; deterministic, seeds unused. Not clamped:
        each pixel is a weighted mean of its warped neighbours, so it stays within their range
        (stretched intensities may go a little beyond [-1, 1], see `vfi.io.intensity`)."""
        out = [self._pair(a, b, t) for a, b, t in zip(prev, next, times.tolist(), strict=True)]
        return torch.stack(out).to(prev.device, prev.dtype)

    def _pair(self, prev: torch.Tensor, next: torch.Tensor, t: float) -> torch.Tensor:
        """One 3 x H x W frame. A grey pair (three equal channels in both frames) is warped as
        one channel: a third of the work on large frames, and the same result."""
        prev, next = prev.detach().float().cpu(), next.detach().float().cpu()
        channels = slice(0, 1) if _is_grey(prev) and _is_grey(next) else slice(0, 3)
        diagnostics: dict[str, np.ndarray] | None = {} if self.debug else None
        frame = interpolate_frame(
            _to_image(prev[channels]), _to_image(next[channels]), t, self.method, diagnostics
        )
        if diagnostics is not None:
            self._diagnostics.append(diagnostic_images(diagnostics))
        return torch.from_numpy(frame).permute(2, 0, 1).expand(3, -1, -1)

    def take_diagnostics(self) -> dict[str, np.ndarray] | None:
        return self._diagnostics.popleft() if self._diagnostics else None

    def describe(self) -> dict[str, object]:
        return {"name": self.name, **asdict(self.method)}


def diagnostic_images(diagnostics: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """What `flow.debug` writes per frame: "motion" (H x W float32, pixels the content at each
    spot moves between the two neighbours) and "occlusion" (H x W x 3 uint8: red where the
    previous frame does not show the content, green where the next frame does not, yellow
    where neither does and the frame is a plain cross-fade)."""
    magnitude = np.sqrt(np.square(diagnostics["motion"]).sum(axis=2)).astype(np.float32)
    hidden = [1 - diagnostics[name] for name in ("seen0", "seen1")]
    red, green = (np.rint(255 * np.clip(h, 0, 1)).astype(np.uint8) for h in hidden)
    occlusion = np.stack([red, green, np.zeros_like(red)], axis=2)
    return {"motion": magnitude, "occlusion": occlusion}


def _is_grey(frame: torch.Tensor) -> bool:
    return torch.equal(frame[0], frame[1]) and torch.equal(frame[0], frame[2])


def _to_image(frame: torch.Tensor) -> np.ndarray:
    """C x H x W tensor on the CPU -> H x W x C float32 array."""
    return np.ascontiguousarray(frame.permute(1, 2, 0).numpy())
