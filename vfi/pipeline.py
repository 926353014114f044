"""What each kind of workflow job does, as plain functions of the library.

The workflow's rules call these through the `vfi` command; they can equally be called by hand.
Every file is written atomically (see `vfi.frames`), so a job killed at any moment leaves either
finished files or none.
"""

from __future__ import annotations

import json
import logging
import platform
import time
from collections.abc import Hashable, Iterable
from dataclasses import asdict
from pathlib import Path

from vfi import __version__
from vfi.dataset import Sequence
from vfi.frames import (
    copy_atomic,
    read_frame,
    write_frame,
    write_text_atomic,
)
from vfi.layout import OutputLayout
from vfi.plan import PlannedFrame, Timing, frame_seed
from vfi.settings import Settings

log = logging.getLogger(__name__)


def resolve_timing(setting: str, supports_any_time: bool) -> Timing:
    """`auto` asks for the exact time where the backend can interpolate at any t."""
    if setting == "auto":
        return "exact" if supports_any_time else "midpoint"
    if setting == "exact" and not supports_any_time:
        raise ValueError("timing: exact needs a backend that accepts any t; use midpoint or auto")
    if setting not in ("midpoint", "exact"):
        raise ValueError(f"timing must be auto, midpoint or exact, got {setting!r}")
    return setting  # type: ignore[return-value]


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

    from vfi.backends import REGISTRY, create_backend, resolve_device
    from vfi.backends.base import Pair
    from vfi.tensors import from_model_tensor, to_model_tensor

    work = [(seq, frame) for seq in sequences for frame in seq.plan if frame.level == level]
    if not work:
        return 0
    device = resolve_device(settings.device)
    backend = create_backend(settings.backend, device, **_backend_options(settings))
    timing = resolve_timing(settings.timing, REGISTRY[settings.backend].supports_any_time)
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


def _backend_options(settings: Settings) -> dict[str, object]:
    if settings.backend == "ldmvfi":
        return asdict(settings.ldmvfi)
    return {}


def write_provenance(
    seq: Sequence, layout: OutputLayout, settings: Settings, timing: Timing
) -> None:
    """Record how every generated frame was made: parents, time asked for, seed, software."""
    record = {
        "sequence": seq.name,
        "mode": seq.mode,
        "backend": settings.backend,
        "backend_settings": _backend_options(settings),
        "timing": timing,
        "seed": settings.seed,
        "input_frames": {str(i): str(p) for i, p in sorted(seq.known.items())},
        "frame_info": asdict(seq.info),
        "frames": [
            {
                "frame": f.index,
                "output": str(layout.frame(seq, f.index)),
                "level": f.level,
                "parents": [f.prev, f.next],
                "time": f.time(timing),
                "effective_index": f.effective_index(timing),
                "seed": frame_seed(settings.seed, seq.name, f.index),
            }
            for f in sorted(seq.plan, key=lambda f: f.index)
        ],
        "software": {"vfi": __version__, "python": platform.python_version()},
    }
    write_text_atomic(layout.provenance(seq), json.dumps(record, indent=2) + "\n")


def finish_sequence(seq: Sequence, layout: OutputLayout, settings: Settings) -> None:
    """The last job of a sequence: its provenance and its scores (empty without ground truth).

    LPIPS is loaded only when something is scored; see `vfi.lpips_metric` for missing weights.
    """
    # Imported here: scoring pulls in scikit-image and SciPy (over a second), which model jobs
    # never need.
    from vfi.backends import REGISTRY
    from vfi.lpips_metric import load_lpips
    from vfi.scoring import score_sequence

    timing = resolve_timing(settings.timing, REGISTRY[settings.backend].supports_any_time)
    write_provenance(seq, layout, settings, timing)
    scorer, note = None, None
    if seq.scored:
        metrics = settings.metrics
        scorer, note = load_lpips(metrics.lpips, metrics.lpips_net, metrics.lpips_weights)
    score_sequence(seq, layout, settings.backend, timing, scorer, note)
