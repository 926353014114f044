"""Training triplets in the users' layout: two frames and the true frame between them.

Wherever three frames a < m < b of a sequence are known (input frames, or ground truth), m is
the frame at t = (m - a) / (b - a) between a and b. Evaluation sequences give the odd frames
with the true even frame between them (t = 0.5); generation sequences with ground truth give
every spacing up to their widest gap between keyframes, so that models that take any t learn
uneven spacing too. Spans wider than that gap are left out: the model never faces them.

Triplets are split into training and validation by sequence, never by frame, so that validation
measures frames of sequences the model has not seen.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from vfi.data.sequences import Sequence


@dataclass(frozen=True)
class Triplet:
    sequence: str
    indices: tuple[int, int, int]  # a, m, b
    prev: Path
    middle: Path
    next: Path

    @property
    def time(self) -> float:
        a, m, b = self.indices
        return (m - a) / (b - a)


def find_triplets(seq: Sequence) -> list[Triplet]:
    """Every triplet of a sequence (none without ground truth), ordered by (a, m, b)."""
    if not seq.ground_truth:
        return []
    frames = {**seq.ground_truth, **seq.known}  # an input frame wins over a copy in gt/
    known = sorted(seq.known)
    widest = max(b - a for a, b in zip(known, known[1:], strict=False))
    indices = sorted(frames)
    triplets = []
    for i, a in enumerate(indices):
        for j in range(i + 1, len(indices)):
            m = indices[j]
            if m in seq.known:  # the middle must be a frame the model would be asked to make
                continue
            for b in indices[j + 1 :]:
                if b - a > widest:
                    break
                triplets.append(Triplet(seq.name, (a, m, b), frames[a], frames[m], frames[b]))
    return triplets


def split_sequences(
    names: Iterable[str], validation: float | list[str], seed: int = 0
) -> tuple[list[str], list[str]]:
    """(training, validation) sequence names.

    validation: the names themselves, or a fraction of the sequences drawn with `seed` (at
    least one each way when there are two or more sequences).
    """
    names = sorted(names)
    if isinstance(validation, list):
        unknown = sorted(set(validation) - set(names))
        if unknown:
            raise ValueError(
                f"finetune.validation names sequences without training triplets: {unknown}; "
                f"those with triplets: {names}"
            )
        held = sorted(validation)
    else:
        if not 0 <= validation < 1:
            raise ValueError(f"finetune.validation must be a fraction in [0, 1) (got {validation})")
        count = round(len(names) * validation)
        if validation > 0 and len(names) >= 2:
            count = min(max(count, 1), len(names) - 1)
        held = sorted(random.Random(seed).sample(names, count))
    training = [name for name in names if name not in held]
    if not training:
        raise ValueError("finetune.validation leaves no sequence to train on")
    return training, held
