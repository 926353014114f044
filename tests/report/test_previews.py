"""Animations and strips: what they show, their size, and that they are reproducible."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from support import add_sequence, make_frame

from vfi.data.layout import OutputLayout
from vfi.data.sequences import discover
from vfi.io.frames import read_frame, write_frame
from vfi.report.previews import (
    COLOUR_BAR,
    HEAT_FRACTION,
    LABEL_HEIGHT,
    DisplayRange,
    difference_heatmap,
    display_size,
    strip_path,
    write_animation,
    write_strips,
)


@pytest.fixture
def finished(tmp_path):
    """A 16-bit generation sequence 1..5 with every target made and ground truth for 2 and 3."""
    data = tmp_path / "data"
    add_sequence(data, "seqA", [1, 5], gt=[2, 3], bit_depth=16, height=24, width=32)
    (seq,) = discover(data).sequences
    layout = OutputLayout(tmp_path / "out")
    for index in seq.targets:
        write_frame(layout.frame(seq, index), make_frame("L", 16, 24, 32, seed=60 + index))
    return seq, layout


def test_animation_has_every_frame_of_the_sequence(finished, tmp_path):
    seq, layout = finished
    assert write_animation(seq, layout, tmp_path / "a.png") == 5
    with Image.open(tmp_path / "a.png") as image:
        assert image.format == "PNG" and getattr(image, "n_frames", 1) == 5
        assert image.info.get("loop") == 0


def test_one_strip_per_scored_frame_with_five_panels(finished, tmp_path):
    seq, layout = finished
    written = write_strips(seq, layout, tmp_path / "strips")
    assert written == [strip_path(tmp_path / "strips", 2), strip_path(tmp_path / "strips", 3)]
    height, width = display_size(24, 32, 256)
    with Image.open(written[0]) as strip:
        # the heat map has its colour bar beneath
        assert strip.size == (5 * width + 4 * 4, height + LABEL_HEIGHT + COLOUR_BAR + 2)


def test_previews_are_the_same_bytes_on_every_run(finished, tmp_path):
    seq, layout = finished
    write_animation(seq, layout, tmp_path / "a1.png")
    write_animation(seq, layout, tmp_path / "a2.png")
    assert (tmp_path / "a1.png").read_bytes() == (tmp_path / "a2.png").read_bytes()


def test_difference_panel_is_black_for_an_exact_prediction(finished, tmp_path):
    seq, layout = finished
    write_frame(layout.frame(seq, 2), read_frame(seq.ground_truth[2]))
    (strip, _) = write_strips(seq, layout, tmp_path / "strips")
    pixels = np.asarray(Image.open(strip).convert("L"))
    height, width = display_size(24, 32, 256)
    difference = pixels[LABEL_HEIGHT : LABEL_HEIGHT + height, -width:]
    assert difference.max() == 0


def test_heat_map_is_black_at_zero_and_brightest_from_a_tenth_of_the_data_range():
    truth = np.full((2, 3), 1000, dtype=np.uint16)
    prediction = truth.copy()
    prediction[0, 1] += round(HEAT_FRACTION * 4095)  # the top of the scale for 12-bit data
    prediction[0, 2] += 3000  # beyond it: clipped to the same colour
    heat = difference_heatmap(prediction, truth, 4095.0)
    assert heat.shape == (2, 3, 3) and heat.dtype == np.uint8
    assert max(heat[0, 0]) <= 4  # inferno at 0: black
    assert heat[0, 1].tolist() == heat[0, 2].tolist()
    assert heat[0, 1].sum() > 3 * 200  # bright yellow


def test_heat_map_scale_is_fixed_whatever_the_other_differences():
    truth = np.zeros((1, 2), dtype=np.uint8)
    small = difference_heatmap(np.array([[10, 0]], np.uint8), truth, 255.0)
    large = difference_heatmap(np.array([[10, 200]], np.uint8), truth, 255.0)
    assert small[0, 0].tolist() == large[0, 0].tolist()


def test_sixteen_bit_frames_are_stretched_between_percentiles():
    dark = np.full((10, 10), 1000, dtype=np.uint16)
    dark[0, 0] = 4000
    display = DisplayRange.for_frames([dark, dark + 100])
    assert 1000 <= display.low < display.high <= 4100
    assert display.to_rgb8(np.full((2, 2), 1000, np.uint16)).max() == 0
    assert display.to_rgb8(np.full((2, 2), 4100, np.uint16)).min() == 255


def test_eight_bit_frames_are_shown_as_they_are():
    frame = make_frame("RGB", 8)
    assert np.array_equal(DisplayRange.for_frames([frame]).to_rgb8(frame), frame)


@pytest.mark.parametrize(
    ("size", "max_side", "expected"),
    [((1536, 2048), 512, (384, 512)), ((32, 48), 256, (128, 192)), ((200, 300), 256, (171, 256))],
)
def test_display_size_shrinks_large_and_enlarges_tiny_frames(size, max_side, expected):
    assert display_size(*size, max_side) == expected
