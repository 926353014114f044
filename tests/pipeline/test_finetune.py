"""The fine-tuning job (`vfi finetune`): model, card and curves; killed and resumed, it ends
with the same weights as an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from support import add_sequence, wait_for

from vfi.pipeline.finetune import model_paths
from vfi.settings import Settings

FINETUNE = {
    "steps": 30,
    "batch_size": 2,
    "crop": 32,
    "lr": 0.001,
    "validation": ["gen"],
    "validate_every": 10,
    "checkpoint_every": 2,
}


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("data")
    add_sequence(folder, "eval_a", [1, 3, 5], generate=False, gt=[2, 4], height=40, width=48)
    add_sequence(folder, "eval_b", [1, 3], generate=False, gt=[2], mode="RGB", height=40, width=48)
    add_sequence(folder, "gen", [1, 5], gt=[3], height=40, width=48, bit_depth=16)
    add_sequence(folder, "gen_no_truth", [1, 5], height=40, width=48)
    return folder


def config(folder: Path, data: Path, **finetune) -> Path:
    path = folder / "config.yaml"
    folder.mkdir(parents=True, exist_ok=True)
    settings = {"data_dir": str(data), "results_dir": str(folder / "results"), "device": "cpu"}
    path.write_text(yaml.safe_dump({**settings, "finetune": {**FINETUNE, **finetune}}))
    return path


def finetune_command(config_file: Path) -> list[str]:
    return [sys.executable, "-m", "vfi", "finetune", "--config", str(config_file)]


def paths(config_file: Path) -> dict[str, Path]:
    return model_paths(Settings.from_yaml(config_file))


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, data) -> Path:
    config_file = config(tmp_path_factory.mktemp("whole"), data)
    subprocess.run(finetune_command(config_file), check=True, capture_output=True, timeout=600)
    return config_file


def test_the_card_holds_the_data_the_settings_and_the_validation_gain(uninterrupted):
    card = json.loads(paths(uninterrupted)["card"].read_text())
    assert card["data"]["training"] == {"eval_a": 2, "eval_b": 1}
    assert card["data"]["validation"] == {"gen": 1} and card["data"]["validation_is_held_out"]
    assert card["settings"]["steps"] == 30 and card["variant"] == "IFRNet_S"
    for key in ("validation_psnr_before", "validation_psnr_after", "flow_backend_psnr"):
        assert isinstance(card[key], float)
    assert card["validation_psnr_after"] >= card["validation_psnr_before"]
    assert card["device"]["type"] == "cpu" and card["wall_seconds"] > 0
    assert not paths(uninterrupted)["resume"].exists(), "the resume point outlived the run"


def test_the_model_loads_as_an_ifrnet_checkpoint(uninterrupted):
    from vfi.models.ifrnet import IFRNet

    model = IFRNet.from_checkpoint(paths(uninterrupted)["model"])
    assert model.variant == "IFRNet_S" and model.uses_time


def test_a_killed_run_resumes_to_the_same_weights(tmp_path, data, uninterrupted):
    config_file = config(tmp_path, data)
    resume = paths(config_file)["resume"]
    proc = subprocess.Popen(
        finetune_command(config_file),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for(lambda: resume.is_file() or proc.poll() is not None, 300, "a resume point")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert not paths(config_file)["model"].exists(), "the run ended before it was killed"
    step = torch.load(resume, weights_only=True)["step"]
    assert 0 < step < FINETUNE["steps"]
    subprocess.run(finetune_command(config_file), check=True, capture_output=True, timeout=600)
    resumed, whole = paths(config_file)["model"], paths(uninterrupted)["model"]
    assert resumed.read_bytes() == whole.read_bytes()


def test_data_without_any_triplet_is_refused_with_what_is_needed(tmp_path):
    add_sequence(tmp_path / "data", "gen", [1, 5])
    result = subprocess.run(
        finetune_command(config(tmp_path, tmp_path / "data")), capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "no training triplets" in result.stderr and "ground truth" in result.stderr


def test_the_flow_teacher_points_from_the_middle_frame_to_its_neighbours():
    """IFRNet's distillation wants flows t -> 0 and t -> 1: middle(p) ~ previous(p + flow)."""
    from vfi.pipeline.finetune import _teacher_flow

    generator = torch.Generator().manual_seed(0)
    coarse = torch.rand(1, 1, 12, 16, generator=generator)
    middle = torch.nn.functional.interpolate(coarse, size=(96, 128), mode="bicubic")[0]
    middle = middle.clamp(0, 1).expand(3, -1, -1)
    previous = middle.roll((2, 3), (1, 2))  # content moved by (dx, dy) = (3, 2)
    next = middle.roll((-2, -3), (1, 2))
    flow = _teacher_flow(torch.stack([previous, middle, next]))
    inner = flow[:, 16:-16, 16:-16].flatten(1).median(dim=1).values
    torch.testing.assert_close(inner, torch.tensor([3.0, 2.0, -3.0, -2.0]), atol=0.3, rtol=0)


def test_a_teacher_adds_the_distillation_term(tmp_path, data):
    config_file = config(tmp_path, data, steps=2, teacher="flow", validate_every=2)
    result = subprocess.run(finetune_command(config_file), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert ", dis " in result.stderr  # the progress line names every loss term
