"""U-Net: checkpoint names/shapes of the published model, and eps against the official goldens."""

from __future__ import annotations

import json

import pytest
import torch
import yaml
from support import FULL_MANIFEST, TINY_CONFIG

from vfi.models.ldmvfi.unet import UNetModel, timestep_embedding

PREFIX = "model.diffusion_model."
# Official float32 CPU code vs itself with another thread count differs by up to 4.9e-6
# (tests/fixtures/README.md); this implementation was observed within 6.5e-6 of every eps golden.
EPS_ATOL = 2e-5


def ema_key(parameter_name: str) -> str:
    """Checkpoint key of the EMA copy of U-Net parameter `parameter_name` (relative to the U-Net).

    LitEma names its buffers after the path relative to `model` with every dot deleted.
    """
    return "model_ema.diffusion_model" + parameter_name.replace(".", "")


def unet_params() -> dict:
    """`unet_config.params` of the tiny config (published config with model_channels 32)."""
    config = yaml.safe_load((TINY_CONFIG).read_text())
    return config["model"]["params"]["unet_config"]["params"]


@pytest.fixture(scope="module")
def ema_unet(tiny_state_dict: dict[str, torch.Tensor], test_device) -> UNetModel:
    model = UNetModel(**unet_params()).eval()
    model.load_state_dict({k: tiny_state_dict[ema_key(k)] for k in model.state_dict()})
    return model.to(test_device)


def predict(
    model: UNetModel, golden: dict[str, torch.Tensor], case: str, step: int
) -> torch.Tensor:
    prefix = f"{case}/unet/t{step}/"
    x = torch.cat([golden[prefix + "x_t"], golden[f"{case}/c"]], dim=1)
    with torch.no_grad():
        return model(x, golden[prefix + "t"])


def test_published_unet_matches_manifest_names_and_shapes() -> None:
    manifest = json.loads((FULL_MANIFEST).read_text())
    expected = {
        e["key"].removeprefix(PREFIX): tuple(e["shape"])
        for e in manifest["state_dict_keys"]
        if e["key"].startswith(PREFIX)
    }
    with torch.device("meta"):
        model = UNetModel(**{**unet_params(), "model_channels": 256})
    actual = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert sorted(set(expected) - set(actual)) == []
    assert sorted(set(actual) - set(expected)) == []
    assert actual == expected


def test_ema_key_mapping_is_one_to_one_and_complete(tiny_state_dict) -> None:
    names = list(UNetModel(**unet_params()).state_dict())
    ema_keys = {ema_key(n) for n in names}
    in_ckpt = {k for k in tiny_state_dict if k.startswith("model_ema.diffusion_model")}
    assert len(ema_keys) == len(names) == 626
    assert ema_keys == in_ckpt


def test_timestep_embedding_puts_cosine_first() -> None:
    emb = timestep_embedding(torch.tensor([0, 3]), 8)
    assert torch.equal(emb[0], torch.tensor([1.0] * 4 + [0.0] * 4))
    # frequency 0 is 1 for any dim, so column 0 is cos(t) and column 4 is sin(t)
    assert emb[1, 0].item() == pytest.approx(torch.cos(torch.tensor(3.0)).item())
    assert emb[1, 4].item() == pytest.approx(torch.sin(torch.tensor(3.0)).item())


@pytest.mark.parametrize("step", [1, 500, 999])
@pytest.mark.parametrize("case", ["case_a", "case_b", "case_c", "case_d"])
def test_ema_unet_reproduces_golden_eps(ema_unet, golden, case: str, step: int) -> None:
    eps = predict(ema_unet, golden, case, step)
    torch.testing.assert_close(eps, golden[f"{case}/unet/t{step}/eps"], atol=EPS_ATOL, rtol=0)


def test_raw_weights_reproduce_raw_golden_and_not_ema_golden(
    tiny_state_dict, golden, test_device
) -> None:
    model = UNetModel(**unet_params()).eval()
    model.load_state_dict({k: tiny_state_dict[PREFIX + k] for k in model.state_dict()})
    model.to(test_device)
    eps = predict(model, golden, "case_a", 500)
    torch.testing.assert_close(
        eps, golden["case_a/unet/t500/eps_raw_weights"], atol=EPS_ATOL, rtol=0
    )
    assert (eps - golden["case_a/unet/t500/eps"]).abs().max() > 0.1


def test_unet_output_shape_follows_input(ema_unet, test_device) -> None:
    x = torch.randn(2, 9, 16, 24, device=test_device)
    with torch.no_grad():
        eps = ema_unet(x, torch.tensor([10, 900], device=test_device))
    assert eps.shape == (2, 3, 16, 24)
