"""`IFRNet.interpolate`: padding like the official evaluation, any frame size, time per pair."""

from __future__ import annotations

import pytest
import torch

TOL = {"atol": 1e-4, "rtol": 1e-4}


def crop(frame: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
    """The raw frame inside a padded one; pad is [left, right, top, bottom]."""
    left, right, top, bottom = pad.tolist()
    return frame[..., top : frame.shape[-2] - bottom, left : frame.shape[-1] - right]


def test_padded_case_matches_the_official_unpadded_result(models, inputs, outputs):
    case = inputs["case_c"]
    prev, next = crop(case["img0"], case["pad"]), crop(case["img1"], case["pad"])
    assert prev.shape[-2:] == (70, 100)
    out = models["IFRNet"].interpolate(prev, next, 0.5)
    torch.testing.assert_close(out, outputs["IFRNet"]["case_c"]["imgt_pred_unpadded"], **TOL)


@pytest.mark.parametrize("variant", ["IFRNet_L", "IFRNet_S"])
def test_padded_case_matches_the_official_for_the_other_variants(models, inputs, outputs, variant):
    case = inputs["case_c"]
    prev, next = crop(case["img0"], case["pad"]), crop(case["img1"], case["pad"])
    out = models[variant].interpolate(prev, next, 0.5)
    torch.testing.assert_close(out, outputs[variant]["case_c"]["imgt_pred_unpadded"], **TOL)


def test_scale_factor_0p8_pads_to_20_and_matches_the_official_snu_film_procedure(
    models, inputs, outputs
):
    case = inputs["case_d"]
    prev, next = crop(case["img0"], case["pad"]), crop(case["img1"], case["pad"])
    assert prev.shape[-2:] == (90, 130)
    out = models["IFRNet"].interpolate(prev, next, 0.5, scale_factor=0.8)
    torch.testing.assert_close(out, outputs["IFRNet"]["case_d"]["imgt_pred_unpadded"], **TOL)


def test_one_time_per_pair(models, inputs, outputs):
    case = inputs["case_b"]
    out = models["IFRNet"].interpolate(case["img0"], case["img1"], [0.25, 0.75])
    torch.testing.assert_close(out, outputs["IFRNet"]["case_b"]["imgt_pred"], **TOL)


def test_a_float_time_applies_to_every_pair(models, inputs):
    case = inputs["case_b"]
    model = models["IFRNet_S"]
    one = model.interpolate(case["img0"], case["img1"], 0.25)
    each = model.interpolate(case["img0"], case["img1"], torch.tensor([0.25, 0.25]))
    assert torch.equal(one, each)


def test_any_frame_size_comes_back_at_its_size_as_float32_in_unit_range(models):
    generator = torch.Generator().manual_seed(1)
    prev = torch.rand(2, 3, 37, 53, generator=generator)
    next = torch.rand(2, 3, 37, 53, generator=generator)
    out = models["IFRNet_S"].interpolate(prev, next, 0.5)
    assert out.shape == (2, 3, 37, 53)
    assert out.dtype == torch.float32 and out.is_contiguous()
    assert out.min() >= 0 and out.max() <= 1
    assert not out.requires_grad


def test_reduced_precision_keeps_float32_output_close(models, inputs, outputs):
    """bfloat16 convolutions (cast copies of the weights); mean, flows and merge stay float32."""
    case = inputs["case_b"]
    model = models["IFRNet_S"]
    out = model.interpolate(case["img0"], case["img1"], [0.25, 0.75], dtype=torch.bfloat16)
    assert out.dtype == torch.float32
    assert (out - outputs["IFRNet_S"]["case_b"]["imgt_pred"]).abs().max() < 0.05
    assert {p.dtype for p in model.parameters()} == {torch.float32}


@pytest.mark.parametrize(
    ("t", "message"),
    [([0.5], "one per pair"), (1.5, r"in \[0, 1\]"), (float("nan"), r"in \[0, 1\]")],
)
def test_bad_times_are_refused(models, t, message):
    prev = torch.rand(2, 3, 16, 16)
    with pytest.raises(ValueError, match=message):
        models["IFRNet_S"].interpolate(prev, prev, t)


def test_frames_of_different_shapes_are_refused(models):
    with pytest.raises(ValueError, match="N x 3 x H x W"):
        models["IFRNet_S"].interpolate(torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 32), 0.5)
