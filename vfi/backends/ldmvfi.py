"""LDMVFI behind the backend interface: midpoints only, noise seeded per frame."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import torch

from vfi.backends.base import Backend
from vfi.ldmvfi import LDMVFI

log = logging.getLogger(__name__)

WEIGHTS_HELP = (
    "LDMVFI needs the official checkpoint ldmvfi-vqflow-f32-c256-concat_max.ckpt (about 3.4 GB; "
    "see the 'Pre-trained model' link in the README of github.com/danier97/LDMVFI). Put it at "
    "this path or set ldmvfi.checkpoint in config/config.yaml (or in a file passed with "
    "--configfile)."
)


def missing_checkpoint_message(path: str | Path) -> str | None:
    """None if the checkpoint exists, else what the user must do. Cheap: no torch needed."""
    if Path(path).is_file():
        return None
    return f"LDMVFI checkpoint {path} not found. {WEIGHTS_HELP}"


def compact_weights_path(checkpoint: str | Path, folder: Path) -> Path:
    """Where the workflow keeps the compact weights of `checkpoint` (itself if already compact)."""
    checkpoint = Path(checkpoint)
    if checkpoint.suffix == ".safetensors":
        return checkpoint
    return Path(folder) / f"{checkpoint.stem}.safetensors"


class LDMVFIBackend(Backend):
    name = "ldmvfi"

    def __init__(
        self,
        device: torch.device,
        checkpoint: str,
        config: str | None = None,
        sampler: str = "ddim",
        steps: int = 200,
        eta: float = 1.0,
        max_batch: int = 4,
    ) -> None:
        super().__init__(device)
        problem = missing_checkpoint_message(checkpoint)
        if problem:
            raise FileNotFoundError(problem)
        self.checkpoint, self.config = checkpoint, config
        self.sampler, self.steps, self.eta = sampler, steps, eta
        # Determinism: a frame's bytes must not depend on which frames share its batch. On the
        # CPU, kernels round differently for different batch sizes, so each pair runs alone
        # (CPU runs are for small data; batching gains little there). On CUDA, batching is
        # kept for speed and deterministic algorithms make equal batches give equal bytes.
        self.max_batch = 1 if device.type == "cpu" else max_batch
        if device.type == "cuda":
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.backends.cudnn.benchmark = False
            torch.backends.cudnn.deterministic = True
            torch.use_deterministic_algorithms(True, warn_only=True)
        log.info("loading LDMVFI weights from %s onto %s", checkpoint, device)
        self.model = LDMVFI.from_checkpoint(checkpoint, config=config, device=device)

    def interpolate(
        self, prev: torch.Tensor, next: torch.Tensor, times: torch.Tensor, seeds: Sequence[int]
    ) -> torch.Tensor:
        if not torch.allclose(times, torch.full_like(times, 0.5)):
            raise ValueError("LDMVFI only makes midpoints (t = 0.5); use timing: midpoint")
        return self.model.interpolate(
            prev, next, steps=self.steps, eta=self.eta, seeds=list(seeds), sampler=self.sampler
        )

    def describe(self) -> dict[str, object]:
        return {
            "name": self.name,
            "checkpoint": self.checkpoint,
            "config": self.config,
            "sampler": self.sampler,
            "steps": self.steps,
            "eta": self.eta,
        }
