"""Backends compared on the same frames: paired differences and their bootstrap intervals."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from vfi.evaluation.comparison import (
    backend_means,
    bootstrap_ci,
    paired_differences,
    table_csv,
    worst_frames,
)


def scores(backend: str, psnr: list[float], mode: str = "evaluate") -> pd.DataFrame:
    """A results/metrics.csv table of one sequence's frames 1..n."""
    n = len(psnr)
    return pd.DataFrame(
        {
            "sequence": ["s"] * n,
            "mode": [mode] * n,
            "frame": list(range(1, n + 1)),
            "level": [1] * n,
            "backend": [backend] * n,
            "psnr": psnr,
            "ssim": [0.5] * n,
            "lpips": [math.nan] * n,
        }
    )


def test_interval_excludes_zero_for_a_consistent_improvement():
    rng = np.random.default_rng(1)
    low, high = bootstrap_ci(1.0 + rng.normal(0, 0.5, 40))
    assert 0 < low < 1.0 < high


def test_interval_includes_zero_for_differences_centred_on_zero():
    rng = np.random.default_rng(2)
    values = rng.normal(0, 1, 40)
    low, high = bootstrap_ci(values - values.mean())
    assert low < 0 < high


def test_bootstrap_is_the_same_on_every_run():
    values = np.arange(10.0)
    assert bootstrap_ci(values, resamples=500) == bootstrap_ci(values, resamples=500)


def test_bootstrap_of_fewer_than_two_values_has_no_interval():
    assert all(math.isnan(v) for v in bootstrap_ci(np.array([1.0])))


def test_grouped_bootstrap_is_wider_when_frames_of_a_sequence_move_together():
    """Six sequences of 20 frames whose frames share their sequence's offset: resampling
    frames treats 120 values as independent, resampling sequences sees six."""
    rng = np.random.default_rng(3)
    offsets = np.repeat(rng.normal(0, 1, 6), 20)
    values = offsets + rng.normal(0, 0.1, 120)
    groups = np.repeat(np.arange(6), 20)
    frames_low, frames_high = bootstrap_ci(values, resamples=2000)
    low, high = bootstrap_ci(values, resamples=2000, groups=groups)
    assert high - low > 2 * (frames_high - frames_low)


def test_grouped_bootstrap_of_equal_groups_is_centred_on_the_mean():
    values = np.array([1.0, 3.0, 5.0, 7.0, 2.0, 4.0])
    low, high = bootstrap_ci(values, resamples=2000, groups=np.array([0, 0, 1, 1, 2, 2]))
    assert low < values.mean() < high


def test_paired_differences_resample_sequences_when_there_are_several():
    main = pd.concat(
        [scores("flow", [30.0, 31.0, 29.0]).assign(sequence=name) for name in ("a", "b", "c")]
    )
    other = main.assign(backend="blend", psnr=main["psnr"] - 1.0)
    paired = paired_differences({"flow": main, "blend": other}, "flow", resamples=500)
    assert paired.iloc[0]["unit"] == "sequences"
    single = paired_differences(
        {"flow": scores("flow", [30.0, 31.0]), "blend": scores("blend", [29.0, 30.0])}, "flow"
    )
    assert single.iloc[0]["unit"] == "frames"


def test_paired_differences_pair_frames_and_name_the_better_backend():
    main = scores("flow", [30.0, 31.0, 29.0, 30.5, 30.0, 31.5])
    other = scores("blend", [28.0, 29.5, 27.0, 28.0, 28.5, 29.0])
    paired = paired_differences({"flow": main, "blend": other}, "flow", resamples=2000)
    row = paired[(paired["metric"] == "psnr")].iloc[0]
    assert (row["backend"], row["reference"], row["set"]) == ("blend", "flow", "evaluation")
    assert row["frames"] == 6 and row["mean_difference"] == np.mean(
        [-2, -1.5, -2, -2.5, -1.5, -2.5]
    )
    assert row["ci_high"] < 0 and row["verdict"] == "flow better"
    same = paired[paired["metric"] == "ssim"].iloc[0]
    assert same["mean_difference"] == 0 and same["verdict"] == "no clear difference"


def test_frames_without_a_finite_pair_are_excluded():
    main = scores("flow", [30.0, math.inf, 29.0])
    other = scores("blend", [29.0, 28.0, 28.0])
    row = paired_differences({"flow": main, "blend": other}, "flow").iloc[0]
    assert (row["frames"], row["excluded"]) == (2, 1)


def test_means_are_per_backend_and_set():
    tables = {
        "flow": pd.concat([scores("flow", [30.0, 32.0]), scores("flow", [20.0], "generate")]),
        "blend": pd.concat([scores("blend", [28.0, 30.0]), scores("blend", [19.0], "generate")]),
    }
    means = backend_means(tables, "flow")
    psnr = means[means["metric"] == "psnr"].set_index(["backend", "set"])
    assert psnr.loc[("flow", "evaluation"), "mean"] == 31.0
    assert psnr.loc[("blend", "generation"), "mean"] == 19.0
    assert set(means.loc[means["backend"] == "flow", "role"]) == {"main"}
    assert table_csv(means) == table_csv(backend_means(tables, "flow"))


def test_worst_frames_are_the_lowest_psnr_of_the_main_backend():
    assert worst_frames(scores("flow", [30.0, 20.0, math.inf, 25.0]), 3) == [
        ("s", 2),
        ("s", 4),
        ("s", 1),
    ]
