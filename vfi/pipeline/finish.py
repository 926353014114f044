"""The last job of a sequence: its provenance record and its scores."""

from __future__ import annotations

import json
import platform
from dataclasses import asdict

from vfi import __version__
from vfi.data.layout import OutputLayout
from vfi.data.plan import Timing, frame_seed
from vfi.data.sequences import Sequence
from vfi.io.atomic import write_text_atomic
from vfi.settings import Settings


def provenance_record(
    seq: Sequence, layout: OutputLayout, settings: Settings, timing: Timing
) -> dict[str, object]:
    """How every generated frame was made: parents, time asked for, seed, software."""
    return {
        "sequence": seq.name,
        "mode": seq.mode,
        "backend": settings.backend,
        "backend_settings": settings.backend_options(),
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
                "effective_time": f.effective_time(timing),
                "seed": frame_seed(settings.seed, seq.name, f.index),
            }
            for f in sorted(seq.plan, key=lambda f: f.index)
        ],
        "software": {"vfi": __version__, "python": platform.python_version()},
    }


def write_provenance(
    seq: Sequence, layout: OutputLayout, settings: Settings, timing: Timing
) -> None:
    record = provenance_record(seq, layout, settings, timing)
    write_text_atomic(layout.provenance(seq), json.dumps(record, indent=2) + "\n")


def finish_sequence(seq: Sequence, layout: OutputLayout, settings: Settings) -> None:
    """Write the sequence's provenance and its scores (metrics files say so when nothing has
    ground truth). LPIPS is loaded only when something is scored; see
    `vfi.evaluation.lpips_scorer` for missing weights.
    """
    # Imported here: scoring pulls in scikit-image and SciPy (over a second), which model jobs,
    # importing this package, never need.
    from vfi.backends import resolve_timing
    from vfi.evaluation.lpips_scorer import load_lpips
    from vfi.evaluation.scoring import score_sequence

    timing = resolve_timing(settings.timing, settings.backend)
    write_provenance(seq, layout, settings, timing)
    scorer, note = None, None
    if seq.scored:
        metrics = settings.metrics
        scorer, note = load_lpips(metrics.lpips, metrics.lpips_net, metrics.lpips_weights)
    score_sequence(seq, layout, settings.backend, timing, scorer, note)
