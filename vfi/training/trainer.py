"""A small, resumable trainer for frame interpolation models.

Generic over models: a `Trainable` turns a batch of augmented triplets into a loss. The loop
follows the official IFRNet recipe (AdamW, learning rate cosine-annealed per step down to a
tenth) and the habits of real training runs: seeded data order, progress with loss and rate in
the log, validation every N steps, the best weights kept, a CSV of the curves, mixed precision
(bf16) on a GPU, and a resume point every N steps.

Resuming: the resume point holds the model, the optimiser, the scheduler, the data generator's
state, the step, the best weights and the curves so far, written to a temporary file and renamed.
A run started again with the same fingerprint (the settings and data that determine the result)
continues from it; on the CPU it then ends with the same weights as an uninterrupted run.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import torch
from torch import Tensor, nn

from vfi.io.atomic import write_stream_atomic, write_text_atomic
from vfi.training.augment import Jitter, Sample, augment

log = logging.getLogger(__name__)

Metrics = dict[str, float]
CURVE_COLUMNS = ("step", "loss", "lr", "seconds", "val_psnr", "val_ssim")


class Trainable(Protocol):
    """What the trainer needs of a model."""

    module: nn.Module  # the parameters to optimise

    def loss(self, batch: Batch) -> tuple[Tensor, Metrics]:
        """The loss to minimise and its terms (plain floats, for the log and the curves)."""
        ...


@dataclass
class Batch:
    """frames: B x 3 x C x H x W (previous, middle, next) in [0, 1]; times: B; flows: B x 4 x
    H x W teacher flows, or None."""

    frames: Tensor
    times: Tensor
    flows: Tensor | None


@dataclass(frozen=True)
class TrainingOptions:
    steps: int
    batch_size: int
    crop: int
    lr: float
    seed: int = 0
    validate_every: int = 100
    checkpoint_every: int = 100
    log_every: int = 10
    jitter: Jitter = field(default_factory=Jitter)


@dataclass
class TrainingResult:
    best_weights: dict[str, Tensor]
    best_step: int
    before: Metrics  # validation of the starting weights
    best: Metrics  # validation of the best weights
    curves: list[dict[str, float | str]]
    seconds: float  # training time, resumed runs included


def make_batch(
    samples: Sequence[Sample], options: TrainingOptions, generator: torch.Generator
) -> Batch:
    """`batch_size` triplets drawn at random (with replacement), each augmented."""
    picks = torch.randint(0, len(samples), (options.batch_size,), generator=generator).tolist()
    augmented = [augment(samples[i], options.crop, options.jitter, generator) for i in picks]
    flows = [s.flow for s in augmented]
    return Batch(
        torch.stack([s.frames for s in augmented]),
        torch.tensor([s.time for s in augmented], dtype=torch.float32),
        torch.stack(flows) if all(f is not None for f in flows) else None,  # type: ignore[misc]
    )


def train(
    trainable: Trainable,
    samples: Sequence[Sample],
    validate: Callable[[], Metrics],
    options: TrainingOptions,
    resume_path: Path,
    fingerprint: str,
    device: torch.device,
) -> TrainingResult:
    """Train `trainable.module` for `options.steps` steps, resuming where a resume point of the
    same fingerprint exists; returns the best weights by validation PSNR."""
    module = trainable.module.to(device).train()
    optimizer = torch.optim.AdamW(module.parameters(), lr=options.lr, weight_decay=0.0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _cosine(options.steps))
    generator = torch.Generator().manual_seed(options.seed)
    state = _load_resume_point(resume_path, fingerprint)
    if state is None:
        step, seconds, curves = 0, 0.0, []
        before = validate()
        best_step, best, best_weights = 0, before, _copy_weights(module)
        curves.append(_row(0, math.nan, options.lr, 0.0, before))
        log.info("step 0: validation %s", _fmt(before))
    else:
        module.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        generator.set_state(state["generator"])
        step, seconds, curves = state["step"], state["seconds"], state["curves"]
        before, best_step, best = state["before"], state["best_step"], state["best"]
        best_weights = state["best_weights"]
        log.info("resumed at step %d of %d from %s", step, options.steps, resume_path)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")
    started = time.perf_counter() - seconds
    rate_since, rate_step = time.perf_counter(), step
    while step < options.steps:
        batch = make_batch(samples, options, generator)
        batch = Batch(
            batch.frames.to(device),
            batch.times.to(device),
            batch.flows.to(device) if batch.flows is not None else None,
        )
        with autocast:
            loss, terms = trainable.loss(batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        step += 1
        elapsed = time.perf_counter() - started
        row = _row(step, loss.item(), scheduler.get_last_lr()[0], elapsed, {})
        if step % options.log_every == 0 or step == options.steps:
            rate = (step - rate_step) / max(time.perf_counter() - rate_since, 1e-9)
            rate_since, rate_step = time.perf_counter(), step
            log.info(
                "step %d/%d (%d%%) loss %.4f [%s] lr %.2e, %.2f steps/s, %s left",
                step,
                options.steps,
                100 * step // options.steps,
                row["loss"],
                ", ".join(f"{k} {v:.4f}" for k, v in terms.items()),
                row["lr"],
                rate,
                _duration((options.steps - step) / max(rate, 1e-9)),
            )
        if step % options.validate_every == 0 or step == options.steps:
            scores = validate()
            row.update(val_psnr=scores["psnr"], val_ssim=scores["ssim"])
            log.info("step %d: validation %s", step, _fmt(scores))
            if scores["psnr"] > best["psnr"]:
                best_step, best, best_weights = step, scores, _copy_weights(module)
        curves.append(row)
        if step % options.checkpoint_every == 0 and step < options.steps:
            _save_resume_point(
                resume_path,
                {
                    "fingerprint": fingerprint,
                    "model": module.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "generator": generator.get_state(),
                    "step": step,
                    "seconds": time.perf_counter() - started,
                    "curves": curves,
                    "before": before,
                    "best_step": best_step,
                    "best": best,
                    "best_weights": best_weights,
                },
            )
    return TrainingResult(
        best_weights, best_step, before, best, curves, time.perf_counter() - started
    )


def write_curves(curves: list[dict[str, float | str]], path: Path) -> None:
    """The training curves as CSV (empty cells where a step has no validation)."""
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, CURVE_COLUMNS)
    writer.writeheader()
    for row in curves:
        writer.writerow({k: ("" if _missing(row.get(k)) else row[k]) for k in CURVE_COLUMNS})
    write_text_atomic(path, text.getvalue())


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _cosine(steps: int) -> Callable[[int], float]:
    """Learning-rate factor: from 1 down to 0.1 along a half cosine over `steps`."""

    def factor(step: int) -> float:
        progress = min(step / max(steps, 1), 1.0)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress))

    return factor


def _row(step: int, loss: float, lr: float, seconds: float, scores: Metrics) -> dict:
    return {
        "step": step,
        "loss": loss,
        "lr": lr,
        "seconds": round(seconds, 3),
        "val_psnr": scores.get("psnr", math.nan),
        "val_ssim": scores.get("ssim", math.nan),
    }


def _copy_weights(module: nn.Module) -> dict[str, Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()}


def _fmt(scores: Metrics) -> str:
    return ", ".join(f"{k} {v:.3f}" for k, v in scores.items())


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _save_resume_point(path: Path, state: dict) -> None:
    """Whole or not at all: a killed run never leaves a half-written resume point."""
    write_stream_atomic(path, lambda out: torch.save(state, out))


def _load_resume_point(path: Path, fingerprint: str) -> dict | None:
    if not path.is_file():
        return None
    state = torch.load(path, map_location="cpu", weights_only=True)
    if state.get("fingerprint") != fingerprint:
        log.warning("%s belongs to a run with other settings or data; starting from step 0", path)
        return None
    return state
