"""The flow backend: motion recovered at any time, occlusion and border handling, bit depths."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from support import add_sequence

from vfi.backends import create_backend
from vfi.data.demo import render_sequence
from vfi.data.layout import OutputLayout
from vfi.data.sequences import discover
from vfi.evaluation.metrics import psnr, ssim
from vfi.io.frames import read_frame, write_frame
from vfi.io.intensity import Normalisation
from vfi.io.tensors import from_model_tensor, to_model_tensor
from vfi.pipeline.interpolate import run_level
from vfi.settings import Settings

HEIGHT, WIDTH = 96, 128
INTERIOR = (slice(16, -16), slice(16, -16))
CPU = torch.device("cpu")


_WAVES = np.random.default_rng(5).uniform([-0.3, -0.3, 0.0], [0.3, 0.3, 2 * np.pi], (40, 3))


def texture(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """A smooth random texture in about [-0.9, 0.9] that can be evaluated anywhere (so moved
    exactly): 40 plane waves of random direction, frequency and phase."""
    waves = [np.sin(ky * y + kx * x + phase) for ky, kx, phase in _WAVES]
    return 0.22 * np.sum(waves, axis=0) / np.sqrt(len(waves) / 2)


def moved(transform) -> torch.Tensor:
    """1 x 3 x H x W model tensor of the texture seen through `transform` (pixel -> source)."""
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float64)
    sy, sx = transform(yy, xx)
    grey = torch.from_numpy(texture(sy, sx).astype(np.float32))
    return grey.expand(1, 3, -1, -1).contiguous()


def interpolate(prev: torch.Tensor, next: torch.Tensor, t: float, name: str = "flow"):
    backend = create_backend(name, CPU)
    return backend.interpolate(prev, next, torch.tensor([t] * len(prev)), [0] * len(prev))


def shifted(dy: float, dx: float) -> torch.Tensor:
    return moved(lambda y, x: (y - dy, x - dx))


@pytest.mark.parametrize("t", [0.25, 0.5, 0.75])
def test_translation_is_recovered_at_time_t(t):
    dy, dx = 3.0, -7.0
    out = interpolate(shifted(0, 0), shifted(dy, dx), t)
    error = (out - shifted(t * dy, t * dx))[..., INTERIOR[0], INTERIOR[1]].abs()
    assert error.max() < 0.02 and error.mean() < 0.005


def affine(t: float):
    """Growth and shear about the centre plus a drift, all linear in time: the motion of a
    point is a straight line travelled at constant speed, so time t lies at fraction t."""
    centre = np.array([HEIGHT / 2, WIDTH / 2])
    matrix = np.eye(2) + t * np.array([[0.06, 0.03], [-0.02, 0.05]])
    inverse = np.linalg.inv(matrix)
    drift = t * np.array([2.0, 3.0])

    def source(y: np.ndarray, x: np.ndarray):
        py, px = y - centre[0] - drift[0], x - centre[1] - drift[1]
        return (
            centre[0] + inverse[0, 0] * py + inverse[0, 1] * px,
            centre[1] + inverse[1, 0] * py + inverse[1, 1] * px,
        )

    return source


@pytest.mark.parametrize("t", [0.25, 0.5, 0.75])
def test_smooth_deformation_is_recovered_at_time_t(t):
    out = interpolate(moved(affine(0)), moved(affine(1)), t)
    error = (out - moved(affine(t)))[..., INTERIOR[0], INTERIOR[1]].abs()
    assert error.max() < 0.03 and error.mean() < 0.005


@pytest.mark.parametrize("dx", [10.0, -10.0])
def test_content_entering_or_leaving_the_frame_comes_from_the_frame_that_shows_it(dx):
    """At t = 0.5 the 5 columns at each side edge were outside one of the two frames."""
    out = interpolate(shifted(0, 0), shifted(0, dx), 0.5)
    error = (out - shifted(0, dx / 2))[..., 16:-16, :].abs()
    assert error[..., :5].mean() < 0.05 and error[..., -5:].mean() < 0.05


def test_static_pair_returns_the_input():
    frame = moved(affine(0))
    out = interpolate(frame, frame, 0.3)
    assert torch.allclose(out, frame, atol=1e-5)


def test_colour_channels_move_together_and_keep_their_own_values():
    colour = torch.tensor([1.0, 0.5, -0.6]).view(1, 3, 1, 1)
    prev, nxt, truth = (f * colour for f in (shifted(0, 0), shifted(2, 5), shifted(1, 2.5)))
    out = interpolate(prev, nxt, 0.5)
    error = (out - truth)[..., INTERIOR[0], INTERIOR[1]].abs()
    assert error.mean() < 0.005


def test_low_dynamic_range_sixteen_bit_data_is_interpolated_as_well():
    """12-bit data in 16-bit files spans a few percent of the range: flow still finds motion."""

    def as_dim_16bit(frame: torch.Tensor) -> torch.Tensor:
        pixels = np.rint(1500 + 400 * frame[0, 0].numpy()).astype(np.uint16)
        return to_model_tensor(pixels, Normalisation.raw(16))[None]

    prev, nxt, truth = (as_dim_16bit(shifted(d, 2 * d)) for d in (0.0, 4.0, 2.0))
    out = interpolate(prev, nxt, 0.5)
    error = (out - truth)[..., INTERIOR[0], INTERIOR[1]].abs()
    blend_error = (interpolate(prev, nxt, 0.5, "blend") - truth)[..., 16:-16, 16:-16].abs()
    assert error.mean() < 0.1 * blend_error.mean()


def test_reruns_give_identical_frames():
    prev, nxt = moved(affine(0)), moved(affine(1))
    assert torch.equal(interpolate(prev, nxt, 0.4), interpolate(prev, nxt, 0.4))


def test_flow_beats_blend_on_moving_growing_cells():
    frames = render_sequence(9, 64, 80, rgb=False, bit_depth=8, seed=3)
    prev, nxt = (to_model_tensor(frames[i], Normalisation.raw(8))[None] for i in (0, 8))
    truth = frames[4]
    info = type("Info", (), {"mode": "L", "bit_depth": 8})()
    made = {
        name: from_model_tensor(interpolate(prev, nxt, 0.5, name)[0], info, Normalisation.raw(8))
        for name in ("flow", "blend")
    }
    assert psnr(made["flow"], truth) > psnr(made["blend"], truth) + 2.0
    assert ssim(made["flow"], truth) > ssim(made["blend"], truth) + 0.05


@pytest.mark.parametrize(("mode", "bit_depth"), [("L", 16), ("L", 8), ("RGB", 16)])
def test_pipeline_keeps_mode_and_bit_depth(tmp_path, mode, bit_depth):
    data = tmp_path / "data"
    add_sequence(data, "seq", [1, 3], mode=mode, bit_depth=bit_depth)
    settings = Settings(data_dir=str(data), output_dir=str(tmp_path / "out"), backend="flow")
    layout = OutputLayout(tmp_path / "out")
    (seq,) = discover(data).sequences
    assert run_level([seq], 1, layout, settings) == 1
    made = read_frame(layout.frame(seq, 2))
    known = read_frame(seq.known[1])
    assert made.shape == known.shape and made.dtype == known.dtype


def test_pipeline_grey_frame_of_a_static_pair_is_the_input(tmp_path):
    data = tmp_path / "data"
    frame = render_sequence(1, 24, 32, rgb=False, bit_depth=16, seed=1)[0]
    for index in (1, 3):
        write_frame(data / "input" / "seq" / f"frame_00{index}.png", frame)
    layout = OutputLayout(tmp_path / "out")
    (seq,) = discover(data).sequences
    run_level([seq], 1, layout, Settings(data_dir=str(data), backend="flow"))
    assert np.array_equal(read_frame(layout.frame(seq, 2)), frame)
