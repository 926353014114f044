"""The ifrnet backend through the pipeline, on checkpoints made from the fixture weights (CPU)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from support import (
    TINY_CKPT,
    add_sequence,
    frame_alone_and_in_batch,
    smooth_pair,
    tree_bytes,
    write_ifrnet_checkpoint,
)

from vfi.backends import create_backend, resolve_timing
from vfi.data.layout import OutputLayout
from vfi.data.sequences import discover
from vfi.io.frames import read_frame
from vfi.models.ifrnet import IFRNet
from vfi.pipeline.checks import settings_problems
from vfi.pipeline.interpolate import run_level
from vfi.settings import IFRNetSettings, Settings

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def gopro_like(tmp_path_factory) -> Path:
    """Weights whose output depends on t, as the GoPro checkpoints."""
    return write_ifrnet_checkpoint(tmp_path_factory.mktemp("w") / "IFRNet_S_GoPro.pth")


@pytest.fixture(scope="module")
def vimeo_like(tmp_path_factory) -> Path:
    """Weights with a zero time input, as the Vimeo90K checkpoints."""
    folder = tmp_path_factory.mktemp("w")
    return write_ifrnet_checkpoint(folder / "IFRNet_S_Vimeo90K.pth", time_input=False)


def settings(checkpoint: Path, run: dict | None = None, **options) -> Settings:
    """Settings of an ifrnet run: `options` of its section, `run` of the run itself."""
    section = IFRNetSettings(checkpoint=str(checkpoint), **options)
    return Settings(backend="ifrnet", device="cpu", ifrnet=section, **(run or {}))


def test_backend_gives_the_models_frame_mapped_to_the_pipelines_range(gopro_like):
    backend = create_backend("ifrnet", CPU, checkpoint=str(gopro_like))
    prev, next = smooth_pair(40, 56)
    out = backend.interpolate(prev, next, torch.tensor([0.3]), [0])
    expected = IFRNet.from_checkpoint(gopro_like).interpolate((prev + 1) / 2, (next + 1) / 2, 0.3)
    assert out.shape == prev.shape
    torch.testing.assert_close(out, expected * 2 - 1, rtol=0, atol=1e-6)


def test_weights_with_a_time_input_get_exact_times(gopro_like):
    options = settings(gopro_like).backend_options()
    assert resolve_timing("auto", "ifrnet", options) == "exact"


def test_weights_without_a_time_input_get_midpoints_and_refuse_exact_timing(vimeo_like):
    options = settings(vimeo_like).backend_options()
    assert resolve_timing("auto", "ifrnet", options) == "midpoint"
    with pytest.raises(ValueError, match="with these weights makes midpoints only"):
        resolve_timing("exact", "ifrnet", options)


def test_exact_timing_with_vimeo_weights_is_refused_before_any_job(vimeo_like):
    (problem,) = settings_problems(settings(vimeo_like, {"timing": "exact"}))
    assert "timing: exact" in problem and "midpoints only" in problem


def test_a_backend_without_time_input_refuses_other_times_than_the_midpoint(vimeo_like):
    backend = create_backend("ifrnet", CPU, checkpoint=str(vimeo_like))
    prev, next = smooth_pair(32, 32)
    with pytest.raises(ValueError, match="midpoints only"):
        backend.interpolate(prev, next, torch.tensor([0.25]), [0])


def test_missing_checkpoint_says_where_to_get_one(tmp_path):
    (problem,) = settings_problems(settings(tmp_path / "IFRNet_GoPro.pth"))
    assert "not found" in problem and "github.com/ltkong218/IFRNet" in problem


def test_checkpoint_of_another_model_is_refused_naming_the_expected_keys():
    (problem,) = settings_problems(settings(TINY_CKPT))  # an LDMVFI checkpoint
    assert problem.startswith("ifrnet.checkpoint:") and "encoder.pyramid1.0.0.weight" in problem


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"scale_factor": 0.123456789}, "ifrnet.scale_factor"),
        ({"tile": 64, "tile_overlap": 64}, "must be larger than ifrnet.tile_overlap"),
    ],
)
def test_unusable_settings_are_refused_before_any_job(gopro_like, options, message):
    (problem,) = settings_problems(settings(gopro_like, **options))
    assert message in problem


def test_tiles_give_the_whole_frames_result_within_the_measured_tolerance(gopro_like):
    """Random weights are the worst case (their flows and receptive field are wild); measured
    on this pair: max 0.074, mean 0.0033 of full scale (both in [0, 1] units)."""
    prev, next = smooth_pair(256, 320)
    whole = create_backend("ifrnet", CPU, checkpoint=str(gopro_like))
    tiled = create_backend("ifrnet", CPU, checkpoint=str(gopro_like), tile=224, tile_overlap=128)
    times = torch.tensor([0.5])
    difference = (
        whole.interpolate(prev, next, times, [0]) - tiled.interpolate(prev, next, times, [0])
    ).abs() / 2
    assert difference.max() < 0.1 and difference.mean() < 0.005


def test_a_frame_that_fits_one_tile_is_not_tiled(gopro_like):
    prev, next = smooth_pair(64, 96)
    times = torch.tensor([0.5])
    whole = create_backend("ifrnet", CPU, checkpoint=str(gopro_like))
    tiled = create_backend("ifrnet", CPU, checkpoint=str(gopro_like), tile=96, tile_overlap=32)
    assert torch.equal(
        whole.interpolate(prev, next, times, [0]), tiled.interpolate(prev, next, times, [0])
    )


def test_level_job_writes_grey_and_16_bit_frames_in_their_format_with_the_same_bytes_twice(
    tmp_path, gopro_like
):
    data = tmp_path / "data"
    add_sequence(data, "grey16", [1, 3], height=40, width=56, bit_depth=16)
    add_sequence(data, "rgb8", [1, 3], height=40, width=56, mode="RGB")
    run = settings(gopro_like, {"data_dir": str(data)})
    outputs = []
    for name in ("a", "b"):
        layout = OutputLayout(tmp_path / name)
        run_level(discover(data).sequences, 1, layout, run)
        outputs.append(tree_bytes(tmp_path / name))
    assert outputs[0] == outputs[1]
    grey = read_frame(tmp_path / "a" / "grey16" / "frame_002.png")
    rgb = read_frame(tmp_path / "a" / "rgb8" / "frame_002.png")
    assert grey.shape == (40, 56) and grey.dtype == np.uint16
    assert rgb.shape == (40, 56, 3) and rgb.dtype == np.uint8


def test_a_file_that_is_no_checkpoint_at_all_is_named_as_such(tmp_path):
    page = tmp_path / "IFRNet_GoPro.pth"
    page.write_text("<html><body>Dropbox: sign in</body></html>")
    (problem,) = settings_problems(settings(page))
    assert "not a PyTorch checkpoint" in problem and "Download the checkpoint again" in problem


def test_bf16_rounds_only_a_little_against_fp32(gopro_like):
    """Convolutions in bf16, flows and warping in float32 (on the CPU here; GPUs use the same
    code). Measured on this pair: max 0.0074 of full scale."""
    prev, next = smooth_pair(48, 64)
    times = torch.tensor([0.5])
    exact = create_backend("ifrnet", CPU, checkpoint=str(gopro_like), precision="fp32")
    rounded = create_backend("ifrnet", CPU, checkpoint=str(gopro_like), precision="bf16")
    assert rounded.describe()["precision"] == "bf16"
    difference = (
        exact.interpolate(prev, next, times, [0]) - rounded.interpolate(prev, next, times, [0])
    ).abs() / 2
    assert 0 < difference.max() < 0.03


def test_cpu_jobs_run_each_pair_alone_so_bytes_do_not_depend_on_the_batch(tmp_path, gopro_like):
    """Batched CPU convolutions round differently (2e-6 here), enough to flip 16-bit values."""
    alone, together = frame_alone_and_in_batch(
        tmp_path, lambda data: settings(gopro_like, {"data_dir": str(data)})
    )
    assert alone == together
