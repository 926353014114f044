"""The trainer: a resumed run ends with the same weights as an uninterrupted one (CPU)."""

from __future__ import annotations

import csv

import pytest
import torch
from support import write_ifrnet_checkpoint

from vfi.models.ifrnet import IFRNet
from vfi.training.augment import Sample
from vfi.training.ifrnet import IFRNetTrainable
from vfi.training.trainer import TrainingOptions, train, write_curves

OPTIONS = TrainingOptions(
    steps=6, batch_size=2, crop=32, lr=1e-3, validate_every=3, checkpoint_every=2, log_every=2
)


def samples() -> list[Sample]:
    generator = torch.Generator().manual_seed(0)
    middle = torch.rand(3, 48, 48, generator=generator)
    frames = torch.stack([middle.roll(2, 2), middle, middle.roll(-2, 2)])
    return [Sample(frames, 0.5), Sample(frames.flip(0), 0.5)]


def fresh_model(tmp_path) -> IFRNet:
    return IFRNet.from_checkpoint(write_ifrnet_checkpoint(tmp_path / "s.pth"))


def validation_of(model: IFRNet):
    """A cheap score that depends on every weight: minus the prediction error of one pair."""
    data = samples()[0].frames

    def validate() -> dict[str, float]:
        out = model.interpolate(data[0:1], data[2:3], 0.5)
        return {"psnr": -float((out - data[1:2]).abs().mean()), "ssim": 0.0}

    return validate


def run(tmp_path, options: TrainingOptions, model: IFRNet, fingerprint: str = "a"):
    return train(
        IFRNetTrainable(model.network),
        samples(),
        validation_of(model),
        options,
        tmp_path / "resume.pt",
        fingerprint,
        torch.device("cpu"),
    )


class Crash(Exception):
    pass


class CrashingAt(IFRNetTrainable):
    """Dies in its `crash_at`-th step, as a killed job would."""

    def __init__(self, model: IFRNet, crash_at: int) -> None:
        super().__init__(model.network)
        self.calls, self.crash_at = 0, crash_at

    def loss(self, batch):
        self.calls += 1
        if self.calls == self.crash_at:
            raise Crash
        return super().loss(batch)


def test_a_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(tmp_path):
    whole = run(tmp_path / "whole", OPTIONS, fresh_model(tmp_path))
    model = fresh_model(tmp_path)
    with pytest.raises(Crash):  # in step 5, after the resume point of step 4
        train(
            CrashingAt(model, 5),
            samples(),
            validation_of(model),
            OPTIONS,
            tmp_path / "parts" / "resume.pt",
            "a",
            torch.device("cpu"),
        )
    resumed = run(tmp_path / "parts", OPTIONS, fresh_model(tmp_path))
    assert resumed.best_step == whole.best_step
    for key, value in whole.best_weights.items():
        assert torch.equal(value, resumed.best_weights[key]), key
    assert [r["loss"] for r in resumed.curves[1:]] == [r["loss"] for r in whole.curves[1:]]


def test_a_resume_point_of_other_settings_is_not_resumed(tmp_path):
    run(tmp_path, TrainingOptions(**{**OPTIONS.__dict__, "steps": 3}), fresh_model(tmp_path))
    assert (tmp_path / "resume.pt").is_file()
    other = run(tmp_path, OPTIONS, fresh_model(tmp_path), fingerprint="b")
    assert len(other.curves) == OPTIONS.steps + 1  # started from step 0


def test_training_lowers_the_loss_and_keeps_the_best_weights(tmp_path):
    options = TrainingOptions(**{**OPTIONS.__dict__, "steps": 12, "validate_every": 4})
    result = run(tmp_path, options, fresh_model(tmp_path))
    assert result.best["psnr"] >= result.before["psnr"]
    validated = [r for r in result.curves if r["val_psnr"] == r["val_psnr"]]
    assert max(r["val_psnr"] for r in validated) == result.best["psnr"]


def test_curves_are_written_with_empty_cells_where_nothing_was_measured(tmp_path):
    result = run(tmp_path, OPTIONS, fresh_model(tmp_path))
    write_curves(result.curves, tmp_path / "curves.csv")
    with open(tmp_path / "curves.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == OPTIONS.steps + 1 and rows[0]["loss"] == "" and rows[1]["val_psnr"] == ""
    assert rows[3]["val_psnr"] != ""
