"""Model jobs: copy the keyframes through, and make every frame of one level.

Every file is written atomically (`vfi.io.atomic`), so a job killed at any moment leaves either
finished frames or none.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Hashable, Iterable
from pathlib import Path

from vfi.data.layout import OutputLayout
from vfi.data.plan import PlannedFrame, frame_seed
from vfi.data.sequences import Sequence
from vfi.io.atomic import copy_atomic
from vfi.io.frames import read_frame, write_frame
from vfi.settings import Settings

log = logging.getLogger(__name__)


def copy_keyframes(sequences: Iterable[Sequence], layout: OutputLayout) -> None:
    """Generation output holds the whole sequence: copy the keyframes through, byte for byte."""
    for seq in sequences:
        for index in sorted(seq.known):
            copy_atomic(seq.known[index], layout.frame(seq, index))


def run_level(
    sequences: Iterable[Sequence], level: int, layout: OutputLayout, settings: Settings
) -> int:
    """Generate every frame of `level` of the given sequences; returns the number of frames."""
    import torch

    from vfi.backends import create_backend, resolve_timing
    from vfi.backends.base import Pair
    from vfi.io.tensors import from_model_tensor, to_model_tensor
    from vfi.pipeline.devices import resolve_device

    work = [(seq, frame) for seq in sequences for frame in seq.plan if frame.level == level]
    if not work:
        return 0
    device = resolve_device(settings.device)
    backend = create_backend(settings.backend, device, **settings.backend_options())
    timing = resolve_timing(settings.timing, settings.backend)
    log.info(
        "level %d: %d frame(s) of %d sequence(s) with backend %s on %s (timing %s)",
        level,
        len(work),
        len({s.name for s, _ in work}),
        backend.name,
        device,
        timing,
    )
    # Pairs of equal frame size can share a model call.
    groups: dict[tuple[int, int], list[tuple[Sequence, PlannedFrame]]] = {}
    for seq, frame in work:
        groups.setdefault((seq.info.height, seq.info.width), []).append((seq, frame))
    done = 0
    started = time.perf_counter()

    def load(path: Hashable) -> torch.Tensor:
        assert isinstance(path, Path)
        return to_model_tensor(read_frame(path))

    for members in groups.values():
        pairs = [
            Pair(
                layout.source(s, f.prev),
                layout.source(s, f.next),
                f.time(timing),
                frame_seed(settings.seed, s.name, f.index),
            )
            for s, f in members
        ]
        with torch.inference_mode():
            made = backend.interpolate_pairs(pairs, load)
            for (seq, frame), tensor in zip(members, made, strict=True):
                write_frame(layout.frame(seq, frame.index), from_model_tensor(tensor, seq.info))
                done += 1
                if done % backend.max_batch == 0 or done == len(work):
                    log.info(
                        "level %d: %d/%d frames done (%.1f s)",
                        level,
                        done,
                        len(work),
                        time.perf_counter() - started,
                    )
    return done
