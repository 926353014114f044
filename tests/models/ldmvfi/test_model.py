"""LDMVFI end to end on the tiny checkpoint: official finals, padding, statelessness, seeds."""

from __future__ import annotations

import pytest
import torch
from support import TINY_CKPT, TINY_CONFIG

from vfi.models.ldmvfi import LDMVFI
from vfi.models.ldmvfi.model import plan_padding

FINAL_TOLERANCE = 1e-3


@pytest.fixture(scope="module")
def model(test_device) -> LDMVFI:
    return LDMVFI.from_checkpoint(TINY_CKPT, config=TINY_CONFIG, device=test_device)


def frames_of(golden, case: str) -> tuple[torch.Tensor, torch.Tensor]:
    return golden[f"{case}/prev_frame"], golden[f"{case}/next_frame"]


@pytest.mark.parametrize("case", ["case_a", "case_b", "case_c"])
def test_interpolate_reproduces_official_final_frame(model, golden, case):
    out = model.interpolate(
        *frames_of(golden, case), steps=10, eta=0.0, x_T=golden[f"{case}/ddim10/x_T"]
    )
    assert (out - golden[f"{case}/final"]).abs().max().item() < FINAL_TOLERANCE


def test_interpolate_reproduces_official_final_frame_without_padding(model, golden):
    out = model.interpolate(
        *frames_of(golden, "case_d"), steps=10, eta=0.0, x_T=golden["case_d/ddim10/x_T"]
    )
    assert list(out.shape) == golden["case_d/final/shape"].tolist()
    assert (out[..., ::4, ::4] - golden["case_d/final/stride4"]).abs().max() < FINAL_TOLERANCE
    assert out.double().sum().item() == pytest.approx(golden["case_d/final/sum64"].item(), abs=1.0)


def test_encode_matches_official_latent_and_features(model, golden):
    latent, phi = model.encode(golden["case_a/prev_frame"])
    torch.testing.assert_close(latent, golden["case_a/c"][:, :3], rtol=0, atol=1e-4)
    for level, feature in enumerate(phi):
        torch.testing.assert_close(feature, golden[f"case_a/phi_prev/{level}"], rtol=0, atol=1e-4)


@pytest.mark.parametrize(
    ("height", "width", "pad_hw"),
    [(144, 200, (112, 56)), (136, 144, (120, 112)), (264, 264, (248, 248)), (256, 256, (0, 0))],
)
def test_padding_of_fixture_sizes_equals_official_pad_hw(golden, height, width, pad_hw):
    padding = plan_padding(height, width)
    assert (padding.bottom, padding.right) == pad_hw
    case = {144: "case_a", 136: "case_b", 264: "case_c", 256: "case_d"}[height]
    assert golden[f"{case}/pad_hw"].tolist() == list(pad_hw)
    assert padding.official and padding.mode_h == padding.mode_w == "reflect"


def test_padding_of_2048x1504_adds_32_rows_only():
    padding = plan_padding(1504, 2048)
    assert (padding.bottom, padding.right) == (32, 0)
    assert padding.official


@pytest.mark.parametrize(
    ("height", "width", "padded"),
    [(72, 88, (256, 256)), (128, 200, (256, 256)), (144, 100, (256, 256)), (264, 200, (512, 256))],
)
def test_frames_the_official_code_cannot_handle_get_fallback_padding(height, width, padded):
    padding = plan_padding(height, width)
    assert not padding.official
    assert (height + padding.bottom, width + padding.right) == padded
    frames = torch.rand(1, 3, height, width)
    assert padding.crop(padding.apply(frames)).equal(frames)


@pytest.mark.parametrize(("height", "width"), [(72, 88), (128, 200), (144, 100)])
def test_fallback_padding_reflects_where_it_can_and_repeats_the_edge_elsewhere(height, width):
    padding = plan_padding(height, width)
    frames = torch.rand(1, 3, height, width)
    padded = padding.apply(frames)
    rows = torch.arange(height, height + padding.bottom)
    expected_rows = (
        2 * (height - 1) - rows if padding.bottom < height else torch.full_like(rows, height - 1)
    )
    assert padding.mode_h == ("reflect" if padding.bottom < height else "replicate")
    assert padded[..., rows, :width].equal(frames[..., expected_rows, :])
    cols = torch.arange(width, width + padding.right)
    expected_cols = (
        2 * (width - 1) - cols if padding.right < width else torch.full_like(cols, width - 1)
    )
    assert padding.mode_w == ("reflect" if padding.right < width else "replicate")
    assert padded[..., :height, cols].equal(frames[..., :, expected_cols])


def test_tiny_frame_pair_runs_and_keeps_its_size(model):
    prev, next_ = torch.rand(1, 3, 72, 88) * 2 - 1, torch.rand(1, 3, 72, 88) * 2 - 1
    out = model.interpolate(prev, next_, steps=2, eta=1.0, seeds=[0])
    assert out.shape == (1, 3, 72, 88)
    assert bool(torch.isfinite(out).all()) and out.abs().max() <= 1.0


def test_calls_with_different_sizes_keep_no_padding_state(model, golden):
    """The official module crashed on 256 x 256 after a padded call (stale padding state)."""
    padded = model.interpolate(*frames_of(golden, "case_a"), steps=1, eta=0.0, seeds=[1])
    unpadded = model.interpolate(
        *frames_of(golden, "case_d"), steps=10, eta=0.0, x_T=golden["case_d/ddim10/x_T"]
    )
    assert padded.shape == (1, 3, 144, 200)
    assert (unpadded[..., ::4, ::4] - golden["case_d/final/stride4"]).abs().max() < FINAL_TOLERANCE


def test_seeded_sample_does_not_depend_on_its_batch(model, golden):
    """Same noise whatever the batch; only batched-kernel rounding (~1e-5) may differ."""
    prev, next_ = frames_of(golden, "case_b")
    alone = model.interpolate(prev[:1], next_[:1], steps=4, eta=1.0, seeds=[42])
    batch = model.interpolate(prev, next_, steps=4, eta=1.0, seeds=[42, 7])
    torch.testing.assert_close(alone[0], batch[0], rtol=0, atol=1e-4)
    other = model.interpolate(prev[:1], next_[:1], steps=4, eta=1.0, seeds=[43])
    assert (alone - other).abs().max() > 1e-2


def test_unet_uses_ema_weights_not_raw(model, golden):
    x = torch.cat([golden["case_a/unet/t500/x_t"], golden["case_a/c"]], dim=1)
    with torch.inference_mode():
        eps = model.unet(x, golden["case_a/unet/t500/t"])
    torch.testing.assert_close(eps, golden["case_a/unet/t500/eps"], rtol=0, atol=1e-4)


def test_raw_weights_checkpoint_gives_clearly_different_result(
    tmp_path, tiny_state_dict, golden, test_device
):
    raw = dict(tiny_state_dict)
    for key in tiny_state_dict:
        if key.startswith("model.diffusion_model."):
            name = key.removeprefix("model.diffusion_model.")
            raw["model_ema.diffusion_model" + name.replace(".", "")] = tiny_state_dict[key]
    torch.save({"state_dict": raw}, tmp_path / "raw.ckpt")
    raw_model = LDMVFI.from_checkpoint(
        tmp_path / "raw.ckpt", config=TINY_CONFIG, device=test_device
    )
    x = torch.cat([golden["case_a/unet/t500/x_t"], golden["case_a/c"]], dim=1)
    with torch.inference_mode():
        eps = raw_model.unet(x, golden["case_a/unet/t500/t"])
    torch.testing.assert_close(eps, golden["case_a/unet/t500/eps_raw_weights"], rtol=0, atol=1e-4)
    out = raw_model.interpolate(
        *frames_of(golden, "case_a"), steps=10, eta=0.0, x_T=golden["case_a/ddim10/x_T"]
    )
    assert (out - golden["case_a/final"]).abs().max().item() > 0.1


def test_x_T_of_the_wrong_shape_is_rejected(model, golden):
    with pytest.raises(ValueError, match=r"x_T must be \[1, 3, 8, 8\]"):
        model.interpolate(*frames_of(golden, "case_a"), steps=2, x_T=torch.zeros(1, 3, 4, 4))
