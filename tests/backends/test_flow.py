"""The flow backend: motion recovered at any time, occlusion and border handling, bit depths."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import tifffile
import torch
from support import add_sequence

from vfi.backends import create_backend
from vfi.backends.flow import FlowBackend
from vfi.data.demo import render_sequence
from vfi.data.layout import OutputLayout
from vfi.data.sequences import discover
from vfi.evaluation.metrics import psnr, ssim
from vfi.io.frames import read_frame, write_frame
from vfi.io.intensity import Normalisation
from vfi.io.tensors import from_model_tensor, to_model_tensor
from vfi.models.opticalflow.estimate import FlowMethod
from vfi.models.opticalflow.synthesis import fit_brightness
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


def noisy(frame: torch.Tensor, seed: int, sigma: float = 0.05) -> torch.Tensor:
    noise = torch.from_numpy(np.random.default_rng(seed).normal(0, sigma, frame.shape[-2:]))
    return frame + noise.float().expand_as(frame)


def flow_backend(**options) -> FlowBackend:
    return FlowBackend(CPU, **options)


def test_visibility_blend_averages_both_neighbours_equally_at_any_time():
    prev, next = noisy(shifted(0, 0), seed=1), noisy(shifted(0, 0), seed=2)
    out = flow_backend(blend="visibility", denoise="none").interpolate(
        prev, next, torch.tensor([0.2]), [0]
    )
    error = (out - (prev + next) / 2)[..., INTERIOR[0], INTERIOR[1]].abs()
    assert error.mean() < 0.005


def test_time_blend_weights_the_nearer_neighbour_more():
    prev, next = noisy(shifted(0, 0), seed=1), noisy(shifted(0, 0), seed=2)
    out = flow_backend(blend="time", denoise="none").interpolate(
        prev, next, torch.tensor([0.2]), [0]
    )
    error = (out - (0.8 * prev + 0.2 * next))[..., INTERIOR[0], INTERIOR[1]].abs()
    assert error.mean() < 0.005


@pytest.mark.parametrize("model", ["gain", "affine"])
def test_flicker_compensation_gives_the_brightness_expected_at_t(model):
    base = shifted(0, 0) + 1.2  # positive intensities, as light is
    out = flow_backend(blend="visibility", flicker=model).interpolate(
        base, 1.5 * base, torch.tensor([0.25]), [0]
    )
    expected = base * (1 + 0.25 * 0.5)  # a quarter of the way from gain 1 to 1.5
    error = (out - expected)[..., INTERIOR[0], INTERIOR[1]].abs()
    assert error.mean() < 0.01


def test_without_flicker_compensation_equal_weights_miss_the_brightness_at_t():
    base = shifted(0, 0) + 1.2
    out = flow_backend(blend="visibility", flicker="none").interpolate(
        base, 1.5 * base, torch.tensor([0.25]), [0]
    )
    expected = base * (1 + 0.25 * 0.5)
    assert (out - expected)[..., INTERIOR[0], INTERIOR[1]].abs().mean() > 0.1


def test_fit_brightness_recovers_gain_and_offset_of_noisy_frames():
    rng = np.random.default_rng(3)
    a = rng.uniform(100, 1000, (200, 200, 1)).astype(np.float32)
    b = 1.3 * a + 50
    a_noisy = a + rng.normal(0, 20, a.shape).astype(np.float32)
    b_noisy = b + rng.normal(0, 20, a.shape).astype(np.float32)
    gain, offset = fit_brightness(a_noisy, b_noisy, np.ones((200, 200), bool), "affine")
    assert gain[0] == pytest.approx(1.3, abs=0.03) and offset[0] == pytest.approx(50, abs=20)


def test_fit_brightness_without_shared_content_leaves_brightness_alone():
    a = np.full((50, 50, 1), 10.0, np.float32)
    gain, offset = fit_brightness(a, 2 * a, np.zeros((50, 50), bool), "affine")
    assert gain[0] == 1.0 and offset[0] == 0.0


def test_debug_maps_show_the_motion_and_where_content_is_hidden():
    dx = 6.0
    backend = flow_backend(debug=True)
    backend.interpolate(shifted(0, 0), shifted(0, dx), torch.tensor([0.5]), [0])
    maps = backend.take_diagnostics()
    assert backend.take_diagnostics() is None  # one set of maps per frame made
    assert maps["motion"].shape == (HEIGHT, WIDTH) and maps["motion"].dtype == np.float32
    assert np.median(maps["motion"][INTERIOR]) == pytest.approx(dx, abs=0.3)
    red, green = maps["occlusion"][..., 0], maps["occlusion"][..., 1]
    # Content entering from the left is not in the previous frame; interior is seen by both.
    assert red[:, :2].mean() > 128 and red[INTERIOR].mean() < 30 and green[INTERIOR].mean() < 30


def test_pipeline_writes_debug_maps_beside_the_frames_when_asked(tmp_path):
    data = tmp_path / "data"
    add_sequence(data, "seq", [1, 3], mode="L", bit_depth=16)
    settings = Settings.from_mapping(
        {"data_dir": str(data), "backend": "flow", "flow": {"debug": True}}
    )
    layout = OutputLayout(tmp_path / "out")
    (seq,) = discover(data).sequences
    run_level([seq], 1, layout, settings)
    files = layout.debug_files(seq, 2)
    motion = tifffile.imread(files["motion"])
    occlusion = read_frame(files["occlusion"])
    assert motion.dtype == np.float32 and motion.shape == (seq.info.height, seq.info.width)
    assert occlusion.dtype == np.uint8 and occlusion.shape == (*motion.shape, 3)


def test_flow_settings_defaults_are_the_flow_methods():
    """The config's flow: section and the library's FlowMethod name the same defaults."""
    method = {f.name: getattr(FlowMethod(), f.name) for f in dataclasses.fields(FlowMethod)}
    settings = dataclasses.asdict(Settings().flow)
    assert settings.pop("debug") is False
    assert settings == method
