"""DSepConv reproduces the official CUDA kernel's forward pass, quirks included."""

from __future__ import annotations

import pytest
import torch

from vfi.models.ldmvfi.dsepconv import dsepconv


def _call(golden: dict[str, torch.Tensor], device=None, zero_offsets: bool = False):
    """The kernel on `device` (default: the goldens' device); the output on the goldens'."""
    device = device or golden["input"].device
    args = {k: golden[k].to(device) for k in ("input", "vertical", "horizontal", "mask")}
    off_x, off_y = golden["offset_x"].to(device), golden["offset_y"].to(device)
    if zero_offsets:
        off_x, off_y = torch.zeros_like(off_x), torch.zeros_like(off_y)
    return dsepconv(
        args["input"], args["vertical"], args["horizontal"], off_x, off_y, args["mask"]
    ).to(golden["output"].device)


def _single_tap(image: torch.Tensor, fy: int, fx: int, dy: float = 0.0, dx: float = 0.0):
    """Output of a 1 x 1 x (h+4) x (w+4) image when only tap (fy, fx) has weight 1.

    dy / dx are the vertical / horizontal offsets of that tap (passed as offset_x / offset_y,
    following the official naming swap).
    """
    h, w = image.shape[-2] - 4, image.shape[-1] - 4
    vertical = torch.zeros(1, 5, h, w)
    horizontal = torch.zeros(1, 5, h, w)
    vertical[:, fy] = 1.0
    horizontal[:, fx] = 1.0
    offset_x = torch.zeros(1, 25, h, w)
    offset_y = torch.zeros(1, 25, h, w)
    offset_x[:, fy * 5 + fx] = dy
    offset_y[:, fy * 5 + fx] = dx
    mask = torch.ones(1, 25, h, w)
    return dsepconv(image, vertical, horizontal, offset_x, offset_y, mask)


@pytest.fixture
def ramp() -> torch.Tensor:
    """1 x 1 x 5 x 6 image with distinct power-of-two-free values, so sums are exact."""
    return torch.arange(30, dtype=torch.float32).view(1, 1, 5, 6) + 1.0


def test_matches_official_kernel_bit_exact(dsepconv_golden):
    out = _call(dsepconv_golden)
    assert torch.equal(out, dsepconv_golden["output"])


def test_matches_official_kernel_with_zero_offsets_bit_exact(dsepconv_golden):
    out = _call(dsepconv_golden, zero_offsets=True)
    assert torch.equal(out, dsepconv_golden["output_zero_offsets"])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_official_kernel(dsepconv_golden):
    out = _call(dsepconv_golden, device="cuda")
    torch.testing.assert_close(out, dsepconv_golden["output"], rtol=0, atol=1e-6)


def test_tap_3_3_with_zero_offset_reads_the_output_pixel(ramp):
    # Off-centre window: tap (fy, fx) reads padded (Y + fy - 1, X + fx - 1); (3, 3) -> (2, 2).
    out = _single_tap(ramp, fy=3, fx=3)
    assert out[0, 0, 0, 0] == ramp[0, 0, 2, 2]
    assert out[0, 0, 0, 1] == ramp[0, 0, 2, 3]


def test_sample_left_of_image_counts_edge_pixel_twice(ramp):
    # Tap (2, 0) of output (0, 0) reads row 1, column -1: both horizontal weights become 1.
    out = _single_tap(ramp, fy=2, fx=0)
    assert out[0, 0, 0, 0] == 2 * ramp[0, 0, 1, 0]


def test_sample_outside_a_corner_counts_corner_pixel_four_times(ramp):
    out = _single_tap(ramp, fy=0, fx=0)
    assert out[0, 0, 0, 0] == 4 * ramp[0, 0, 0, 0]


def test_sample_exactly_on_last_column_counts_it_twice(ramp):
    # Position 5 = Win - 1 is already in the border regime (right corner clamps onto the left one).
    out = _single_tap(ramp, fy=3, fx=3, dx=3.0)
    assert out[0, 0, 0, 0] == 2 * ramp[0, 0, 2, 5]


def test_sample_exactly_on_first_column_is_normal(ramp):
    out = _single_tap(ramp, fy=3, fx=3, dx=-2.0)
    assert out[0, 0, 0, 0] == ramp[0, 0, 2, 0]


def test_offset_y_moves_horizontally_and_offset_x_vertically(ramp):
    horizontal = _single_tap(ramp, fy=3, fx=3, dx=1.0)
    vertical = _single_tap(ramp, fy=3, fx=3, dy=1.0)
    assert horizontal[0, 0, 0, 0] == ramp[0, 0, 2, 3]
    assert vertical[0, 0, 0, 0] == ramp[0, 0, 3, 2]


def test_fractional_offset_interpolates_bilinearly(ramp):
    out = _single_tap(ramp, fy=3, fx=3, dy=0.5, dx=0.25)
    expected = (
        0.75 * 0.5 * ramp[0, 0, 2, 2]
        + 0.25 * 0.5 * ramp[0, 0, 2, 3]
        + 0.75 * 0.5 * ramp[0, 0, 3, 2]
        + 0.25 * 0.5 * ramp[0, 0, 3, 3]
    )
    torch.testing.assert_close(out[0, 0, 0, 0], expected)


def test_rejects_input_that_is_not_four_pixels_larger(dsepconv_golden):
    g = dsepconv_golden
    with pytest.raises(ValueError, match=r"\(H \+ 4\) x \(W \+ 4\)"):
        dsepconv(
            g["input"][..., 1:, :],
            g["vertical"],
            g["horizontal"],
            g["offset_x"],
            g["offset_y"],
            g["mask"],
        )


def test_rejects_kernel_with_wrong_tap_count(dsepconv_golden):
    g = dsepconv_golden
    with pytest.raises(ValueError, match="mask"):
        dsepconv(
            g["input"],
            g["vertical"],
            g["horizontal"],
            g["offset_x"],
            g["offset_y"],
            g["mask"][:, :24],
        )
