"""What each kind of workflow job does, as plain functions of the library.

The workflow's rules call these through the `vfi` command; they can equally be called by hand.
Every file is written atomically (see `vfi.frames`), so a job killed at any moment leaves either
finished files or none.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import platform
import time
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

import numpy as np

from vfi import __version__
from vfi.dataset import Sequence
from vfi.frames import (
    copy_atomic,
    read_frame,
    write_frame,
    write_text_atomic,
)
from vfi.layout import OutputLayout
from vfi.metrics import METRIC_NAMES, score
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
    cache: dict[Path, torch.Tensor] = {}

    def load(path: Path) -> torch.Tensor:
        if path not in cache:
            cache[path] = to_model_tensor(read_frame(path))
        return cache[path]

    for pairs in groups.values():
        for start in range(0, len(pairs), backend.max_batch):
            chunk = pairs[start : start + backend.max_batch]
            prev = torch.stack([load(layout.source(s, f.prev)) for s, f in chunk]).to(device)
            nxt = torch.stack([load(layout.source(s, f.next)) for s, f in chunk]).to(device)
            times = torch.tensor([f.time(timing) for _, f in chunk], dtype=torch.float32)
            seeds = [frame_seed(settings.seed, s.name, f.index) for s, f in chunk]
            with torch.inference_mode():
                out = backend.interpolate(prev, nxt, times, seeds)
            for (seq, frame), tensor in zip(chunk, out, strict=True):
                write_frame(layout.frame(seq, frame.index), from_model_tensor(tensor, seq.info))
            done += len(chunk)
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


def score_sequence(seq: Sequence, layout: OutputLayout, backend: str) -> list[dict[str, object]]:
    """Score every generated frame that has ground truth; write metrics.txt and metrics.csv."""
    rows: list[dict[str, object]] = []
    for index in sorted(seq.scored):
        frame = seq.planned(index)
        values = score(read_frame(layout.frame(seq, index)), read_frame(seq.ground_truth[index]))
        rows.append(
            {
                "sequence": seq.name,
                "mode": seq.mode,
                "frame": index,
                "level": frame.level,
                "prev": frame.prev,
                "next": frame.next,
                "backend": backend,
                **values,
            }
        )
        log.info("%s frame %d: %s", seq.name, index, _format_values(values))
    write_text_atomic(layout.metrics_txt(seq), format_metrics_txt(seq.name, backend, rows))
    write_text_atomic(layout.metrics_csv(seq), rows_to_csv(rows))
    return rows


def _format_values(values: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.4f}" for k, v in values.items())


def format_metrics_txt(sequence: str, backend: str, rows: list[dict[str, object]]) -> str:
    """Human-readable: a header, one line per frame, then the mean of each metric."""
    lines = [
        f"# sequence: {sequence}",
        f"# backend: {backend}",
        "# PSNR in dB (data range = full bit depth), SSIM in [-1, 1]",
        f"{'frame':>6} {'psnr':>9} {'ssim':>8}",
    ]
    for row in rows:
        lines.append(f"{row['frame']:>6} {row['psnr']:>9.4f} {row['ssim']:>8.5f}")
    if not rows:
        lines.append("# no ground truth for any generated frame: nothing scored")
    else:
        means = {m: _finite_mean([float(r[m]) for r in rows]) for m in METRIC_NAMES}
        lines.append(f"{'mean':>6} {means['psnr']:>9.4f} {means['ssim']:>8.5f}")
    return "\n".join(lines) + "\n"


def _finite_mean(values: list[float]) -> float:
    """Mean over finite values (PSNR of an exact reproduction is infinite)."""
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else math.inf


CSV_COLUMNS = ("sequence", "mode", "frame", "level", "prev", "next", "backend", *METRIC_NAMES)


def rows_to_csv(rows: list[dict[str, object]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_value(row[k]) for k in CSV_COLUMNS})
    return out.getvalue()


def _csv_value(value: object) -> object:
    return f"{value:.6f}" if isinstance(value, float) else value


def write_provenance(seq: Sequence, layout: OutputLayout, settings: Settings) -> None:
    """Record how every generated frame was made: parents, time asked for, seed, software."""
    from vfi.backends import REGISTRY

    timing = resolve_timing(settings.timing, REGISTRY[settings.backend].supports_any_time)
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


def aggregate_metrics(csv_files: Iterable[Path], out_file: Path) -> int:
    """Concatenate per-sequence metrics.csv files into one table; returns the row count."""
    rows: list[dict[str, object]] = []
    for path in sorted(csv_files, key=str):
        with open(path, newline="") as f:
            rows.extend(csv.DictReader(f))
    write_text_atomic(out_file, rows_to_csv(rows))
    return len(rows)


def finish_sequence(seq: Sequence, layout: OutputLayout, settings: Settings) -> None:
    """The last job of a sequence: its provenance and its scores (empty without ground truth)."""
    write_provenance(seq, layout, settings)
    score_sequence(seq, layout, settings.backend)
