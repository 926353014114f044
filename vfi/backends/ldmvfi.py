"""LDMVFI behind the backend interface: midpoints only, noise seeded per frame.

Within a job each known frame is encoded once and its encoding (padded frame, latent, encoder
features) is reused by every pair that has it as a neighbour, then dropped after its last use.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Hashable, Iterable, Iterator, Sequence
from pathlib import Path

import torch

from vfi.backends.base import Backend, FrameLoader, Pair, chunks, make_cuda_deterministic
from vfi.models.ldmvfi import LDMVFI
from vfi.models.ldmvfi.model import EncodedFrames
from vfi.models.ldmvfi.sampler import check_step_count, sampler_steps
from vfi.models.precision import resolve_precision

log = logging.getLogger(__name__)

# Steps of the published diffusion schedule (the config's `timesteps`).
DDPM_STEPS = 1000

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
        precision: str = "auto",
    ) -> None:
        super().__init__(device)
        problem = missing_checkpoint_message(checkpoint)
        if problem:
            raise FileNotFoundError(problem)
        self.checkpoint, self.config = checkpoint, config
        if sampler == "ddim":
            check_step_count(DDPM_STEPS, steps)
        self.sampler, self.steps, self.eta = sampler, steps, eta
        # Determinism: a frame's bytes must not depend on which frames share its batch. On the
        # CPU, kernels round differently for different batch sizes, so each pair runs alone
        # (CPU runs are for small data; batching gains little there). On CUDA, batching is
        # kept for speed and deterministic algorithms make equal batches give equal bytes.
        self.batched = device.type != "cpu"
        self.max_batch = max_batch if self.batched else 1
        if device.type == "cuda":
            make_cuda_deterministic()
        self.precision = resolve_precision(precision, device)
        log.info(
            "loading LDMVFI weights from %s onto %s (precision %s)",
            checkpoint,
            device,
            self.precision.name,
        )
        self.model = LDMVFI.from_checkpoint(checkpoint, config=config, device=device)

    def interpolate(
        self, prev: torch.Tensor, next: torch.Tensor, times: torch.Tensor, seeds: Sequence[int]
    ) -> torch.Tensor:
        _check_midpoints(times.tolist())
        return self.model.interpolate(
            prev,
            next,
            steps=self.steps,
            eta=self.eta,
            seeds=list(seeds),
            sampler=self.sampler,
            precision=self.precision,
        )

    def interpolate_pairs(self, pairs: Sequence[Pair], load: FrameLoader) -> Iterator[torch.Tensor]:
        """As the base class, but every frame is encoded once for all the pairs that share it."""
        _check_midpoints(p.time for p in pairs)
        uses = Counter(key for p in pairs for key in (p.prev, p.next))
        encoded: dict[Hashable, EncodedFrames] = {}
        for chunk in chunks(pairs, self.max_batch):
            new = list(dict.fromkeys(k for p in chunk for k in (p.prev, p.next)))
            encoded |= self._encode([k for k in new if k not in encoded], load)
            out = self.model.interpolate_encoded(
                EncodedFrames.cat([encoded[p.prev] for p in chunk]),
                EncodedFrames.cat([encoded[p.next] for p in chunk]),
                steps=self.steps,
                eta=self.eta,
                seeds=[p.seed for p in chunk],
                sampler=self.sampler,
                precision=self.precision,
            )
            for key in (k for p in chunk for k in (p.prev, p.next)):
                uses[key] -= 1
                if not uses[key]:
                    del encoded[key]
            yield from out

    def _encode(self, keys: list[Hashable], load: FrameLoader) -> dict[Hashable, EncodedFrames]:
        """Encodings of the frames `keys`: batched, or one by one (see `batched`)."""
        if not keys:
            return {}
        groups = [keys] if self.batched else [[k] for k in keys]
        result: dict[Hashable, EncodedFrames] = {}
        for group in groups:
            frames = torch.stack([load(k) for k in group]).to(self.device)
            batch = self.model.encode_frames(frames, self.precision)
            result |= {k: batch[i] for i, k in enumerate(group)}
        return result

    def describe(self) -> dict[str, object]:
        return {
            "name": self.name,
            "checkpoint": self.checkpoint,
            "config": self.config,
            "sampler": self.sampler,
            "steps": self.steps,
            "sampler_steps": sampler_steps(self.sampler, self.steps, DDPM_STEPS),
            "eta": self.eta,
            "precision": self.precision.name,
            "max_batch": self.max_batch,
        }


def _check_midpoints(times: Iterable[float]) -> None:
    if any(abs(t - 0.5) > 1e-6 for t in times):
        raise ValueError("LDMVFI only makes midpoints (t = 0.5); use timing: midpoint")
