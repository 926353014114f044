"""First stage (VQ-FIGAN): checkpoint layout, and encode / quantise / decode against the goldens."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
import yaml
from support import FULL_MANIFEST, TINY_CONFIG

from vfi.models.ldmvfi.autoencoder import VQFlowAutoencoder

PREFIX = "first_stage_model."
CASES = ("case_a", "case_b", "case_c", "case_d")
# The official float32 CPU code differs from itself by up to 8.1e-6 (phi) and 1.9e-5 (decoder)
# with another thread count (tests/fixtures/README.md); this implementation (another PyTorch
# version) was observed within 2.1e-5 on phi (values up to ~14) and 1.4e-5 on decoder outputs.
ATOL = 5e-5
# The quantiser output is z + (e - z): exact arithmetic on the same inputs.
QUANT_ATOL = 1e-5
# Sums over whole strided-stored tensors, relative to the sum of absolute values.
SUM_RTOL = 1e-5


def first_stage_params() -> dict:
    """`first_stage_config.params` of the tiny config (published config with ch 32)."""
    config = yaml.safe_load((TINY_CONFIG).read_text())
    return config["model"]["params"]["first_stage_config"]["params"]


def build(ch: int | None = None) -> VQFlowAutoencoder:
    params = first_stage_params()
    ddconfig = {**params["ddconfig"], **({"ch": ch} if ch else {})}
    return VQFlowAutoencoder(params["embed_dim"], params["n_embed"], ddconfig)


def first_stage_weights(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k.removeprefix(PREFIX): v for k, v in state_dict.items() if k.startswith(PREFIX)}


@pytest.fixture(scope="module")
def autoencoder(tiny_state_dict: dict[str, torch.Tensor], test_device) -> VQFlowAutoencoder:
    model = build()
    model.load_state_dict(first_stage_weights(tiny_state_dict), strict=True)
    return model.to(test_device).eval()


def padded_frames(golden: dict[str, torch.Tensor], case: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The case's frames reflection-padded at the bottom/right by its stored pad_hw."""
    pad_h, pad_w = golden[f"{case}/pad_hw"].tolist()
    return tuple(
        F.pad(golden[f"{case}/{name}"], (0, pad_w, 0, pad_h), mode="reflect")
        for name in ("prev_frame", "next_frame")
    )


@pytest.fixture(scope="module")
def encoded(autoencoder, golden):
    """case -> (prev, next padded, latents of prev and next, phi_prev, phi_next); computed once."""
    cache: dict[str, tuple] = {}

    def encode(case: str) -> tuple:
        if case not in cache:
            prev, next_ = padded_frames(golden, case)
            with torch.no_grad():
                z_prev, phi_prev = autoencoder.encode(prev)
                z_next, phi_next = autoencoder.encode(next_)
            cache[case] = (prev, next_, z_prev, z_next, phi_prev, phi_next)
        return cache[case]

    return encode


def assert_matches(actual: torch.Tensor, golden: dict[str, torch.Tensor], key: str) -> None:
    """Compare with `key`: stored in full, or as /stride<s> + /shape + /sum64 + /abs_sum64."""
    if key in golden:
        torch.testing.assert_close(actual, golden[key], rtol=0, atol=ATOL)
        return
    assert tuple(actual.shape) == tuple(golden[f"{key}/shape"].tolist())
    (stride_key,) = [k for k in golden if k.startswith(f"{key}/stride")]
    s = int(stride_key.rsplit("stride", 1)[1])
    torch.testing.assert_close(actual[:, :, ::s, ::s], golden[stride_key], rtol=0, atol=ATOL)
    abs_sum = golden[f"{key}/abs_sum64"].item()
    assert abs(actual.double().sum().item() - golden[f"{key}/sum64"].item()) <= SUM_RTOL * abs_sum
    assert actual.double().abs().sum().item() == pytest.approx(abs_sum, rel=SUM_RTOL)


def test_published_first_stage_matches_manifest_names_shapes_and_order() -> None:
    manifest = json.loads((FULL_MANIFEST).read_text())
    expected = [
        (e["key"].removeprefix(PREFIX), tuple(e["shape"]))
        for e in manifest["state_dict_keys"]
        if e["key"].startswith(PREFIX)
    ]
    with torch.device("meta"):
        model = build(ch=64)
    actual = [(k, tuple(v.shape)) for k, v in model.state_dict().items()]
    assert actual == expected


def test_tiny_checkpoint_loads_strictly_from_both_prefixes(tiny_state_dict) -> None:
    first = first_stage_weights(tiny_state_dict)
    cond = {
        k.removeprefix("cond_stage_model."): v
        for k, v in tiny_state_dict.items()
        if k.startswith("cond_stage_model.")
    }
    assert cond.keys() == first.keys()
    result = build().load_state_dict(cond, strict=True)
    assert not result.missing_keys and not result.unexpected_keys


@pytest.mark.parametrize("case", CASES)
def test_encode_reproduces_conditioning(encoded, golden, case: str) -> None:
    _, _, z_prev, z_next, _, _ = encoded(case)
    assert_matches(torch.cat([z_prev, z_next], dim=1), golden, f"{case}/c")


@pytest.mark.parametrize("case", ["case_a", "case_b", "case_c"])
def test_encode_reproduces_phi_features(encoded, golden, case: str) -> None:
    _, _, _, _, phi_prev, phi_next = encoded(case)
    assert len(phi_prev) == len(phi_next) == 5
    for i in range(5):
        assert_matches(phi_prev[i], golden, f"{case}/phi_prev/{i}")
        assert_matches(phi_next[i], golden, f"{case}/phi_next/{i}")


@pytest.mark.parametrize("case", CASES)
def test_quantiser_reproduces_codebook_indices(autoencoder, golden, case: str) -> None:
    with torch.no_grad():
        quant, indices = autoencoder.quantize_latent(golden[f"{case}/ddim10/latent"])
    assert indices.dtype == torch.int64
    assert torch.equal(indices, golden[f"{case}/decode/quant_indices"])
    torch.testing.assert_close(quant, golden[f"{case}/decode/quant"], rtol=0, atol=QUANT_ATOL)


def test_decode_from_stored_phi_reproduces_output(autoencoder, golden) -> None:
    case = "case_a"
    prev, next_ = padded_frames(golden, case)
    phi_prev = [golden[f"{case}/phi_prev/{i}"] for i in range(5)]
    phi_next = [golden[f"{case}/phi_next/{i}"] for i in range(5)]
    with torch.no_grad():
        out = autoencoder.decode(golden[f"{case}/ddim10/latent"], prev, next_, phi_prev, phi_next)
    height, width = golden[f"{case}/prev_frame"].shape[-2:]
    assert out.shape[-2:] == prev.shape[-2:]
    assert_matches(out[..., :height, :width], golden, f"{case}/decode/out")


@pytest.mark.parametrize("case", CASES)
def test_decode_reproduces_output_and_final_frame(autoencoder, encoded, golden, case: str) -> None:
    prev, next_, _, _, phi_prev, phi_next = encoded(case)
    with torch.no_grad():
        out = autoencoder.decode(golden[f"{case}/ddim10/latent"], prev, next_, phi_prev, phi_next)
    height, width = golden[f"{case}/prev_frame"].shape[-2:]
    out = out[..., :height, :width]
    assert_matches(out, golden, f"{case}/decode/out")
    assert_matches(out.clamp(-1, 1), golden, f"{case}/final")


def test_decoder_batchnorm_uses_running_statistics_in_eval(autoencoder, golden) -> None:
    # Training-mode BatchNorm would normalise with batch statistics and change the output.
    norm = autoencoder.decoder.up[0].cross_attn.proj_in[1]
    assert not norm.training
    assert norm.running_var.ne(1).any()


def test_rejects_first_stage_variants_it_does_not_implement() -> None:
    params = first_stage_params()
    ddconfig = {**params["ddconfig"], "attn_resolutions": [16]}
    with pytest.raises(NotImplementedError, match="attn_resolutions"):
        VQFlowAutoencoder(params["embed_dim"], params["n_embed"], ddconfig)
