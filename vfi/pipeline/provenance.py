"""What a sequence's provenance.json says: how every frame was made, and with what.

Model jobs write a record per (sequence, level) (`job_record`): the backend's parameters as it
resolved them (precision, real sampler steps), the device, the intensity mapping and the
software. The finish job merges them with the plan into provenance.json. Nothing time-dependent
is recorded, so reruns write the same bytes.
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
from dataclasses import asdict
from pathlib import Path
from typing import Any

from vfi import __version__
from vfi.data.layout import OutputLayout
from vfi.data.plan import Timing, frame_seed
from vfi.data.sequences import Sequence
from vfi.io.atomic import write_text_atomic
from vfi.pipeline.jobs import Made
from vfi.settings import Settings

PACKAGES = ("numpy", "opencv-python-headless", "tifffile", "scikit-image", "lpips", "safetensors")


def software_versions(with_torch: bool = False) -> dict[str, str | None]:
    """Versions of what made or scored the frames (torch and CUDA only where they ran)."""
    versions: dict[str, str | None] = {"vfi": __version__, "python": platform.python_version()}
    if with_torch:
        import torch

        versions["torch"] = torch.__version__
        versions["cuda"] = torch.version.cuda
        cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
        versions["cudnn"] = str(cudnn) if cudnn else None
    for package in PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return versions


def device_description(device: Any) -> dict[str, object]:
    """The device a job ran on: type, index and, for a GPU, its name."""
    described: dict[str, object] = {"type": device.type, "index": device.index}
    if device.type == "cuda":
        import torch

        described["name"] = torch.cuda.get_device_name(device)
    return described


def write_job_record(path: Path, record: dict[str, object]) -> None:
    write_text_atomic(path, json.dumps(record, indent=2, sort_keys=True) + "\n")


def read_job_records(seq: Sequence, layout: OutputLayout) -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in layout.job_records(seq)]


def recorded_job(seq: Sequence, level: int, layout: OutputLayout) -> Made | None:
    """The job that made `seq`'s outputs of `level` (0: keyframe copies), as its record says."""
    try:
        record = json.loads(layout.job_record(seq, level).read_text())
    except (OSError, ValueError):
        return None
    job, batch = record.get("job"), record.get("batch")
    if not isinstance(job, str) or not isinstance(batch, list):
        return None
    return Made(job, tuple(batch))


def provenance_record(
    seq: Sequence,
    layout: OutputLayout,
    settings: Settings,
    timing: Timing,
    data_range: dict[str, object] | None = None,
) -> dict[str, object]:
    """How every generated frame was made: parents, time asked for, seed, and what each model
    job used (its record), plus the data range the scores use."""
    paths = layout.job_records(seq)
    records = read_job_records(seq, layout) if all(p.is_file() for p in paths) else []
    # Which job and batch made a frame depends on the history of the runs, not on the data.
    records = [{k: v for k, v in r.items() if k not in ("job", "batch")} for r in records]
    intensity = records[0]["intensity"] if records else {}
    return {
        "sequence": seq.name,
        "mode": seq.mode,
        "backend": settings.backend,
        "backend_settings": settings.backend_options(),
        "timing": timing,
        "intensity": {"setting": settings.intensity, **intensity},
        "seed": settings.seed,
        "data_range": data_range,
        "input_frames": {str(i): str(p) for i, p in sorted(seq.known.items())},
        "frame_info": asdict(seq.info),
        "jobs": records,
        "frames": [
            {
                "frame": f.index,
                "output": str(layout.frame(seq, f.index)),
                "level": f.level,
                "parents": [f.prev, f.next],
                "time": f.time(timing),
                "effective_time": f.effective_time(timing),
                "seed": frame_seed(settings.seed, seq.name, f.index),
            }
            for f in sorted(seq.plan, key=lambda f: f.index)
        ],
        "software": software_versions(),
    }


def write_provenance(
    seq: Sequence,
    layout: OutputLayout,
    settings: Settings,
    timing: Timing,
    data_range: dict[str, object] | None = None,
) -> None:
    record = provenance_record(seq, layout, settings, timing, data_range)
    write_text_atomic(layout.provenance(seq), json.dumps(record, indent=2) + "\n")
