"""PerVFI behind the backend interface: RAFT flows, then the official generator, any time t.

The v00 generator samples its normalizing-flow decoder from noise; each frame draws that noise
from its own seed (the pipeline's), so reruns give the same bytes. The vb generator draws none.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from pathlib import Path

import torch

from vfi.backends.base import Backend, make_cuda_deterministic
from vfi.models.precision import Precision, resolve_precision
from vfi.models.tiling import interpolate_tiled

log = logging.getLogger(__name__)

WEIGHTS_HELP = (
    "PerVFI's weights, PerVFI/v00.pth (or PerVFI/vb.pth, the fast variant), are published at "
    "https://huggingface.co/Mulns/PerVFI-v1-0 (linked from the README of "
    "github.com/mulns/PerVFI); put the file at this path or set pervfi.checkpoint in "
    "config/config.yaml."
)
FLOW_WEIGHTS_HELP = (
    "PerVFI needs RAFT weights: RAFT/raft-sintel.pth of the same release (or models.zip of "
    "github.com/princeton-vl/RAFT), or torchvision's port of them, "
    "https://download.pytorch.org/models/raft_large_C_T_SKHT_V1-0b8c9e55.pth. Nothing is "
    "downloaded at run time: put the file at this path or set pervfi.flow_weights in "
    "config/config.yaml."
)
# Tiles after the first draw their noise from the frame's seed moved by this odd constant per
# tile, so that tiles do not share noise and a whole-frame run keeps the frame's own seed.
TILE_SEED_STEP = 0x9E3779B97F4A7C15


def missing_weights_message(checkpoint: str | Path, flow_weights: str | Path) -> str | None:
    """None if both weight files exist, else what the user must do. Cheap: no torch needed."""
    problems = []
    if not Path(checkpoint).is_file():
        problems.append(f"PerVFI checkpoint {checkpoint} not found. {WEIGHTS_HELP}")
    if not Path(flow_weights).is_file():
        problems.append(f"RAFT weights {flow_weights} not found. {FLOW_WEIGHTS_HELP}")
    return " ".join(problems) or None


def pervfi_precision(setting: str, device: torch.device) -> Precision:
    """`auto`: fp16 on a GPU, else fp32. Measured against fp32 (`benchmarks/pervfi_speed.py
    --only fidelity`, fixture weights, 128x128): the final frame differs by at most 0.0017 in
    fp16 and 0.014 in bf16 (mean 0.00016 / 0.0015), and RAFT's official regions are fp16 too."""
    if setting == "auto":
        return Precision("fp16" if device.type == "cuda" else "fp32")
    return resolve_precision(setting, device)


def tile_seeds(seeds: Sequence[int], tile: int) -> list[int]:
    """The noise seeds of tile number `tile` (0 = the first tile, or the whole frame)."""
    return [(int(seed) + tile * TILE_SEED_STEP) % 2**64 for seed in seeds]


class PerVFIBackend(Backend):
    name = "pervfi"

    def __init__(
        self,
        device: torch.device,
        checkpoint: str,
        flow_weights: str,
        heat: float = 0.3,
        raft_iterations: int = 12,
        max_batch: int = 4,
        precision: str = "auto",
        tile: int = 0,
        tile_overlap: int = 128,
    ) -> None:
        super().__init__(device)
        if problem := missing_weights_message(checkpoint, flow_weights):
            raise FileNotFoundError(problem)
        from vfi.models.pervfi import PerVFI

        self.checkpoint, self.flow_weights = checkpoint, flow_weights
        self.heat, self.raft_iterations = float(heat), int(raft_iterations)
        self.tile, self.tile_overlap = tile, tile_overlap
        # As for the other models: on the CPU, kernels round differently for different batch
        # sizes, so each pair runs alone and a frame's bytes never depend on its batch-mates.
        self.max_batch = max_batch if device.type != "cpu" else 1
        if device.type == "cuda":
            make_cuda_deterministic()  # splatting's index_add_ uses atomics otherwise
        self.precision = pervfi_precision(precision, device)
        log.info(
            "loading PerVFI weights from %s and RAFT weights from %s onto %s (precision %s)",
            checkpoint,
            flow_weights,
            device,
            self.precision.name,
        )
        self.model = PerVFI.from_checkpoint(
            checkpoint, device=device, flow_weights=flow_weights, raft_iterations=raft_iterations
        )
        # With bf16/fp16 the generator is autocast; RAFT then runs its encoders and update
        # block in float16 as the official code does on CUDA (its correlation stays float32).
        assert self.model.flow_estimator is not None
        self.model.flow_estimator.mixed_precision = self.precision.autocast_dtype is not None
        log.info("PerVFI variant %s", self.model.variant)

    def interpolate(
        self, prev: torch.Tensor, next: torch.Tensor, times: torch.Tensor, seeds: Sequence[int]
    ) -> torch.Tensor:
        """Frames in [-1, 1] at `times`; the noise of frame i comes from seeds[i]."""
        tile_number = itertools.count().__next__  # tiles run in a fixed order

        def run(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            noise_seeds = tile_seeds(seeds, tile_number())
            return self.model.interpolate(a, b, times, noise_seeds, heat=self.heat)

        # The model takes [0, 1]; the pipeline's frames are in [-1, 1].
        prev, next = (prev + 1) / 2, (next + 1) / 2
        with self.precision.context(self.device):
            if self.tile:
                out = interpolate_tiled(run, prev, next, self.tile, self.tile_overlap)
            else:
                out = run(prev, next)
        return out.float() * 2 - 1

    def describe(self) -> dict[str, object]:
        return {
            "name": self.name,
            "checkpoint": self.checkpoint,
            "flow_weights": self.flow_weights,
            "variant": self.model.variant,
            "heat": self.heat,
            "raft_iterations": self.raft_iterations,
            "precision": self.precision.name,
            "max_batch": self.max_batch,
            "tile": self.tile,
            "tile_overlap": self.tile_overlap,
        }
