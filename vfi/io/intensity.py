"""A sequence's intensities: its bit depth, the data range scores use, and the one normalisation
every backend sees.

Microscope cameras write 10-, 12- or 14-bit values into 16-bit files. Scored against 65535, an
unrelated 12-bit frame looks excellent (about 52 dB), and a model fed values / 65535 sees an
almost black image. So:

* a sequence's bit depth is the smallest of 8, 10, 12, 14, 16 bits that holds all its values;
* `data_range` (metrics.data_range): `auto` is that depth's full scale (4095 for 12 bits),
  `dtype` the file type's (255 or 65535), or a number as given;
* `Normalisation` (intensity:) maps raw values to the unit range backends work in and back:
  `raw` divides by the file type's full scale (8-bit and full-range data, unchanged from
  before), `stretch` maps the sequence's robust range (the 0.1 and 99.9 percentiles of its known
  frames) to [0, 1] and clips results to the sequence's full scale; `auto` stretches data that do
  not use their file type's range and leaves the rest raw.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np

BIT_DEPTHS = (8, 10, 12, 14, 16)
LOW_PERCENTILE, HIGH_PERCENTILE = 0.1, 99.9
# Pixels sampled per frame for the percentiles: plenty, and cheap for 2048 x 1504 frames.
PERCENTILE_SAMPLES = 250_000


def bits_holding(value: float) -> int:
    """The smallest of 8, 10, 12, 14, 16 bits whose full scale (2**bits - 1) holds `value`."""
    for bits in BIT_DEPTHS:
        if value <= 2**bits - 1:
            return bits
    raise ValueError(f"value {value} does not fit in 16 bits")


def full_scale(bits: int) -> int:
    return 2**bits - 1


def resolve_data_range(setting: str | float, file_bits: int, largest: float) -> float:
    """The value of a full-scale pixel for scores: `auto`, `dtype` or a number (see above).

    `largest` is the largest value of the sequence's inputs and ground truth.
    """
    if setting == "auto":
        return float(full_scale(bits_holding(largest)))
    if setting == "dtype":
        return float(full_scale(file_bits))
    value = float(setting)
    if not value > 0:
        raise ValueError(f"metrics.data_range must be auto, dtype or a positive number: {setting}")
    return value


@dataclass(frozen=True)
class FrameStatistics:
    """What the normalisation needs of a sequence's known frames."""

    file_bits: int  # 8 or 16: the file type
    bits: int  # the sequence's bit depth (bits_holding of the largest value)
    low: float  # robust range: LOW_PERCENTILE and HIGH_PERCENTILE of the values
    high: float


def frame_statistics(frames: Iterable[np.ndarray]) -> FrameStatistics:
    """Statistics of the known frames of one sequence (all of one dtype)."""
    frames = list(frames)
    if not frames:
        raise ValueError("no frames to measure")
    file_bits = 8 if frames[0].dtype == np.uint8 else 16
    largest = max(int(frame.max()) for frame in frames)
    samples = []
    for frame in frames:
        step = max(1, int(np.sqrt(frame.size / PERCENTILE_SAMPLES)))
        samples.append(frame[::step, ::step].ravel())
    low, high = np.percentile(np.concatenate(samples), [LOW_PERCENTILE, HIGH_PERCENTILE])
    return FrameStatistics(file_bits, bits_holding(largest), float(low), float(high))


IntensitySetting = Literal["auto", "raw", "stretch"]


@dataclass(frozen=True)
class Normalisation:
    """Raw pixel values <-> the unit range backends work in.

    unit = (raw - low) / (high - low); results are mapped back, rounded and clipped to
    [0, ceiling]. `raw`: low = 0, high = ceiling = the file type's full scale.
    """

    mode: Literal["raw", "stretch"]
    low: float
    high: float
    ceiling: float

    @classmethod
    def raw(cls, file_bits: int) -> Normalisation:
        scale = float(full_scale(file_bits))
        return cls("raw", 0.0, scale, scale)

    @classmethod
    def for_sequence(cls, setting: str, stats: FrameStatistics) -> Normalisation:
        if setting not in ("auto", "raw", "stretch"):
            raise ValueError(f"intensity must be auto, raw or stretch, got {setting!r}")
        if setting == "raw" or (setting == "auto" and stats.bits == stats.file_bits):
            return cls.raw(stats.file_bits)
        high = max(stats.high, stats.low + 1.0)  # a flat sequence still gets a usable range
        return cls("stretch", stats.low, high, float(full_scale(stats.bits)))

    def to_unit(self, frame: np.ndarray) -> np.ndarray:
        """Raw frame -> float32 in the unit range (stretch: values beyond the robust range go
        a little beyond [0, 1] rather than being clipped away)."""
        if self.mode == "raw":
            return frame.astype(np.float32) / np.float32(self.high)
        span = np.float32(self.high - self.low)
        return (frame.astype(np.float32) - np.float32(self.low)) / span

    def from_unit(self, unit: np.ndarray, dtype: np.dtype) -> np.ndarray:
        """Unit-range values -> raw values of `dtype`, rounded and clipped to [0, ceiling]."""
        if self.mode == "raw":
            return np.rint(np.clip(unit, 0.0, 1.0) * np.float32(self.high)).astype(dtype)
        values = self.low + unit.astype(np.float64) * (self.high - self.low)
        return np.rint(np.clip(values, 0.0, self.ceiling)).astype(dtype)

    def describe(self) -> dict[str, object]:
        return asdict(self)
