"""The pervfi backend through the pipeline, on the fixture weights and random RAFT weights (CPU)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from support import (
    add_sequence,
    frame_alone_and_in_batch,
    smooth_pair,
    tree_bytes,
    write_pervfi_checkpoint,
    write_raft_weights,
)

from vfi.backends import create_backend, resolve_timing
from vfi.backends.pervfi import tile_seeds
from vfi.data.layout import OutputLayout
from vfi.data.sequences import discover
from vfi.io.frames import read_frame
from vfi.models.pervfi import PerVFI
from vfi.pipeline.checks import settings_problems
from vfi.pipeline.interpolate import run_level
from vfi.settings import PerVFISettings, Settings

CPU = torch.device("cpu")
# RAFT is slow on two CPU cores; the iteration count does not change what is tested here.
ITERATIONS = 2


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("w")
    return {
        "checkpoint": str(write_pervfi_checkpoint(folder / "PerVFI" / "v00.pth")),
        "flow_weights": str(write_raft_weights(folder / "raft_large.pth")),
        "raft_iterations": ITERATIONS,
    }


def settings(weights: dict, run: dict | None = None, **options) -> Settings:
    """Settings of a pervfi run: `options` of its section, `run` of the run itself."""
    section = PerVFISettings(**(weights | options))
    return Settings(backend="pervfi", device="cpu", pervfi=section, **(run or {}))


def test_backend_gives_the_models_frame_mapped_to_the_pipelines_range(weights):
    backend = create_backend("pervfi", CPU, **weights)
    prev, next = smooth_pair(40, 56)
    out = backend.interpolate(prev, next, torch.tensor([0.3]), [5])
    model = PerVFI.from_checkpoint(
        weights["checkpoint"], flow_weights=weights["flow_weights"], raft_iterations=ITERATIONS
    )
    expected = model.interpolate((prev + 1) / 2, (next + 1) / 2, 0.3, seeds=[5])
    assert out.shape == prev.shape
    torch.testing.assert_close(out, expected * 2 - 1, rtol=0, atol=1e-6)


def test_any_time_is_accepted_so_auto_timing_is_exact(weights):
    assert resolve_timing("auto", "pervfi", settings(weights).backend_options()) == "exact"


def test_missing_weights_say_where_to_get_each_file(tmp_path):
    missing = {
        "checkpoint": str(tmp_path / "v00.pth"),
        "flow_weights": str(tmp_path / "raft.pth"),
    }
    (problem,) = settings_problems(settings(missing))
    assert "github.com/mulns/PerVFI" in problem
    assert "raft_large_C_T_SKHT_V1" in problem and "Nothing is downloaded" in problem


def test_a_file_that_is_no_checkpoint_at_all_is_named_as_such(tmp_path, weights):
    page = tmp_path / "v00.pth"
    page.write_text("<html><body>sign in</body></html>")
    (problem,) = settings_problems(settings(weights, checkpoint=str(page)))
    assert problem.startswith(f"pervfi.checkpoint {page}") and "not a PyTorch checkpoint" in problem


def test_tiles_overlapping_by_their_size_are_refused_before_any_job(weights):
    (problem,) = settings_problems(settings(weights, tile=64, tile_overlap=64))
    assert "must be larger than pervfi.tile_overlap" in problem


def test_the_first_tile_keeps_the_frames_seed_and_later_tiles_draw_other_noise():
    assert tile_seeds([3, 2**64 - 1], 0) == [3, 2**64 - 1]
    assert len({tuple(tile_seeds([3], k)) for k in range(16)}) == 16


def test_a_frame_that_fits_one_tile_is_not_tiled(weights):
    prev, next = smooth_pair(64, 96)
    times = torch.tensor([0.5])
    whole = create_backend("pervfi", CPU, **weights)
    tiled = create_backend("pervfi", CPU, **weights, tile=96, tile_overlap=32)
    assert torch.equal(
        whole.interpolate(prev, next, times, [0]), tiled.interpolate(prev, next, times, [0])
    )


def test_tiled_frames_are_whole_and_reproducible(weights):
    prev, next = smooth_pair(80, 136)
    times = torch.tensor([0.5])
    tiled = create_backend("pervfi", CPU, **weights, tile=96, tile_overlap=32)
    first = tiled.interpolate(prev, next, times, [1])
    assert first.shape == prev.shape and torch.isfinite(first).all()
    assert torch.equal(first, tiled.interpolate(prev, next, times, [1]))


def test_level_job_writes_grey_and_16_bit_frames_in_their_format_with_the_same_bytes_twice(
    tmp_path, weights
):
    data = tmp_path / "data"
    add_sequence(data, "grey16", [1, 3], height=37, width=53, bit_depth=16)
    add_sequence(data, "rgb8", [1, 3], height=40, width=56, mode="RGB")
    run = settings(weights, {"data_dir": str(data)})
    outputs = []
    for name in ("a", "b"):
        run_level(discover(data).sequences, 1, OutputLayout(tmp_path / name), run)
        outputs.append(tree_bytes(tmp_path / name))
    assert outputs[0] == outputs[1]
    grey = read_frame(tmp_path / "a" / "grey16" / "frame_002.png")
    rgb = read_frame(tmp_path / "a" / "rgb8" / "frame_002.png")
    assert grey.shape == (37, 53) and grey.dtype == np.uint16
    assert rgb.shape == (40, 56, 3) and rgb.dtype == np.uint8


def test_cpu_jobs_run_each_pair_alone_so_bytes_do_not_depend_on_the_batch(tmp_path, weights):
    alone, together = frame_alone_and_in_batch(
        tmp_path, lambda data: settings(weights, {"data_dir": str(data)})
    )
    assert alone == together


def test_auto_precision_is_fp16_on_a_gpu_and_fp32_on_the_cpu():
    from vfi.backends.pervfi import pervfi_precision

    assert pervfi_precision("auto", torch.device("cuda")).name == "fp16"
    assert pervfi_precision("auto", CPU).name == "fp32"
    assert pervfi_precision("bf16", CPU).name == "bf16"
