"""IFRNet behind the backend interface: one network pass per frame, any t with GoPro weights.

The published Vimeo90K checkpoints have zero weights on the time input (the maintainer says so,
and `accepts_any_time` reads it from the file): they make midpoints only, so `timing: auto`
gives midpoints for them and `timing: exact` is refused before any job runs.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from vfi.backends.base import Backend
from vfi.models.ifrnet import IFRNet
from vfi.models.ifrnet.checkpoint import file_uses_time
from vfi.models.precision import resolve_precision
from vfi.models.tiling import interpolate_tiled

log = logging.getLogger(__name__)

WEIGHTS_HELP = (
    "IFRNet checkpoints come from the Dropbox folder linked in the README of "
    "github.com/ltkong218/IFRNet: IFRNet_GoPro.pth (or IFRNet_S_GoPro.pth, IFRNet_L_GoPro.pth) "
    "interpolates at any time t; IFRNet_Vimeo90K.pth (and the _S/_L ones) makes midpoints only. "
    "Put the file at this path or set ifrnet.checkpoint in config/config.yaml."
)


def missing_checkpoint_message(path: str | Path) -> str | None:
    """None if the checkpoint exists, else what the user must do. Cheap: no torch needed."""
    if Path(path).is_file():
        return None
    return f"IFRNet checkpoint {path} not found. {WEIGHTS_HELP}"


def accepts_any_time(checkpoint: str, **_: Any) -> bool:
    """Whether the checkpoint's output depends on t (False for the Vimeo90K weights).

    Reads one tensor of the file. A missing file counts as any-time: the run is stopped by the
    missing checkpoint anyway (`vfi.pipeline.checks`).
    """
    if missing_checkpoint_message(checkpoint):
        return True
    return file_uses_time(checkpoint)


class IFRNetBackend(Backend):
    name = "ifrnet"

    def __init__(
        self,
        device: torch.device,
        checkpoint: str,
        scale_factor: float = 1.0,
        max_batch: int = 4,
        precision: str = "auto",
        tile: int = 0,
        tile_overlap: int = 128,
        model: IFRNet | None = None,
    ) -> None:
        """`model`: an IFRNet already in memory (fine-tuning validates with the weights it is
        training); `checkpoint` then only names it."""
        super().__init__(device)
        problem = missing_checkpoint_message(checkpoint) if model is None else None
        if problem:
            raise FileNotFoundError(problem)
        self.checkpoint = checkpoint
        self.scale_factor = float(scale_factor)
        self.tile, self.tile_overlap = tile, tile_overlap
        # As for LDMVFI: on the CPU, kernels round differently for different batch sizes, so
        # each pair runs alone and a frame's bytes never depend on its batch-mates.
        self.max_batch = max_batch if device.type != "cpu" else 1
        self.precision = resolve_precision(precision, device)
        if model is None:
            log.info(
                "loading IFRNet weights from %s onto %s (precision %s)",
                checkpoint,
                device,
                self.precision.name,
            )
            model = IFRNet.from_checkpoint(checkpoint, device=device)
        self.model = model
        # Weights without a time input make midpoints only; asking them for another t is a
        # mistake, except when measuring such weights before fine-tuning gives them one.
        self.refuse_other_times = True
        if self.precision.autocast_dtype is not None:
            # Convolutions in bf16/fp16; the model keeps flows, warping and merging in float32.
            self.model.to(self.precision.autocast_dtype)
        log.info(
            "IFRNet variant %s, %s",
            self.model.variant,
            "any time t" if self.model.uses_time else "midpoints only (no time input)",
        )

    def interpolate(
        self, prev: torch.Tensor, next: torch.Tensor, times: torch.Tensor, seeds: Sequence[int]
    ) -> torch.Tensor:
        """Frames in [-1, 1] at `times`; deterministic, seeds unused."""
        if (
            self.refuse_other_times
            and not self.model.uses_time
            and any(abs(t - 0.5) > 1e-6 for t in times.tolist())
        ):
            raise ValueError(
                f"{self.checkpoint} has no time input (a Vimeo90K checkpoint) and makes "
                "midpoints only; use timing: midpoint, or an IFRNet GoPro checkpoint"
            )

        def run(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return self.model.interpolate(a, b, times, scale_factor=self.scale_factor)

        # The model takes [0, 1]; the pipeline's frames are in [-1, 1].
        prev, next = (prev + 1) / 2, (next + 1) / 2
        # TF32 switches (off for fp32, as the official model computes); bf16/fp16 are the
        # weights' dtype instead of autocast, so that the float32 parts stay float32.
        switches = (
            self.precision.context(self.device)
            if self.precision.autocast_dtype is None
            else contextlib.nullcontext()
        )
        with switches:
            if self.tile:
                out = interpolate_tiled(run, prev, next, self.tile, self.tile_overlap)
            else:
                out = run(prev, next)
        return out * 2 - 1

    def describe(self) -> dict[str, object]:
        return {
            "name": self.name,
            "checkpoint": self.checkpoint,
            "variant": self.model.variant,
            "time_input": self.model.uses_time,
            "scale_factor": self.scale_factor,
            "precision": self.precision.name,
            "max_batch": self.max_batch,
            "tile": self.tile,
            "tile_overlap": self.tile_overlap,
        }
