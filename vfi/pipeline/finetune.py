"""The fine-tuning job: adapt IFRNet to a lab's own sequences and write the model with its card.

Training triplets come from the users' layout (`vfi.data.triplets`): every evaluation sequence
and every generation sequence with ground truth. They are split into training and validation by
sequence. Frames go through the same intensity mapping as inference (`intensity:`), and
validation runs the frames through the same path as a model job (model tensor, backend, frame
file values) and scores them as the finish jobs do (PSNR and SSIM with the sequence's data
range), so the card's numbers are those a run with the fine-tuned model would get. The flow
backend is scored on the same validation triplets, as the baseline the model must beat.

    <results_dir>/models/<name>.safetensors   the best weights (compact IFRNet format)
    <results_dir>/models/<name>.json          the model card
    <results_dir>/models/<name>.csv           training curves (loss, learning rate, validation)
    <results_dir>/finetune/<name>.resume.pt   resume point while training (removed at the end)
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np

from vfi.data.sequences import Sequence, discover
from vfi.data.triplets import Triplet, find_triplets, split_sequences
from vfi.io.atomic import write_text_atomic
from vfi.io.frames import read_frame
from vfi.io.intensity import Normalisation
from vfi.settings import Settings

log = logging.getLogger(__name__)

VARIANTS = {"S": "IFRNet_S", "base": "IFRNet", "L": "IFRNet_L"}
# IFRNet needs frame sizes that are multiples of 16 (four stride-2 levels) in training.
NETWORK_MULTIPLE = 16


def model_paths(settings: Settings) -> dict[str, Path]:
    """Where the fine-tuning job writes (see the module docstring)."""
    folder, name = Path(settings.results_dir) / "models", settings.finetune.name
    return {
        "model": folder / f"{name}.safetensors",
        "card": folder / f"{name}.json",
        "curves": folder / f"{name}.csv",
        "resume": Path(settings.results_dir) / "finetune" / f"{name}.resume.pt",
    }


def is_current(settings: Settings, inputs: list[Path]) -> bool:
    """Whether the fine-tuned model on disk was made with these settings from these inputs
    (none newer than it): then the workflow's report shows its curves without retraining."""
    paths = model_paths(settings)
    outputs = [paths["model"], paths["card"], paths["curves"]]
    if not all(path.is_file() for path in outputs):
        return False
    try:
        card = json.loads(paths["card"].read_text())
    except (OSError, ValueError):
        return False
    if card.get("job_settings") != settings.job_settings_json("finetune"):
        return False
    made = min(path.stat().st_mtime for path in outputs)
    return all(path.stat().st_mtime <= made for path in inputs if path.exists())


def training_data(settings: Settings) -> tuple[dict[str, Sequence], dict[str, list[Triplet]]]:
    """The sequences that have triplets, and their triplets (refused clearly when none do)."""
    found = discover(Path(settings.data_dir), settings.mode, patterns=settings.frame_pattern)  # type: ignore[arg-type]
    found.raise_if_problems()
    sequences = {seq.name: seq for seq in found.sequences}
    triplets = {name: find_triplets(seq) for name, seq in sequences.items()}
    triplets = {name: found for name, found in triplets.items() if found}
    if not triplets:
        raise ValueError(
            f"no training triplets under {settings.data_dir}: fine-tuning needs evaluation "
            "sequences (odd frames in input/, even ones in gt/) or generation sequences with "
            "ground truth in gt/"
        )
    return sequences, triplets


def run_finetune(settings: Settings) -> Path:
    """Train, then write the model, its card and its curves; returns the card's path."""
    import torch

    from vfi.backends.flow import FlowBackend
    from vfi.backends.ifrnet import IFRNetBackend
    from vfi.models.ifrnet import IFRNet
    from vfi.models.ifrnet.checkpoint import write_compact
    from vfi.pipeline.devices import resolve_device
    from vfi.pipeline.interpolate import normalisation_of
    from vfi.pipeline.provenance import device_description, software_versions
    from vfi.training.ifrnet import IFRNetTrainable
    from vfi.training.trainer import TrainingOptions, train, write_curves

    options = settings.finetune
    if options.model != "ifrnet":
        raise ValueError(f"finetune.model {options.model!r}: only ifrnet can be fine-tuned")
    if options.teacher not in (None, "flow"):
        raise ValueError(f"finetune.teacher must be flow or null (got {options.teacher!r})")
    paths = model_paths(settings)
    started = time.perf_counter()
    sequences, triplets = training_data(settings)
    train_names, held_out = split_sequences(triplets, options.validation, options.seed)
    validation_names = held_out or train_names
    if not held_out:
        log.warning("no sequence held out for validation: validating on the training sequences")
    norms = {name: normalisation_of(sequences[name], settings.intensity) for name in triplets}
    samples = [
        _sample(t, norms[name], options.teacher) for name in train_names for t in triplets[name]
    ]
    crop = _crop_size(options.crop, samples)
    log.info(
        "%d training triplet(s) of %s; %d validation triplet(s) of %s; crops of %d px",
        len(samples),
        ", ".join(train_names),
        sum(len(triplets[n]) for n in validation_names),
        ", ".join(validation_names),
        crop,
    )
    device = resolve_device(settings.device)
    if options.init:
        model = IFRNet.from_checkpoint(options.init, device=device)
    else:
        torch.manual_seed(options.seed)  # the initial weights
        model = IFRNet(_variant(options.variant)).to(device)
    backend = IFRNetBackend(device, options.init or "scratch", precision="fp32", model=model)
    backend.refuse_other_times = False  # starting weights without a time input are measured too
    validation = _spread(
        [(sequences[n], t) for n in validation_names for t in triplets[n]],
        options.validation_triplets,
    )
    data_ranges = {n: _data_range(sequences[n], settings) for n in validation_names}

    def validate() -> dict[str, float]:
        return _score(backend.interpolate, validation, norms, data_ranges)

    baseline = _score(FlowBackend(torch.device("cpu")).interpolate, validation, norms, data_ranges)
    log.info("flow backend on the validation triplets: psnr %.3f, ssim %.3f", *baseline.values())
    fingerprint = _fingerprint(settings, triplets)
    result = train(
        IFRNetTrainable(model.network),
        samples,
        validate,
        TrainingOptions(
            steps=options.steps,
            batch_size=options.batch_size,
            crop=crop,
            lr=options.lr,
            seed=options.seed,
            validate_every=options.validate_every,
            checkpoint_every=options.checkpoint_every,
        ),
        paths["resume"],
        fingerprint,
        device,
    )
    paths["model"].parent.mkdir(parents=True, exist_ok=True)
    write_compact(
        result.best_weights,
        model.variant,
        paths["model"],
        source=f"fine-tuned: {options.name}",
        extra={"finetune_step": str(result.best_step)},
    )
    write_curves(result.curves, paths["curves"])
    card = {
        "name": options.name,
        "model": options.model,
        "variant": model.variant,
        "init": options.init,
        "settings": asdict(options),
        # As the workflow passes them: tells whether this model is current (`is_current`).
        "job_settings": settings.job_settings_json("finetune"),
        "intensity": settings.intensity,
        "data": {
            "training": {n: len(triplets[n]) for n in train_names},
            "validation": {n: len(triplets[n]) for n in validation_names},
            "training_triplets": len(samples),
            "validation_triplets_scored": len(validation),
            "validation_is_held_out": bool(held_out),
        },
        "validation_psnr_before": result.before["psnr"],
        "validation_psnr_after": result.best["psnr"],
        "validation_ssim_before": result.before["ssim"],
        "validation_ssim_after": result.best["ssim"],
        "flow_backend_psnr": baseline["psnr"],
        "flow_backend_ssim": baseline["ssim"],
        "best_step": result.best_step,
        "crop": crop,
        "training_seconds": round(result.seconds, 1),
        "wall_seconds": round(time.perf_counter() - started, 1),
        "device": device_description(device),
        "software": software_versions(with_torch=True),
        "weights": paths["model"].name,
        "curves": paths["curves"].name,
    }
    write_text_atomic(paths["card"], json.dumps(card, indent=2, sort_keys=True) + "\n")
    paths["resume"].unlink(missing_ok=True)
    log.info(
        "validation psnr %.3f -> %.3f (ssim %.3f -> %.3f; flow backend %.3f); wrote %s",
        card["validation_psnr_before"],
        card["validation_psnr_after"],
        card["validation_ssim_before"],
        card["validation_ssim_after"],
        card["flow_backend_psnr"],
        paths["model"],
    )
    return paths["card"]


def _variant(name: str) -> str:
    if name not in VARIANTS:
        raise ValueError(f"finetune.variant must be one of {sorted(VARIANTS)} (got {name!r})")
    return VARIANTS[name]


def _sample(triplet: Triplet, norm: Normalisation, teacher: str | None):
    """A training sample: the triplet's frames in [0, 1] as the model sees them at inference."""
    import torch

    from vfi.io.tensors import to_model_tensor
    from vfi.training.augment import Sample

    frames = torch.stack(
        [
            (to_model_tensor(read_frame(path), norm) + 1) / 2
            for path in (triplet.prev, triplet.middle, triplet.next)
        ]
    ).clamp(0, 1)
    flow = _teacher_flow(frames) if teacher == "flow" else None
    return Sample(frames, triplet.time, flow)


def _teacher_flow(frames):
    """Flows middle -> previous and middle -> next (4 x H x W, pixels) by the flow backend's
    estimator, for IFRNet's distillation loss."""
    import torch

    from vfi.models.opticalflow.estimate import bidirectional_flow, normalise_for_flow

    grey = [normalise_for_flow(f.mean(0).numpy()) for f in frames]
    to_prev, _ = bidirectional_flow(grey[1], grey[0])
    to_next, _ = bidirectional_flow(grey[1], grey[2])
    flows = np.concatenate([to_prev, to_next], axis=2)  # H x W x 4
    return torch.from_numpy(flows).permute(2, 0, 1).contiguous()


def _spread(items: list, count: int) -> list:
    """At most `count` of `items` (all for 0), evenly spaced: every sequence and span keeps a
    share, and validation stays a small part of the training time."""
    if count <= 0 or len(items) <= count:
        return items
    return (
        [items[round(i * (len(items) - 1) / (count - 1))] for i in range(count)]
        if count > 1
        else items[:1]
    )


def _crop_size(wanted: int, samples) -> int:
    """The crop side: as asked, at most the smallest frame, a multiple of 16."""
    smallest = min(min(s.frames.shape[-2:]) for s in samples)
    crop = min(wanted, smallest) // NETWORK_MULTIPLE * NETWORK_MULTIPLE
    if crop < NETWORK_MULTIPLE:
        raise ValueError(
            f"finetune.crop {wanted}: frames of {smallest} px leave no crop of at least "
            f"{NETWORK_MULTIPLE} px"
        )
    return crop


def _data_range(seq: Sequence, settings: Settings) -> float:
    from vfi.evaluation.scoring import sequence_data_range

    return float(sequence_data_range(seq, settings.metrics.data_range)["value"])  # type: ignore[arg-type]


def _score(
    interpolate: Callable,
    validation: list[tuple[Sequence, Triplet]],
    norms: dict[str, Normalisation],
    data_ranges: dict[str, float],
) -> dict[str, float]:
    """Mean PSNR and SSIM of the frames `interpolate` makes for the validation triplets, as
    written to files and scored by the finish jobs."""
    import torch

    from vfi.evaluation.metrics import psnr, ssim
    from vfi.io.tensors import from_model_tensor, to_model_tensor

    psnrs, ssims = [], []
    for seq, triplet in validation:
        norm = norms[seq.name]
        prev = to_model_tensor(read_frame(triplet.prev), norm)[None]
        next = to_model_tensor(read_frame(triplet.next), norm)[None]
        with torch.inference_mode():
            out = interpolate(prev, next, torch.tensor([triplet.time]), [0])[0]
        made = from_model_tensor(out.cpu(), seq.info, norm)
        truth = read_frame(triplet.middle)
        value = psnr(made, truth, data_ranges[seq.name])
        psnrs.append(min(value, 100.0) if math.isfinite(value) else 100.0)
        ssims.append(ssim(made, truth, data_ranges[seq.name]))
    return {"psnr": float(np.mean(psnrs)), "ssim": float(np.mean(ssims))}


def _fingerprint(settings: Settings, triplets: dict[str, list[Triplet]]) -> str:
    """What determines the trained weights: the settings and the training files (by name, size
    and modification time); a resume point of another fingerprint is not resumed."""
    files = sorted(
        {str(p) for ts in triplets.values() for t in ts for p in (t.prev, t.middle, t.next)}
    )
    described = [(f, os.stat(f).st_size, os.stat(f).st_mtime_ns) for f in files]
    text = json.dumps([settings.job_settings_json("finetune"), described], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()
