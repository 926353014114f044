"""How many sequences share a model job when `batch_size: auto`.

A model job pays a fixed start-up (interpreter, torch, device, weights: about 4.5 s on a CPU)
whatever its size, so auto puts a level's sequences into as few jobs as possible: one job per
level on one machine. It splits a level only

- to keep several GPUs busy at once (`model_jobs.parallel`: auto counts the GPUs this machine
  shows, for backends that use one), and
- to keep each job within a budget (`model_jobs.max_frames`, `model_jobs.max_megapixels`): what
  an interrupted job costs to redo, and what must fit a cluster's wall-time limit.

Everything here is decided when the DAG is built, from what is known then without reading
pixels or importing torch: the sequences' plans and frame sizes (file headers), the backend and
the `device:` setting. Batches are consecutive runs of the sorted names, so the same data and
settings always give the same jobs (`vfi.pipeline.jobs` keeps finished sequences in their jobs).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from collections.abc import Sequence as Seq
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vfi.data.sequences import Sequence
from vfi.pipeline.devices import NVIDIA_GPUS, gpu_visible

if TYPE_CHECKING:
    from vfi.settings import Settings

AUTO = "auto"


@dataclass(frozen=True)
class Budget:
    """Limits of one auto-sized model job (None: no limit) and the jobs a level is split into
    at least."""

    max_frames: int | None = None
    max_megapixels: float | None = None
    parallel: int = 1


def gpu_count(environ: Mapping[str, str] = os.environ, gpus_dir: Path = NVIDIA_GPUS) -> int:
    """The NVIDIA GPUs this process can see, counted without torch: the driver's list, cut to
    CUDA_VISIBLE_DEVICES when that is set."""
    if not gpu_visible(environ, gpus_dir):
        return 0
    try:
        present = sum(1 for _ in gpus_dir.iterdir())
    except OSError:
        return 0
    visible = environ.get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        return present
    return min(present, len([d for d in visible.split(",") if d.strip()]))


def parallel_jobs(setting: int | str, uses_gpu: bool, device: str, gpus: int) -> int:
    """Jobs per level that `model_jobs.parallel` asks for: a number as it is; auto, one per GPU
    (`gpus`: `gpu_count()`) for a backend that uses one and may claim any (device auto or
    cuda), else 1 (one CPU job uses its threads; jobs of other levels and sequences run
    beside it)."""
    if setting != AUTO:
        return int(setting)
    if uses_gpu and device in ("auto", "cuda"):
        return max(1, gpus)
    return 1


def frames_at(seq: Sequence, level: int) -> int:
    return sum(1 for frame in seq.plan if frame.level == level)


def auto_batches(sequences: Seq[Sequence], level: int, budget: Budget) -> list[list[Sequence]]:
    """Consecutive runs of the sorted sequences: as few as the budget allows, at least
    `budget.parallel` (when there are that many sequences), of similar size.

    A run closes when it holds its share of the sequences, or when the next sequence would take
    it over `max_frames` or `max_megapixels` (frames made at `level`, and their pixels); a
    sequence over the budget on its own gets a job of its own (a sequence's level is never
    split: its frames share parents and a job record).
    """
    ordered = sorted(sequences, key=lambda s: s.name)
    if not ordered:
        return []
    share = math.ceil(len(ordered) / max(1, min(budget.parallel, len(ordered))))
    batches: list[list[Sequence]] = []
    frames = 0
    pixels = 0.0
    for seq in ordered:
        count = frames_at(seq, level)
        megapixels = count * seq.info.width * seq.info.height / 1e6
        over = (budget.max_frames is not None and frames + count > budget.max_frames) or (
            budget.max_megapixels is not None and pixels + megapixels > budget.max_megapixels
        )
        if not batches or len(batches[-1]) >= share or over:
            batches.append([])
            frames, pixels = 0, 0.0
        batches[-1].append(seq)
        frames += count
        pixels += megapixels
    return batches


def budget_for(settings: Settings, gpus: int) -> Budget:
    """The budget of a run's auto-sized model jobs (`gpus`: `gpu_count()` of this machine)."""
    from vfi.backends import backend_spec

    jobs = settings.model_jobs
    uses_gpu = backend_spec(settings.backend).uses_gpu
    return Budget(
        max_frames=jobs.max_frames,
        max_megapixels=jobs.max_megapixels,
        parallel=parallel_jobs(jobs.parallel, uses_gpu, settings.device, gpus),
    )
