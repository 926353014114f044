"""Frames to model tensors and back, through the sequence's intensity mapping."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from support import make_frame

from vfi.io.frames import FrameInfo
from vfi.io.intensity import Normalisation, frame_statistics
from vfi.io.tensors import from_model_tensor, to_model_tensor

RAW8, RAW16 = Normalisation.raw(8), Normalisation.raw(16)
MODES = [("L", 8), ("L", 16), ("RGB", 8), ("RGB", 16)]


def test_model_tensor_replicates_gray_to_three_channels_in_range():
    frame = np.array([[0, 255]], dtype=np.uint8)
    tensor = to_model_tensor(frame, RAW8)
    assert tensor.shape == (3, 1, 2)
    assert torch.equal(tensor[:, 0, 0], torch.full((3,), -1.0))
    assert torch.equal(tensor[:, 0, 1], torch.full((3,), 1.0))


@pytest.mark.parametrize(("mode", "depth"), MODES)
def test_raw_round_trip_is_exact(mode, depth):
    frame = make_frame(mode, depth)
    info = FrameInfo(frame.shape[1], frame.shape[0], mode, depth)
    raw = RAW8 if depth == 8 else RAW16
    assert np.array_equal(from_model_tensor(to_model_tensor(frame, raw), info, raw), frame)


def test_gray_output_is_mean_of_channels():
    tensor = torch.stack(
        [torch.full((2, 2), -1.0), torch.full((2, 2), 0.0), torch.full((2, 2), 1.0)]
    )
    out = from_model_tensor(tensor, FrameInfo(2, 2, "L", 8), RAW8)
    assert out.shape == (2, 2) and int(out[0, 0]) == 128


def twelve_bit_frame(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(1500, 1900, (24, 32), dtype=np.uint16, endpoint=True)


def test_stretched_12_bit_data_fill_the_model_range():
    frame = twelve_bit_frame()
    stretch = Normalisation.for_sequence("auto", frame_statistics([frame]))
    assert stretch.mode == "stretch" and stretch.ceiling == 4095
    tensor = to_model_tensor(frame, stretch)
    assert tensor.min() < -0.99 and tensor.max() > 0.99
    raw = to_model_tensor(frame, RAW16)
    assert raw.max() < -0.94  # what the model saw before: almost black


def test_stretched_round_trip_is_within_half_a_grey_level():
    frame = twelve_bit_frame()
    stretch = Normalisation.for_sequence("stretch", frame_statistics([frame]))
    info = FrameInfo(32, 24, "L", 16)
    back = from_model_tensor(to_model_tensor(frame, stretch), info, stretch)
    assert np.abs(back.astype(np.int64) - frame).max() <= 1


def test_stretched_results_are_clipped_to_the_sequences_full_scale():
    stretch = Normalisation.for_sequence("stretch", frame_statistics([twelve_bit_frame()]))
    far_too_bright = torch.full((3, 2, 2), 50.0)
    out = from_model_tensor(far_too_bright, FrameInfo(2, 2, "L", 16), stretch)
    assert out.max() == 4095
