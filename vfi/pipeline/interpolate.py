"""Model jobs: copy the keyframes through, and make every frame of one level.

Every file is written atomically (`vfi.io.atomic`), so a job killed at any moment leaves either
finished frames or none. A sequence's frames all go through one intensity mapping, computed from
its known frames (`vfi.io.intensity`), so every level and every backend sees the same one.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Hashable, Iterable
from pathlib import Path

import numpy as np
import tifffile

from vfi.data.layout import COPY_LEVEL, OutputLayout
from vfi.data.plan import PlannedFrame, frame_seed
from vfi.data.sequences import Sequence
from vfi.io.atomic import copy_atomic, write_bytes_atomic
from vfi.io.frames import read_frame, write_frame
from vfi.io.intensity import Normalisation, frame_statistics
from vfi.settings import Settings

log = logging.getLogger(__name__)


def copy_keyframes(
    sequences: Iterable[Sequence], layout: OutputLayout, job: str | None = None
) -> None:
    """Generation output holds the whole sequence: copy the keyframes through, byte for byte,
    and record which job did (`vfi.pipeline.jobs`)."""
    from vfi.pipeline.provenance import write_job_record

    sequences = list(sequences)
    for seq in sequences:
        for index in sorted(seq.known):
            copy_atomic(seq.known[index], layout.frame(seq, index))
    batch = [seq.name for seq in sequences]
    for seq in sequences:
        record = {"level": COPY_LEVEL, "job": job, "batch": batch}
        write_job_record(layout.job_record(seq, COPY_LEVEL), record)


def normalisation_of(seq: Sequence, setting: str) -> Normalisation:
    """The intensity mapping of a sequence, from its known frames only (the same in every job)."""
    stats = frame_statistics(read_frame(path) for path in seq.known.values())
    return Normalisation.for_sequence(setting, stats)


def run_level(
    sequences: Iterable[Sequence],
    level: int,
    layout: OutputLayout,
    settings: Settings,
    job: str | None = None,
) -> int:
    """Generate every frame of `level` of the given sequences and write each sequence's job
    record (`vfi.pipeline.provenance`; `job` is the workflow's name of this job); returns the
    number of frames."""
    import torch

    from vfi.backends import backend_spec, create_backend, resolve_timing
    from vfi.backends.base import Pair
    from vfi.io.tensors import from_model_tensor, to_model_tensor
    from vfi.pipeline.devices import resolve_device
    from vfi.pipeline.provenance import device_description, software_versions, write_job_record

    work = [(seq, frame) for seq in sequences for frame in seq.plan if frame.level == level]
    if not work:
        return 0
    timing = resolve_timing(settings.timing, settings.backend, settings.backend_options())
    # Backends that never use a GPU run on the CPU and claim none, whatever `device:` says.
    uses_gpu = backend_spec(settings.backend).uses_gpu
    device = resolve_device(settings.device) if uses_gpu else torch.device("cpu")
    backend = create_backend(settings.backend, device, **settings.backend_options())
    members = list({seq.name: seq for seq, _ in work}.values())
    normalisations = {seq.name: normalisation_of(seq, settings.intensity) for seq in members}
    for name, mapping in normalisations.items():
        if mapping.mode == "stretch":
            log.info(
                "%s: intensities %.1f..%.1f stretched to the model's range (results clipped to "
                "0..%d)",
                name,
                mapping.low,
                mapping.high,
                mapping.ceiling,
            )
    log.info(
        "level %d: %d frame(s) of %d sequence(s) with backend %s on %s (timing %s)",
        level,
        len(work),
        len(members),
        backend.name,
        device,
        timing,
    )
    # A frame file belongs to one sequence, whose mapping it is read with.
    owner = {layout.source(seq, i): seq.name for seq, f in work for i in (f.prev, f.next)}

    def load(path: Hashable) -> torch.Tensor:
        assert isinstance(path, Path)
        return to_model_tensor(read_frame(path), normalisations[owner[path]])

    # Pairs of equal frame size can share a model call.
    groups: dict[tuple[int, int], list[tuple[Sequence, PlannedFrame]]] = {}
    for seq, frame in work:
        groups.setdefault((seq.info.height, seq.info.width), []).append((seq, frame))
    done = 0
    started = time.perf_counter()
    for group in groups.values():
        pairs = [
            Pair(
                layout.source(s, f.prev),
                layout.source(s, f.next),
                f.time(timing),
                frame_seed(settings.seed, s.name, f.index),
            )
            for s, f in group
        ]
        with torch.inference_mode():
            made = backend.interpolate_pairs(pairs, load)
            for (seq, frame), tensor in zip(group, made, strict=True):
                pixels = from_model_tensor(tensor, seq.info, normalisations[seq.name])
                keyframe = seq.known[min(seq.known)]
                write_frame(layout.frame(seq, frame.index), pixels, like=keyframe)
                if (images := backend.take_diagnostics()) is not None:
                    write_debug_images(layout.debug_files(seq, frame.index), images)
                done += 1
                if done % backend.max_batch == 0 or done == len(work):
                    log.info(
                        "level %d: %d/%d frames done (%.1f s)",
                        level,
                        done,
                        len(work),
                        time.perf_counter() - started,
                    )
    software = software_versions(with_torch=True)
    for seq in members:
        record = {
            "level": level,
            # The job and the sequences made together, so that later runs keep finished ones
            # in the same job (vfi.pipeline.jobs); not in provenance.json, which must not depend
            # on the history of the runs.
            "job": job,
            "batch": [s.name for s in members],
            "backend": backend.describe(),
            "timing": timing,
            "device": device_description(device),
            "intensity": normalisations[seq.name].describe(),
            "software": software,
        }
        write_job_record(layout.job_record(seq, level), record)
    return done


def write_debug_images(paths: dict[str, Path], images: dict[str, np.ndarray]) -> None:
    """A backend's debug images of one frame: float maps as 32-bit TIFF (ImageJ reads their
    values), pictures as PNG; each atomically."""
    for name, image in images.items():
        path = paths[name]
        if image.dtype == np.float32:
            buffer = io.BytesIO()
            tifffile.imwrite(buffer, image, compression="zlib")
            write_bytes_atomic(path, buffer.getvalue())
        else:
            write_frame(path, image)


def sequences_for_outputs(outputs: Iterable[Path], layout: OutputLayout) -> list[str]:
    """The sequences whose outputs a job was asked to make (the workflow names a job's work by
    its output files, so that its parameters do not change when batches do)."""
    return sorted({layout.sequence_of(Path(path)) for path in outputs})


def check_outputs(asked: Iterable[Path], expected: Iterable[Path], what: str) -> None:
    """A job makes exactly the files it was asked for, or says which differ."""
    asked_set = {Path(p) for p in asked}
    expected_set = {Path(p) for p in expected}
    if asked_set != expected_set:
        missing = sorted(map(str, asked_set - expected_set))[:5]
        extra = sorted(map(str, expected_set - asked_set))[:5]
        raise ValueError(
            f"{what}: the files asked for do not match the plan (not in the plan: {missing}; "
            f"in the plan but not asked for: {extra}); the data changed since the workflow "
            "was planned: plan the jobs again (run the workflow again)"
        )
