"""Forward splatting against the official kernel's goldens and hand-computed cases."""

from __future__ import annotations

import pytest
import torch
from support import load_pervfi_fixture

from vfi.models.pervfi.splatting import hole_mask, softsplat, splat_sum

ATOL = 1e-6


@pytest.fixture(scope="module")
def cases(to_test_device) -> dict[str, torch.Tensor]:
    return to_test_device(load_pervfi_fixture("softsplat_cases.pt"))


def _golden_args(cases: dict[str, torch.Tensor], name: str) -> tuple:
    metric = {
        "sum": None,
        "avg": None,
        "soft": cases["metric"],
        "soft_negclip": cases["metric"].neg().clip(-20.0, 20.0),
    }[name]
    return cases["in"], cases["flow"], metric, name.split("_")[0]


@pytest.mark.parametrize("name", ["sum", "avg", "soft", "soft_negclip"])
def test_each_mode_matches_the_official_kernel(cases, name):
    values, flow, metric, mode = _golden_args(cases, name)
    out = softsplat(values, flow, metric, mode)
    torch.testing.assert_close(out, cases[name], atol=ATOL, rtol=0)


def test_golden_flow_has_the_special_vectors_the_cases_rely_on(cases):
    flow = cases["flow"]
    assert torch.isnan(flow).any()
    assert torch.isinf(flow).any()
    assert (flow[torch.isfinite(flow)].abs() >= 40).any()


@pytest.mark.parametrize("name", ["sum", "avg", "soft", "soft_negclip"])
def test_batch_samples_are_splatted_independently(cases, name):
    values, flow, metric, mode = _golden_args(cases, name)
    together = softsplat(values, flow, metric, mode)
    for i in range(values.shape[0]):
        alone = softsplat(
            values[i : i + 1], flow[i : i + 1], None if metric is None else metric[i : i + 1], mode
        )
        torch.testing.assert_close(together[i : i + 1], alone, atol=0, rtol=0)


def test_integer_flow_moves_a_pixel_exactly():
    values = torch.zeros(1, 2, 5, 6)
    values[0, :, 2, 3] = torch.tensor([1.5, -2.0])
    flow = torch.zeros(1, 2, 5, 6)
    flow[0, :, 2, 3] = torch.tensor([-3.0, 2.0])  # x - 3, y + 2
    expected = torch.zeros_like(values)
    expected[0, :, 4, 0] = torch.tensor([1.5, -2.0])
    assert torch.equal(splat_sum(values, flow), expected)


def test_fractional_flow_splits_a_pixel_bilinearly():
    values = torch.zeros(1, 1, 4, 4)
    values[0, 0, 1, 1] = 1.0
    flow = torch.zeros(1, 2, 4, 4)
    flow[0, :, 1, 1] = torch.tensor([0.25, 0.5])
    out = splat_sum(values, flow)[0, 0]
    assert out[1, 1] == pytest.approx(0.75 * 0.5)
    assert out[1, 2] == pytest.approx(0.25 * 0.5)
    assert out[2, 1] == pytest.approx(0.75 * 0.5)
    assert out[2, 2] == pytest.approx(0.25 * 0.5)
    assert out.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_sources_with_non_finite_targets_are_skipped(bad):
    values = torch.arange(1.0, 13.0).view(1, 1, 3, 4)
    flow = torch.zeros(1, 2, 3, 4)
    flow[0, 1, 1, 2] = bad
    out = splat_sum(values, flow)
    expected = values.clone()
    expected[0, 0, 1, 2] = 0.0
    assert torch.equal(out, expected)


def test_non_finite_values_of_skipped_sources_do_not_leak():
    values = torch.ones(1, 1, 3, 4)
    values[0, 0, 2, 3] = float("inf")
    flow = torch.zeros(1, 2, 3, 4)
    flow[0, 0, 2, 3] = 1.0  # pushed out of frame on the right
    out = splat_sum(values, flow)
    assert torch.isfinite(out).all()
    assert out[0, 0, 2, 3] == 0.0


def test_out_of_frame_neighbours_are_dropped():
    values = torch.ones(1, 1, 4, 5)
    flow = torch.zeros(1, 2, 4, 5)
    flow[:, 0] = 0.5  # every pixel half a pixel right: the last column loses half of itself
    out = splat_sum(values, flow)[0, 0]
    assert out[:, 0].tolist() == [0.5] * 4
    assert out[:, 1:].tolist() == [[1.0] * 4] * 4
    assert out.sum() == pytest.approx(20 - 4 * 0.5)


def test_far_out_of_frame_flow_leaves_nothing():
    values = torch.rand(2, 3, 6, 7)
    flow = torch.full((2, 2, 6, 7), 1e30)
    assert torch.equal(splat_sum(values, flow), torch.zeros_like(values))


def test_avg_divides_by_the_splatted_count():
    values = torch.tensor([[[[2.0, 6.0, 0.0]]]])
    flow = torch.tensor([[[[1.0, 0.0, 0.0]], [[0.0, 0.0, 0.0]]]])  # pixel 0 onto pixel 1
    out = softsplat(values, flow, mode="avg")[0, 0, 0]
    assert out[0] == 0.0  # a hole stays 0 (1e-7 in the denominator)
    assert out[1] == pytest.approx(4.0)
    assert out[2] == 0.0


def test_soft_weights_sources_by_exp_metric():
    values = torch.tensor([[[[2.0, 6.0]]]])
    flow = torch.tensor([[[[1.0, 0.0]], [[0.0, 0.0]]]])  # both land on pixel 1
    metric = torch.tensor([[[[0.0, 1.0]]]])
    out = softsplat(values, flow, metric, "soft")[0, 0, 0, 1]
    e = torch.e
    assert out.item() == pytest.approx((2.0 + 6.0 * e) / (1.0 + e), rel=1e-6)


def test_hole_mask_marks_pixels_nothing_lands_on():
    flow = torch.zeros(1, 2, 4, 6)
    flow[:, 0] = 2.0  # everything two pixels right: the first two columns are uncovered
    holes = hole_mask(flow)
    expected = torch.zeros(1, 1, 4, 6)
    expected[..., :2] = 1.0
    assert torch.equal(holes, expected)


def test_any_coverage_above_about_1e_7_is_not_a_hole():
    # The avg-splat of ones is w / (w + 1e-7), about 1 wherever anything lands, so "<= 0.5"
    # means a total weight below about 1e-7, not half coverage.
    flow = torch.zeros(1, 2, 2, 4)
    flow[0, 0, :, 1] = 5.0  # pixel 1 of both rows leaves the frame
    flow[0, 0, 0, 0] = 1.0 - 6e-8  # keeps 6e-8 of itself (float32: 1 - 2**-24)
    flow[0, 0, 1, 0] = 0.99  # keeps 1 % of itself
    holes = hole_mask(flow)[0, 0]
    assert holes.tolist() == [[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]


def test_float64_inputs_are_splatted_in_float64():
    values = torch.rand(1, 2, 5, 5, dtype=torch.float64)
    flow = torch.rand(1, 2, 5, 5, dtype=torch.float64)
    out = softsplat(values, flow, torch.rand(1, 1, 5, 5, dtype=torch.float64), "soft")
    assert out.dtype == torch.float64


def test_unknown_mode_is_rejected():
    with pytest.raises(ValueError, match="unknown splatting mode"):
        softsplat(torch.zeros(1, 1, 2, 2), torch.zeros(1, 2, 2, 2), mode="linear")


def test_soft_mode_requires_a_metric():
    with pytest.raises(ValueError, match="needs a metric"):
        softsplat(torch.zeros(1, 1, 2, 2), torch.zeros(1, 2, 2, 2), mode="soft")


def test_mismatched_flow_is_rejected():
    with pytest.raises(ValueError, match="flow must be"):
        splat_sum(torch.zeros(1, 1, 3, 3), torch.zeros(1, 2, 3, 4))
