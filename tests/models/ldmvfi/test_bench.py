"""`vfi bench`'s measurements, on the tiny architecture (the full one is for real machines)."""

from __future__ import annotations

import pytest
import torch
from support import TINY_CONFIG

from vfi.models.ldmvfi.precision import Precision
from vfi.models.ldmvfi.speed import (
    BenchOptions,
    StageTimes,
    parse_size,
    random_model,
    run_bench,
    stage_errors,
    time_stages,
)

CPU = torch.device("cpu")


def test_seconds_per_frame_counts_one_encode_per_frame_and_shares_steps_over_the_batch():
    times = StageTimes(256, 256, 4, "fp32", 0.5, 0.1, 2.0, None)
    assert times.seconds_per_frame(steps=10) == pytest.approx((4 * 0.5 + 10 * 0.1 + 2.0) / 4)


def test_sizes_are_written_width_first():
    assert parse_size("2048x1504") == (1504, 2048)


def test_a_malformed_size_is_explained():
    with pytest.raises(ValueError, match="WIDTHxHEIGHT"):
        parse_size("2048")


def test_stage_times_are_measured_for_each_stage():
    model = random_model(CPU, str(TINY_CONFIG))
    times = time_stages(model, 64, 96, 1, Precision("fp32"), repeats=1)
    assert (times.height, times.width, times.batch) == (64, 96, 1)
    assert min(times.encode_per_frame, times.unet_step, times.decode) > 0
    assert times.peak_memory > 0


def test_fp16_unet_errors_are_small_at_every_timestep_asked_for():
    model = random_model(CPU, str(TINY_CONFIG))
    errors = stage_errors(model, 64, 64, Precision("fp16"), (1, 981), autoencoder=False)
    assert [e.stage for e in errors] == ["U-Net eps (t=1)", "U-Net eps (t=981)"]
    assert all(0 < e.relative < 0.01 for e in errors)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="low-precision decoding is slow on CPU")
def test_bf16_stage_errors_cover_every_stage(test_device):
    # CUDA whatever test_device says (taking it puts the test in VFI_TEST_DEVICE=cuda runs).
    model = random_model(torch.device("cuda"), str(TINY_CONFIG))
    errors = stage_errors(model, 256, 256, Precision("bf16"), (501,))
    assert [e.stage for e in errors] == ["encoder latent", "U-Net eps (t=501)", "decoder frame"]
    assert all(0 < e.relative < 0.05 for e in errors)


def test_bench_prints_one_row_per_size_batch_and_precision():
    lines: list[str] = []
    options = BenchOptions(
        device=CPU,
        sizes=["64x64"],
        batches=[1, 2],
        precisions=["fp32", "tf32"],  # tf32 has no CPU row
        steps=10,
        repeats=1,
        config=str(TINY_CONFIG),
    )
    results = run_bench(options, lines.append)
    assert [(r.batch, r.precision) for r in results] == [(1, "fp32"), (2, "fp32")]
    rows = [line for line in lines if line.strip().startswith("64x64")]
    assert len(rows) == 2 and all(" fp32 " in row for row in rows)
