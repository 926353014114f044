"""The last job of a sequence: its provenance record, its scores and its temporal consistency."""

from __future__ import annotations

from vfi.data.layout import OutputLayout
from vfi.data.sequences import Sequence
from vfi.pipeline.provenance import write_provenance
from vfi.settings import Settings


def finish_sequence(seq: Sequence, layout: OutputLayout, settings: Settings) -> None:
    """Write the sequence's provenance, its scores (metrics files say so when nothing has
    ground truth) and its temporal consistency (`vfi.evaluation.temporal`). LPIPS is loaded
    only when something is scored; see `vfi.evaluation.lpips_scorer` for missing weights.
    Scoring runs on `metrics.device` (a claimed GPU, `vfi.pipeline.devices.scoring_device`)
    only when LPIPS is computed, `metrics.batch_size` frames at a time.
    """
    # Imported here: scoring pulls in scikit-image and SciPy (over a second), which model jobs,
    # importing this package, never need.
    from vfi.backends import resolve_timing
    from vfi.evaluation.lpips_scorer import load_lpips, missing_weights_message
    from vfi.evaluation.scoring import score_sequence, sequence_data_range
    from vfi.evaluation.temporal import sequence_temporal, write_temporal
    from vfi.pipeline.devices import scoring_device

    timing = resolve_timing(settings.timing, settings.backend, settings.backend_options())
    metrics = settings.metrics
    data_range = sequence_data_range(seq, metrics.data_range)
    write_provenance(seq, layout, settings, timing, data_range)
    scorer, note, device = None, None, "cpu"
    if seq.scored:
        # A GPU is claimed only for LPIPS (SSIM joins it there); without LPIPS the CPU scores.
        if (
            metrics.lpips != "disabled"
            and missing_weights_message(metrics.lpips_net, metrics.lpips_weights) is None
        ):
            device = scoring_device(metrics.device)
        scorer, note = load_lpips(
            metrics.lpips, metrics.lpips_net, metrics.lpips_weights, str(device)
        )
    score_sequence(
        seq, layout, settings.backend, timing, data_range, scorer, note, metrics.batch_size, device
    )
    peak = float(data_range["value"])  # type: ignore[arg-type]
    write_temporal(sequence_temporal(seq, layout, settings.backend, peak), layout.temporal_csv(seq))
