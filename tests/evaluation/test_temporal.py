"""Temporal consistency: PSNR between consecutive output frames against consecutive truth."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vfi.evaluation.metrics import psnr
from vfi.evaluation.temporal import temporal_consistency


def frames(count: int, seed: int = 0) -> dict[int, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {i: rng.integers(0, 256, (16, 16), dtype=np.uint8) for i in range(1, count + 1)}


def test_an_output_equal_to_the_truth_differs_by_zero():
    truth = frames(5)
    values = temporal_consistency(truth, truth, 255.0)
    assert values["pairs"] == values["truth_pairs"] == 4
    assert values["output_psnr"] == values["truth_psnr"] and values["difference"] == 0.0


def test_consecutive_psnr_is_the_mean_over_pairs():
    output = frames(3)
    values = temporal_consistency(output, {}, 255.0)
    expected = np.mean([psnr(output[2], output[1], 255.0), psnr(output[3], output[2], 255.0)])
    assert values["output_psnr"] == pytest.approx(expected)
    assert values["truth_pairs"] == 0 and math.isnan(values["truth_psnr"])


def test_an_output_smoother_than_reality_has_a_positive_difference():
    truth = frames(5)
    # every frame the mean of the first and last: far smoother than independent noise
    middle = ((truth[1].astype(int) + truth[5]) // 2).astype(np.uint8)
    output = {1: truth[1], 2: middle, 3: middle + 1, 4: middle, 5: truth[5]}
    values = temporal_consistency(output, truth, 255.0)
    assert values["difference"] > 3


def test_only_pairs_with_both_true_frames_are_compared():
    output = frames(5)
    truth = {i: output[i] for i in (1, 2, 3, 5)}  # no ground truth for frame 4
    values = temporal_consistency(output, truth, 255.0)
    assert values["pairs"] == 4 and values["truth_pairs"] == 2
