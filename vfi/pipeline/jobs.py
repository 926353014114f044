"""How the work of many sequences is cut into jobs.

A model job pays a fixed price (interpreter and torch start, device start, weight load), so jobs
work on a batch of sequences at one level rather than on single frames. Batches are consecutive
runs of `batch_size` sequences in sorted name order: deterministic, and a crash loses one batch.
A level's job takes exactly its frames' parents as inputs, so the DAG orders levels by itself.
"""

from __future__ import annotations

from collections.abc import Sequence as Seq
from dataclasses import dataclass
from pathlib import Path

from vfi.data.layout import OutputLayout
from vfi.data.sequences import Sequence


@dataclass(frozen=True)
class Batch:
    index: int
    sequences: tuple[Sequence, ...]


@dataclass(frozen=True)
class LevelJob:
    """Generate every frame of one level for one batch of sequences."""

    batch: int
    level: int
    sequences: tuple[str, ...]
    inputs: tuple[Path, ...]
    outputs: tuple[Path, ...]

    @property
    def name(self) -> str:
        return f"interpolate_batch{self.batch:03d}_level{self.level}"


def make_batches(sequences: Seq[Sequence], batch_size: int) -> list[Batch]:
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    ordered = sorted(sequences, key=lambda s: s.name)
    return [
        Batch(i // batch_size, tuple(ordered[i : i + batch_size]))
        for i in range(0, len(ordered), batch_size)
    ]


def level_jobs(batch: Batch, layout: OutputLayout) -> list[LevelJob]:
    """One job per level present in the batch; inputs are exactly the parents of its frames."""
    by_level: dict[int, list[tuple[Sequence, int, int, int]]] = {}
    for seq in batch.sequences:
        for frame in seq.plan:
            by_level.setdefault(frame.level, []).append((seq, frame.index, frame.prev, frame.next))
    jobs = []
    for level in sorted(by_level):
        inputs: dict[Path, None] = {}
        outputs = []
        members: dict[str, None] = {}
        for seq, index, prev, nxt in by_level[level]:
            inputs[layout.source(seq, prev)] = None
            inputs[layout.source(seq, nxt)] = None
            outputs.append(layout.frame(seq, index))
            members[seq.name] = None
        jobs.append(LevelJob(batch.index, level, tuple(members), tuple(inputs), tuple(outputs)))
    return jobs
