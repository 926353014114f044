"""Finish jobs declare a GPU only when they score LPIPS on one (`metrics.device`), and
`metrics.device: cuda` without a GPU stops a local run before any job."""

from __future__ import annotations

import pytest
import torch
import torchvision
import yaml
from support import add_sequence, run_snakemake

from vfi.pipeline.devices import gpu_visible

pytestmark = pytest.mark.workflow


@pytest.fixture
def config(tmp_path):
    """A scored sequence and LPIPS weights (a random AlexNet): (folder, settings)."""
    add_sequence(tmp_path / "data", "seq", [1, 3], gt=[2])
    weights = tmp_path / "alexnet-random.pth"
    torch.save(torchvision.models.alexnet(weights=None).state_dict(), weights)
    return {
        "data_dir": str(tmp_path / "data"),
        "metrics": {"lpips": "required", "lpips_weights": str(weights)},
    }


def finish_job(tmp_path, config: dict, device: str, lpips: str = "required") -> str:
    """The finish job of a dry run with `metrics.device: device`."""
    settings = {**config, "metrics": {**config["metrics"], "device": device, "lpips": lpips}}
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(settings))
    out = run_snakemake(tmp_path, "-n", "--configfile", str(tmp_path / "run.yaml")).stdout
    return out.split("rule finish_sequence:")[1].split("\n\n")[0]


def test_finish_jobs_declare_a_gpu_when_lpips_runs_on_cuda(tmp_path, config):
    assert "gpu=1" in finish_job(tmp_path, config, "cuda")


def test_finish_jobs_declare_no_gpu_on_the_cpu_or_without_lpips(tmp_path, config):
    assert "gpu=0" in finish_job(tmp_path, config, "cpu")
    assert "gpu=0" in finish_job(tmp_path, config, "cuda", lpips="disabled")


@pytest.mark.skipif(gpu_visible(), reason="needs a machine without a GPU")
def test_auto_declares_no_gpu_on_a_machine_without_one(tmp_path, config):
    assert "gpu=0" in finish_job(tmp_path, config, "auto")


@pytest.mark.skipif(gpu_visible(), reason="needs a machine without a GPU")
def test_cuda_without_a_gpu_stops_a_local_run_before_any_job(tmp_path, config):
    config["metrics"]["device"] = "cuda"
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(config))
    result = run_snakemake(tmp_path, "--configfile", str(tmp_path / "run.yaml"), check=False)
    assert result.returncode != 0
    assert "metrics.device is cuda but this machine has no visible NVIDIA GPU" in result.stderr
    assert not (tmp_path / "eval_results").exists()
