"""Synthetic microscopy-like demo data: bright cells that drift and grow on a dark, noisy field.

Deterministic for a given seed, so the demo and the tests always see the same pixels. Writes the
users' layout: generation sequences (keyframes frame_001 and frame_019 as input, every frame as
ground truth) and odd/even evaluation sequences (1.png, 3.png, ... as input, 2.png, ... as
ground truth).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vfi.frames import write_frame


@dataclass(frozen=True)
class DemoSequence:
    name: str
    mode: str  # "generate" or "evaluate"
    rgb: bool
    bit_depth: int
    frames: int  # number of time points rendered


DEMO_SEQUENCES = (
    DemoSequence("gen_gray8-A1", "generate", rgb=False, bit_depth=8, frames=19),
    DemoSequence("gen_gray16_B2", "generate", rgb=False, bit_depth=16, frames=19),
    DemoSequence("gen-rgb8_C3", "generate", rgb=True, bit_depth=8, frames=19),
    DemoSequence("eval_gray8-D4", "evaluate", rgb=False, bit_depth=8, frames=5),
    DemoSequence("eval_rgb16_E5", "evaluate", rgb=True, bit_depth=16, frames=3),
)


def render_sequence(
    frames: int, height: int, width: int, rgb: bool, bit_depth: int, seed: int
) -> list[np.ndarray]:
    """`frames` time points of cells moving along straight lines and growing slowly."""
    rng = np.random.default_rng(seed)
    n_cells = 7
    centre = rng.uniform([0.15 * height, 0.15 * width], [0.85 * height, 0.85 * width], (n_cells, 2))
    velocity = rng.uniform(-1.2, 1.2, (n_cells, 2)) * min(height, width) / 160
    radius = rng.uniform(0.04, 0.08, n_cells) * min(height, width)
    growth = rng.uniform(0.0, 0.012, n_cells)
    brightness = rng.uniform(0.55, 0.95, n_cells)
    tint = rng.uniform(0.5, 1.0, (n_cells, 3)) if rgb else np.ones((n_cells, 3))
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    peak = (1 << bit_depth) - 1
    out = []
    for t in range(frames):
        image = np.full((height, width, 3), 0.06)
        for c in range(n_cells):
            cy, cx = centre[c] + velocity[c] * t
            r = radius[c] * (1 + growth[c] * t)
            d2 = ((yy - cy) ** 2 + (xx - cx) ** 2) / r**2
            body = np.exp(-(d2**2))  # flat-topped blob: a cell with a soft membrane
            nucleus = 0.35 * np.exp(-d2 * 6)
            image += (brightness[c] * body + nucleus)[..., None] * tint[c]
        image += rng.normal(0.0, 0.025, image.shape)
        image = np.clip(image, 0.0, 1.0)
        pixels = np.rint(image * peak).astype(np.uint8 if bit_depth == 8 else np.uint16)
        out.append(pixels if rgb else pixels[..., 0])
    return out


def write_demo(data_dir: Path, height: int = 96, width: int = 128, seed: int = 0) -> list[str]:
    """Write every demo sequence under `data_dir`; returns the sequence names."""
    data_dir = Path(data_dir)
    for number, spec in enumerate(DEMO_SEQUENCES):
        frames = render_sequence(
            spec.frames, height, width, spec.rgb, spec.bit_depth, seed * 1000 + number
        )
        inputs = data_dir / "input" / spec.name
        truth = data_dir / "gt" / spec.name
        for t, frame in enumerate(frames, start=1):
            if spec.mode == "generate":
                name = f"frame_{t:03d}.png"
                is_input = t in (1, spec.frames)
            else:
                name = f"{t}.png"
                is_input = t % 2 == 1
            write_frame((inputs if is_input else truth) / name, frame)
    return [s.name for s in DEMO_SEQUENCES]
