"""How the work of many sequences is cut into jobs.

A model job pays a fixed price (interpreter and torch start, device start, weight load), so jobs
work on a batch of sequences at one level rather than on single frames. Batches are consecutive
runs of `batch_size` sequences in sorted name order: deterministic, and a crash loses one batch.
`batch_size: auto` sizes them from the data and the device (`vfi.pipeline.batching`): one job
per level on one machine, unless a budget or several GPUs ask for more.
A level's job takes exactly its frames' parents as inputs, so the DAG orders levels by itself.

Adding or removing a sequence must not redo the finished work of others. So, level by level,
sequences whose outputs of that level all exist keep the job they were made by: their job record
names it (see `Made`), and that job is planned again, with the same name (so the same log and
benchmark files) and the members that are still there. Only sequences with work left are
batched anew: a new sequence never joins a job whose other members are
finished, which would make Snakemake redo them (its inputs would look newer). A job's outputs are
its whole description: its parameters name no sequences, so Snakemake does not redo a job whose
list of members shrank (see rerun-triggers in the workflow's profiles).

Backends run beside the main one (`compare:`) get the same plan in their own output folder; a
name prefix (compare_blend_) keeps their jobs apart from the main ones.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from collections.abc import Sequence as Seq
from dataclasses import dataclass
from pathlib import Path

from vfi.data.layout import COPY_LEVEL, OutputLayout
from vfi.data.sequences import Sequence
from vfi.pipeline.batching import AUTO, Budget, auto_batches

BatchSize = int | str  # a number of sequences, or "auto"
# Auto-sized jobs without a budget: one per level.
NO_LIMITS = Budget()


@dataclass(frozen=True)
class Job:
    """One model job (a level of a batch) or keyframe copy job (level 0)."""

    name: str
    level: int
    sequences: tuple[str, ...]
    inputs: tuple[Path, ...]
    outputs: tuple[Path, ...]


@dataclass(frozen=True)
class Made:
    """What a job record says of the job that made a sequence's outputs of one level."""

    job: str
    batch: tuple[str, ...]


Recorded = Callable[[Sequence, int], "Made | None"]


def nothing_recorded(seq: Sequence, level: int) -> Made | None:
    return None


def job_prefix(level: int, name_prefix: str = "") -> str:
    kind = "copy_keyframes_" if level == COPY_LEVEL else f"interpolate_level{level}_"
    return name_prefix + kind


def job_name(level: int, first: str, name_prefix: str = "") -> str:
    """A job's name, from its level and its first sequence: the same batch gets the same name
    in every run (so resumed runs write the same job records), and names are identifiers.

    interpolate_level3_gen_gray8_A1_3f2a9c: the readable part of the name, then a hash of the
    exact name (names differing only in punctuation stay apart). `name_prefix` goes in front
    (compare_blend_interpolate_level3_...).
    """
    readable = re.sub(r"\W+", "_", first, flags=re.ASCII).strip("_")[:40] or "sequence"
    digest = hashlib.sha256(first.encode()).hexdigest()[:6]
    return f"{job_prefix(level, name_prefix)}{readable}_{digest}"


def _is_job_name(name: str, level: int, name_prefix: str = "") -> bool:
    return name.startswith(job_prefix(level, name_prefix)) and name.isidentifier()


def make_batches(sequences: Iterable[Sequence], batch_size: int) -> list[list[Sequence]]:
    """Consecutive runs of `batch_size` sequences in sorted name order."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    ordered = sorted(sequences, key=lambda s: s.name)
    return [ordered[i : i + batch_size] for i in range(0, len(ordered), batch_size)]


def batches_of(
    sequences: Seq[Sequence], level: int, batch_size: BatchSize, budget: Budget
) -> list[list[Sequence]]:
    """The batches of a level's sequences for a `batch_size` setting: a number, or auto."""
    if batch_size == AUTO:
        return auto_batches(sequences, level, budget)
    if isinstance(batch_size, str):
        raise ValueError(f"batch_size must be a number or {AUTO!r}, got {batch_size!r}")
    return make_batches(sequences, batch_size)


def plan_batches(
    sequences: Seq[Sequence],
    level: int,
    outputs: Callable[[Sequence], list[Path]],
    batch_size: BatchSize,
    exists: Callable[[Path], bool],
    recorded: Recorded,
    name_prefix: str = "",
    budget: Budget = NO_LIMITS,
) -> list[tuple[str, list[Sequence]]]:
    """(job name, members) of one level: finished sequences in the jobs that made them, then
    new jobs for the sequences with work left."""
    kept: dict[str, list[Sequence]] = {}
    left = []
    for seq in sorted(sequences, key=lambda s: s.name):
        made = recorded(seq, level)
        finished = all(exists(p) for p in outputs(seq))
        if finished and made is not None and _is_job_name(made.job, level, name_prefix):
            kept.setdefault(made.job, []).append(seq)
        else:
            left.append(seq)
    planned = sorted(kept.items())
    for batch in batches_of(left, level, batch_size, budget):
        name = job_name(level, batch[0].name, name_prefix)
        while name in kept:  # a kept job named after a sequence since redone: keep both apart
            name += "_new"
        planned.append((name, batch))
    return planned


def level_jobs(
    sequences: Iterable[Sequence],
    batch_size: BatchSize,
    layout: OutputLayout,
    exists: Callable[[Path], bool] = Path.exists,
    recorded: Recorded = nothing_recorded,
    name_prefix: str = "",
    budget: Budget = NO_LIMITS,
) -> list[Job]:
    """One job per level and batch; inputs are exactly the parents of its frames, outputs its
    frames and each sequence's job record. `budget` limits auto-sized jobs."""
    sequences = sorted(sequences, key=lambda s: s.name)
    jobs = []
    for level in sorted({f.level for seq in sequences for f in seq.plan}):
        members = [s for s in sequences if any(f.level == level for f in s.plan)]

        def outputs(seq: Sequence, level: int = level) -> list[Path]:
            return layout.level_outputs(seq, level)

        planned = plan_batches(
            members, level, outputs, batch_size, exists, recorded, name_prefix, budget
        )
        for name, batch in planned:
            inputs: dict[Path, None] = {}
            for seq in batch:
                for frame in seq.plan:
                    if frame.level == level:
                        inputs[layout.source(seq, frame.prev)] = None
                        inputs[layout.source(seq, frame.next)] = None
            jobs.append(
                Job(
                    name,
                    level,
                    tuple(s.name for s in batch),
                    tuple(inputs),
                    tuple(path for seq in batch for path in outputs(seq)),
                )
            )
    return jobs


def copy_jobs(
    sequences: Iterable[Sequence],
    batch_size: BatchSize,
    layout: OutputLayout,
    exists: Callable[[Path], bool] = Path.exists,
    recorded: Recorded = nothing_recorded,
    name_prefix: str = "",
) -> list[Job]:
    """Jobs that copy the keyframes of generation sequences into the output, byte for byte,
    and write a job record each (`layout.copy_outputs`). Copies are cheap: auto makes one job
    of all the sequences left to copy."""
    generation = [s for s in sequences if s.mode == "generate"]
    outputs = layout.copy_outputs
    planned = plan_batches(
        generation, COPY_LEVEL, outputs, batch_size, exists, recorded, name_prefix
    )
    return [
        Job(
            name,
            COPY_LEVEL,
            tuple(s.name for s in batch),
            tuple(seq.known[i] for seq in batch for i in sorted(seq.known)),
            tuple(path for seq in batch for path in outputs(seq)),
        )
        for name, batch in planned
    ]
