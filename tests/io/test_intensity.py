"""Bit depth, data range and the choice of intensity mapping of a sequence."""

from __future__ import annotations

import numpy as np
import pytest

from vfi.io.intensity import (
    Normalisation,
    bits_holding,
    frame_statistics,
    resolve_data_range,
)


@pytest.mark.parametrize(
    ("largest", "bits"),
    [(0, 8), (255, 8), (256, 10), (1023, 10), (4095, 12), (4096, 14), (65535, 16)],
)
def test_bit_depth_is_the_smallest_that_holds_the_largest_value(largest, bits):
    assert bits_holding(largest) == bits


def test_data_range_auto_dtype_and_number():
    assert resolve_data_range("auto", 16, 1900) == 4095
    assert resolve_data_range("dtype", 16, 1900) == 65535
    assert resolve_data_range("dtype", 8, 200) == 255
    assert resolve_data_range(1000, 16, 1900) == 1000


def test_a_data_range_that_is_not_positive_is_refused():
    with pytest.raises(ValueError, match="positive"):
        resolve_data_range(0, 16, 10)


def test_full_range_and_8_bit_data_stay_raw_under_auto():
    eight = np.array([[3, 60]], dtype=np.uint8)  # dim, but 8-bit data are their own depth
    full16 = np.array([[0, 60000]], dtype=np.uint16)
    assert Normalisation.for_sequence("auto", frame_statistics([eight])) == Normalisation.raw(8)
    assert Normalisation.for_sequence("auto", frame_statistics([full16])) == Normalisation.raw(16)


def test_12_bit_data_in_16_bit_files_are_stretched_under_auto():
    frames = [np.array([[1500, 1700], [1800, 1900]], dtype=np.uint16)] * 2
    chosen = Normalisation.for_sequence("auto", frame_statistics(frames))
    assert chosen.mode == "stretch" and 1500 <= chosen.low < chosen.high <= 1900
    assert chosen.ceiling == 4095


def test_raw_can_be_forced_and_a_flat_sequence_still_gets_a_range():
    flat = [np.full((4, 4), 1000, dtype=np.uint16)]
    assert Normalisation.for_sequence("raw", frame_statistics(flat)).mode == "raw"
    stretched = Normalisation.for_sequence("stretch", frame_statistics(flat))
    assert stretched.high > stretched.low
