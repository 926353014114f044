"""Pictures to look at: an animation of each sequence and a strip for each scored frame.

    animation.png         the whole sequence as an animated PNG (APNG), each frame labelled
    strips/strip_NNN.png  frame NNN: previous parent | prediction | ground truth | next parent |
                          difference heat map

The heat map shows |prediction - truth| (the largest channel for RGB) on one fixed scale for
every frame, sequence and backend of a run: colour map `inferno`, black at 0, the brightest
yellow at 10% of the sequence's data range (the full-scale value its scores use, 4095 for 12-bit
data) and above; a colour bar runs beneath it and its label states the scale.

Animated PNG rather than GIF: the Snakemake report shows PNG inline (GIF only as a download),
every browser plays APNG, and PNG keeps 8-bit grey levels without a 256-colour palette.

Display only, never for measuring: 8-bit frames are shown as they are; 16-bit frames (often
12-bit data) are stretched linearly between the 0.1 and 99.9 percentiles of the sequence's input
frames, one mapping for the whole sequence so that brightness stays comparable between frames.
Large frames are shrunk (area averaging) so the longest side is at most `max_side` pixels; tiny
frames are enlarged by an integer factor (nearest neighbour, so pixels stay visible). Output
bytes depend only on the input pixels.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from vfi.data.layout import OutputLayout
from vfi.data.sequences import Sequence
from vfi.imaging import resize
from vfi.io.atomic import write_bytes_atomic
from vfi.io.frames import max_value, read_frame

ANIMATION_MAX_SIDE = 512
STRIP_MAX_SIDE = 256
MIN_SIDE = 192
LABEL_HEIGHT = 16
# Difference heat maps: black at 0, the brightest colour at HEAT_FRACTION of the data range.
HEAT_COLOURMAP = "inferno"
HEAT_FRACTION = 0.1
COLOUR_BAR = 8
FRAME_DURATION_MS = 400
BACKGROUND = (255, 255, 255)
TEXT = (20, 20, 20)


def strip_path(folder: Path, index: int) -> Path:
    """The strip of frame `index` (zero-padded, so the files sort in frame order)."""
    return Path(folder) / f"strip_{index:03d}.png"


@dataclass(frozen=True)
class DisplayRange:
    """Linear map of raw values [low, high] onto display grey levels [0, 255]."""

    low: float
    high: float

    @classmethod
    def for_frames(cls, frames: list[np.ndarray]) -> DisplayRange:
        if frames[0].dtype == np.uint8:
            return cls(0.0, 255.0)
        # Every 4th pixel is plenty for percentiles and keeps 2048 x 1536 frames cheap.
        sample = np.concatenate([f[::4, ::4].ravel() for f in frames]).astype(np.float64)
        low, high = np.percentile(sample, [0.1, 99.9])
        return cls(float(low), float(max(high, low + 1.0)))

    def to_rgb8(self, frame: np.ndarray) -> np.ndarray:
        """H x W (x 3) raw frame -> H x W x 3 uint8 for display."""
        scaled = (frame.astype(np.float64) - self.low) * (255.0 / (self.high - self.low))
        out = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
        return np.repeat(out[..., None], 3, axis=2) if out.ndim == 2 else out


def display_size(height: int, width: int, max_side: int) -> tuple[int, int]:
    """(height, width) on screen: shrunk to fit max_side, or enlarged to reach MIN_SIDE."""
    longest = max(height, width)
    if longest > max_side:
        scale = max_side / longest
        return max(1, round(height * scale)), max(1, round(width * scale))
    factor = max(1, MIN_SIDE // longest)
    return height * factor, width * factor


def resize_for_display(rgb: np.ndarray, max_side: int) -> Image.Image:
    """An H x W x 3 uint8 frame at its display size (`display_size`): area-averaged when
    shrunk, enlarged by repeating pixels so that they stay visible."""
    height, width = display_size(rgb.shape[0], rgb.shape[1], max_side)
    return Image.fromarray(resize(rgb, (width, height), enlarge="nearest"), "RGB")


def _font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=11)


def _labelled(image: Image.Image, label: str) -> Image.Image:
    """The image with a white bar above it that carries `label` (cut to the image width)."""
    out = Image.new("RGB", (image.width, image.height + LABEL_HEIGHT), BACKGROUND)
    out.paste(image, (0, LABEL_HEIGHT))
    draw = ImageDraw.Draw(out)
    font = _font()
    while label and draw.textlength(label, font=font) > image.width - 4:
        label = label[:-1]
    draw.text((2, 1), label, fill=TEXT, font=font)
    return out


def _png(image: Image.Image, frames: list[Image.Image] | None = None) -> bytes:
    buf = io.BytesIO()
    if frames:
        image.save(
            buf,
            format="PNG",
            save_all=True,
            append_images=frames,
            duration=FRAME_DURATION_MS,
            loop=0,
        )
    else:
        image.save(buf, format="PNG")
    return buf.getvalue()


def sequence_frames(seq: Sequence, layout: OutputLayout) -> list[tuple[int, Path, str]]:
    """(index, file, label) of every frame of the finished sequence, in time order."""
    levels = {f.index: f.level for f in seq.plan}
    frames = []
    for index in range(min(seq.known), max(seq.known) + 1):
        if index in seq.known:
            frames.append((index, seq.known[index], f"frame {index}: input"))
        elif index in levels:
            label = f"frame {index}: made (level {levels[index]})"
            frames.append((index, layout.frame(seq, index), label))
    return frames


def write_animation(seq: Sequence, layout: OutputLayout, out: Path) -> int:
    """The whole sequence (inputs and generated frames) as an APNG; returns the frame count."""
    frames = sequence_frames(seq, layout)
    display = DisplayRange.for_frames([read_frame(p) for p in seq.known.values()])
    images = [
        _labelled(resize_for_display(display.to_rgb8(read_frame(path)), ANIMATION_MAX_SIDE), label)
        for _, path, label in frames
    ]
    write_bytes_atomic(out, _png(images[0], images[1:]))
    return len(images)


def _abs_difference(prediction: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """|prediction - truth| in raw grey levels, the largest channel for RGB (H x W)."""
    diff = np.abs(prediction.astype(np.int32) - truth.astype(np.int32))
    return diff.max(axis=2) if diff.ndim == 3 else diff


def _heat_colours() -> np.ndarray:
    """The 256 x 3 uint8 colours of HEAT_COLOURMAP (matplotlib's, imported on first use)."""
    from matplotlib import colormaps

    lut = colormaps[HEAT_COLOURMAP](np.linspace(0.0, 1.0, 256))[:, :3]
    return np.rint(lut * 255).astype(np.uint8)


def heat_scale(data_range: float) -> float:
    """The difference (raw grey levels) shown in the brightest colour: HEAT_FRACTION of the
    data range, the same for every frame, sequence and backend of a run."""
    return HEAT_FRACTION * float(data_range)


def difference_heatmap(prediction: np.ndarray, truth: np.ndarray, data_range: float) -> np.ndarray:
    """|prediction - truth| as an H x W x 3 uint8 heat map on a fixed scale: black at 0, the
    brightest colour at `heat_scale(data_range)` and above (the largest channel for RGB)."""
    level = _abs_difference(prediction, truth) / heat_scale(data_range)
    index = np.rint(np.clip(level, 0.0, 1.0) * 255).astype(np.intp)
    return _heat_colours()[index]


def heat_label(data_range: float) -> str:
    """The heat map's scale in words, e.g. `|made-true| 0-410 (10%)`."""
    return f"|made-true| 0-{heat_scale(data_range):.3g} ({HEAT_FRACTION:.0%})"


def colour_bar(width: int) -> Image.Image:
    """The heat map's colours from 0 (left) to the top of the scale (right), COLOUR_BAR px high."""
    ramp = _heat_colours()[np.rint(np.linspace(0, 255, width)).astype(np.intp)]
    return Image.fromarray(np.repeat(ramp[None], COLOUR_BAR, axis=0), "RGB")


def heat_panel(heat: np.ndarray, data_range: float, max_side: int) -> Image.Image:
    """A labelled heat map at display size with its colour bar beneath."""
    image = _labelled(resize_for_display(heat, max_side), heat_label(data_range))
    out = Image.new("RGB", (image.width, image.height + COLOUR_BAR + 2), BACKGROUND)
    out.paste(image, (0, 0))
    out.paste(colour_bar(image.width), (0, image.height + 2))
    return out


def join_panels(rows: list[list[Image.Image]], gap: int = 4) -> Image.Image:
    """Panels side by side (top-aligned), rows one under another, on white."""
    widths = [sum(i.width for i in row) + gap * (len(row) - 1) for row in rows]
    heights = [max(i.height for i in row) for row in rows]
    out = Image.new("RGB", (max(widths), sum(heights) + gap * (len(rows) - 1)), BACKGROUND)
    y = 0
    for row, height in zip(rows, heights, strict=True):
        x = 0
        for image in row:
            out.paste(image, (x, y))
            x += image.width + gap
        y += height + gap
    return out


def write_strips(
    seq: Sequence,
    layout: OutputLayout,
    folder: Path,
    data_range: float | None = None,
    psnr: dict[int, float] | None = None,
) -> list[Path]:
    """One strip per scored frame: parents, made frame (with its PSNR where given), truth and
    the difference heat map on the fixed scale of `heat_scale` (`data_range`: the sequence's,
    as its scores use; None: the file type's full scale). Returns the files written."""
    display = DisplayRange.for_frames([read_frame(p) for p in seq.known.values()])
    psnr = psnr or {}
    written = []
    for index in sorted(seq.scored):
        frame = seq.planned(index)
        prediction = read_frame(layout.frame(seq, index))
        truth = read_frame(seq.ground_truth[index])
        peak = data_range or max_value(truth.dtype)
        made = f"{index} made" + (f", {psnr[index]:.1f} dB" if index in psnr else "")
        panels = [
            (display.to_rgb8(read_frame(layout.source(seq, frame.prev))), f"{frame.prev} (parent)"),
            (display.to_rgb8(prediction), made),
            (display.to_rgb8(truth), f"{index} truth"),
            (display.to_rgb8(read_frame(layout.source(seq, frame.next))), f"{frame.next} (parent)"),
        ]
        images = [
            _labelled(resize_for_display(rgb, STRIP_MAX_SIDE), label) for rgb, label in panels
        ]
        images.append(heat_panel(difference_heatmap(prediction, truth, peak), peak, STRIP_MAX_SIDE))
        path = strip_path(folder, index)
        write_bytes_atomic(path, _png(join_panels([images])))
        written.append(path)
    return written
