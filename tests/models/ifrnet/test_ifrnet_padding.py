"""The maintainer's InputPadder procedure and the divisor that goes with a scale factor."""

from __future__ import annotations

import pytest
import torch

from vfi.models.ifrnet.padding import InputPadder, divisor_for_scale, padder_for


def test_padding_is_centred_with_the_odd_remainder_right_and_bottom():
    assert InputPadder(70, 100, 16).pads == (6, 6, 5, 5)
    assert InputPadder(90, 130, 20).pads == (5, 5, 5, 5)
    assert InputPadder(37, 53, 16).pads == (5, 6, 5, 6)
    assert InputPadder(64, 96, 16).pads == (0, 0, 0, 0)


def test_padding_replicates_the_border_and_unpad_restores_the_frame():
    frame = torch.rand(1, 3, 37, 53)
    padder = InputPadder(37, 53)
    padded = padder.pad(frame)
    assert padded.shape[-2:] == padder.padded_size == (48, 64)
    assert torch.equal(padded[..., :5, 5:-6], frame[..., :1, :].expand(-1, -1, 5, -1))
    assert torch.equal(padded[..., 5:-6, -6:], frame[..., :, -1:].expand(-1, -1, -1, 6))
    assert torch.equal(padder.unpad(padded), frame)


def test_padded_case_c_is_the_official_padding(inputs):
    case = inputs["case_c"]
    padder = InputPadder(70, 100, 16)
    assert list(padder.pads) == case["pad"].tolist()
    assert torch.equal(padder.pad(padder.unpad(case["img0"])), case["img0"])


@pytest.mark.parametrize(("scale", "divisor"), [(1.0, 16), (0.8, 20), (0.5, 32), (0.25, 64)])
def test_divisor_makes_the_resized_frames_multiples_of_16(scale, divisor):
    assert divisor_for_scale(scale) == divisor


def test_scale_0p8_padder_gives_exact_round_trip_sizes():
    padder = padder_for(90, 130, 0.8)
    assert padder.divisor == 20 and padder.padded_size == (100, 140)


@pytest.mark.parametrize("scale", [0.0, -0.5, float("nan"), 0.123456789])
def test_unusable_scale_factors_are_refused(scale):
    with pytest.raises(ValueError, match="scale_factor"):
        divisor_for_scale(scale)


def test_padder_refuses_frames_of_another_size():
    with pytest.raises(ValueError, match="made for 16 x 16"):
        InputPadder(16, 16).pad(torch.rand(1, 3, 16, 32))
