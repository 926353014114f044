"""Augmentation of training triplets, suited to microscopy.

Geometry: a random crop, flips, 90-degree rotations and time reversal, applied alike to the
three frames (and to a teacher flow, whose vectors turn with the image). Intensity: one gain and
offset per triplet (illumination changes between acquisitions) and shot-like noise per frame,
the same for every channel, so that a grey frame replicated to RGB stays grey. All randomness
comes from the generator passed in, so a seeded run sees the same samples in the same order.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class Jitter:
    """Intensity jitter: gain in [1 - gain, 1 + gain], offset in [-offset, offset] (in the
    model's [0, 1] range), Gaussian noise of standard deviation up to `noise`."""

    gain: float = 0.1
    offset: float = 0.05
    noise: float = 0.02


@dataclass
class Sample:
    """frames: 3 x C x H x W (previous, middle, next) in [0, 1]; time of the middle frame;
    flow: optional 4 x H x W teacher flow, middle -> previous (0:2) and -> next (2:4), pixels
    (x, y)."""

    frames: Tensor
    time: float
    flow: Tensor | None = None


def _uniform(generator: torch.Generator, low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand((), generator=generator))


def random_crop(sample: Sample, size: int, generator: torch.Generator) -> Sample:
    """A size x size window at a random place (the whole frame where it is smaller)."""
    height, width = sample.frames.shape[-2:]
    h, w = min(size, height), min(size, width)
    top = int(torch.randint(0, height - h + 1, (), generator=generator))
    left = int(torch.randint(0, width - w + 1, (), generator=generator))
    window = (..., slice(top, top + h), slice(left, left + w))
    flow = sample.flow[window] if sample.flow is not None else None
    return Sample(sample.frames[window], sample.time, flow)


def random_geometry(sample: Sample, generator: torch.Generator) -> Sample:
    """Flips, a rotation by a multiple of 90 degrees, and time reversal, each drawn once."""
    frames, flow, time = sample.frames, sample.flow, sample.time
    draws = torch.randint(0, 2, (3,), generator=generator).tolist()
    turns = int(torch.randint(0, 4, (), generator=generator))
    if draws[0]:  # horizontal flip: x components change sign
        frames = frames.flip(-1)
        flow = _flow_map(flow, lambda f: f.flip(-1), lambda x, y: (-x, y))
    if draws[1]:  # vertical flip
        frames = frames.flip(-2)
        flow = _flow_map(flow, lambda f: f.flip(-2), lambda x, y: (x, -y))
    for _ in range(turns):  # 90 degrees counter-clockwise: (x, y) -> (y, -x) on screen axes
        frames = frames.rot90(1, dims=(-2, -1))
        flow = _flow_map(flow, lambda f: f.rot90(1, dims=(-2, -1)), lambda x, y: (y, -x))
    if draws[2]:  # time reversal: next becomes previous, t becomes 1 - t
        frames = frames.flip(0)
        time = 1.0 - time
        flow = flow[[2, 3, 0, 1]] if flow is not None else None
    return Sample(frames.contiguous(), time, flow.contiguous() if flow is not None else None)


def _flow_map(flow: Tensor | None, spatial, vector) -> Tensor | None:
    """Apply a spatial transform to the flow maps and the matching one to their vectors."""
    if flow is None:
        return None
    flow = spatial(flow)
    parts = []
    for first in (0, 2):
        x, y = vector(flow[first], flow[first + 1])
        parts += [x, y]
    return torch.stack(parts)


def random_intensity(sample: Sample, jitter: Jitter, generator: torch.Generator) -> Sample:
    """One gain and offset for the triplet, noise per frame; grey stays grey."""
    gain = _uniform(generator, 1 - jitter.gain, 1 + jitter.gain)
    offset = _uniform(generator, -jitter.offset, jitter.offset)
    sigma = _uniform(generator, 0, jitter.noise)
    frames = sample.frames * gain + offset
    count, _, height, width = frames.shape
    noise = torch.randn((count, 1, height, width), generator=generator) * sigma
    frames = (frames + noise).clamp(0, 1)
    return Sample(frames, sample.time, sample.flow)


def augment(sample: Sample, crop: int, jitter: Jitter, generator: torch.Generator) -> Sample:
    """Crop, geometry, then intensity: what every training sample goes through."""
    sample = random_crop(sample, crop, generator)
    sample = random_geometry(sample, generator)
    return random_intensity(sample, jitter, generator)
