"""Where finish jobs score (`metrics.device`), decided without a GPU and without torch at DAG
time; the setting never reaches model jobs."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch

from vfi.pipeline.checks import metrics_device_problems
from vfi.pipeline.devices import gpu_visible, metrics_device_claims_gpu, scoring_device
from vfi.settings import MetricsSettings, Settings


@pytest.fixture
def driver_with_one_gpu(tmp_path):
    gpus = tmp_path / "gpus"
    (gpus / "0000:01:00.0").mkdir(parents=True)
    return gpus


def test_a_gpu_the_driver_lists_is_visible(driver_with_one_gpu):
    assert gpu_visible({}, driver_with_one_gpu)


@pytest.mark.parametrize("hidden", ["", "-1", "NoDevFiles"])
def test_cuda_visible_devices_can_hide_every_gpu(driver_with_one_gpu, hidden):
    assert not gpu_visible({"CUDA_VISIBLE_DEVICES": hidden}, driver_with_one_gpu)


def test_without_the_nvidia_driver_no_gpu_is_visible(tmp_path):
    assert not gpu_visible({"CUDA_VISIBLE_DEVICES": "0"}, tmp_path / "no-driver")


@pytest.mark.parametrize(
    ("setting", "visible", "claims"),
    [("auto", True, True), ("auto", False, False), ("cuda", False, True), ("cpu", True, False)],
)
def test_finish_jobs_claim_a_gpu_for_cuda_and_for_auto_where_one_is(setting, visible, claims):
    assert metrics_device_claims_gpu(setting, visible) is claims


def test_cuda_without_a_gpu_is_a_problem_that_names_the_setting():
    settings = Settings(metrics=MetricsSettings(device="cuda"))
    (problem,) = metrics_device_problems(settings, gpu_visible=False)
    assert "metrics.device is cuda" in problem and "auto or cpu" in problem
    assert metrics_device_problems(settings, gpu_visible=True) == []
    assert metrics_device_problems(Settings(), gpu_visible=False) == []


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_auto_scores_on_the_cpu_without_a_gpu_and_cuda_fails_clearly():
    assert scoring_device("auto") == torch.device("cpu")
    with pytest.raises(RuntimeError, match="metrics.device is cuda but PyTorch sees no"):
        scoring_device("cuda")


def test_an_unknown_metrics_device_is_refused():
    with pytest.raises(ValueError, match="metrics.device must be one of"):
        scoring_device("tpu")


def test_metrics_device_and_batch_size_reach_finish_jobs_but_not_model_jobs():
    settings = Settings()
    changed = replace(settings, metrics=replace(settings.metrics, device="cpu", batch_size=16))
    for kind in ("copy", "model", "preview"):
        assert settings.job_settings_json(kind) == changed.job_settings_json(kind)
    finish = json.loads(changed.job_settings_json("finish"))["metrics"]
    assert (finish["device"], finish["batch_size"]) == ("cpu", 16)
