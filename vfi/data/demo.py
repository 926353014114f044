"""Synthetic microscopy-like demo data: textured cells that move and grow on a dark, noisy field.

Deterministic for a given seed, so the demo and the tests always see the same pixels. Writes the
users' layout: generation sequences (keyframes frame_001 and frame_019 as input, every frame as
ground truth) and odd/even evaluation sequences (1.png, 3.png, ... as input, 2.png, ... as
ground truth).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vfi.io.frames import write_frame


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
    """`frames` time points of textured cells moving along straight lines and growing slowly.

    Like a real time-lapse, the whole field drifts slowly (stage drift), the background has a
    faint texture, each cell has granules inside that move and grow with it, the illumination
    flickers by a few percent from frame to frame, and every frame has its own camera noise.
    """
    rng = np.random.default_rng(seed)
    n_cells = 7
    scale = min(height, width)
    centre = rng.uniform([0.15 * height, 0.15 * width], [0.85 * height, 0.85 * width], (n_cells, 2))
    velocity = rng.uniform(-1.2, 1.2, (n_cells, 2)) * scale / 160
    radius = rng.uniform(0.04, 0.08, n_cells) * scale
    growth = rng.uniform(0.0, 0.012, n_cells)
    brightness = rng.uniform(0.55, 0.95, n_cells)
    tint = rng.uniform(0.5, 1.0, (n_cells, 3)) if rgb else np.ones((n_cells, 3))
    drift = rng.uniform(-0.15, 0.15, 2) * scale / 160  # pixels per frame, the whole field
    # Granules: a few plane waves in each cell's own coordinates (units of its radius).
    granule_wave = rng.uniform(-9.0, 9.0, (n_cells, 4, 2))
    granule_phase = rng.uniform(0.0, 2 * np.pi, (n_cells, 4))
    background_wave = rng.uniform(-0.25, 0.25, (4, 2)) * 32 / scale  # radians per pixel
    background_phase = rng.uniform(0.0, 2 * np.pi, 4)
    flicker = 1.0 + np.clip(rng.normal(0.0, 0.03, frames), -0.08, 0.08)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    peak = (1 << bit_depth) - 1
    out = []
    for t in range(frames):
        sy, sx = drift * t
        waves = np.cos(
            background_wave[:, 0, None, None] * (yy - sy)
            + background_wave[:, 1, None, None] * (xx - sx)
            + background_phase[:, None, None]
        )
        image = np.repeat((0.07 + 0.012 * waves.sum(axis=0))[..., None], 3, axis=2)
        for c in range(n_cells):
            cy, cx = centre[c] + (velocity[c] + drift) * t
            r = radius[c] * (1 + growth[c] * t)
            v, u = (yy - cy) / r, (xx - cx) / r
            d2 = u**2 + v**2
            body = np.exp(-(d2**2))  # flat-topped blob: a cell with a soft membrane
            nucleus = 0.35 * np.exp(-d2 * 6)
            phases = granule_wave[c, :, 0, None, None] * v + granule_wave[c, :, 1, None, None] * u
            granules = np.cos(phases + granule_phase[c, :, None, None]).sum(axis=0)
            cell = brightness[c] * body * (1 + 0.08 * granules) + nucleus
            image += cell[..., None] * tint[c]
        image *= flicker[t]
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
