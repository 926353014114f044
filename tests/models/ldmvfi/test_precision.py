"""Precisions of LDMVFI inference: what they switch, and what always stays float32."""

from __future__ import annotations

import logging

import pytest
import torch
import torch.nn.functional as F
from support import TINY_CKPT, TINY_CONFIG

from vfi.models.ldmvfi import LDMVFI
from vfi.models.ldmvfi.autoencoder import VectorQuantizer
from vfi.models.ldmvfi.precision import FP32GroupNorm, FP32LayerNorm, Precision, resolve_precision

CPU, CUDA = torch.device("cpu"), torch.device("cuda")
# Relative error bounds per stage: a few units of each format's rounding (bf16 2^-8, fp16
# 2^-11) grown through the tiny model's layers.
TOLERANCE = {"bf16": 0.05, "fp16": 0.01}


@pytest.fixture(scope="module")
def model() -> LDMVFI:
    return LDMVFI.from_checkpoint(TINY_CKPT, config=TINY_CONFIG)


def relative_error(fast: torch.Tensor, reference: torch.Tensor) -> float:
    return float((fast.double() - reference.double()).norm() / reference.double().norm())


def test_auto_precision_is_fp32_on_the_cpu():
    assert resolve_precision("auto", CPU).name == "fp32"


def test_tf32_on_the_cpu_falls_back_to_fp32_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING):
        assert resolve_precision("tf32", CPU).name == "fp32"
    assert "CUDA only" in caplog.text


def test_unknown_precision_lists_the_choices():
    with pytest.raises(ValueError, match="fp32, tf32, bf16, fp16"):
        resolve_precision("fp8", CPU)


def test_fp32_switches_tf32_off_on_cuda_and_restores_the_switches():
    torch.backends.cudnn.allow_tf32 = True
    with Precision("fp32").context(CUDA):
        assert not torch.backends.cudnn.allow_tf32
        assert not torch.backends.cuda.matmul.allow_tf32
    assert torch.backends.cudnn.allow_tf32


def test_tf32_switches_tf32_on_for_matmuls_and_convolutions():
    torch.backends.cuda.matmul.allow_tf32 = False
    with Precision("tf32").context(CUDA):
        assert torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32
    assert not torch.backends.cuda.matmul.allow_tf32


def test_bf16_runs_convolutions_in_bf16():
    conv = torch.nn.Conv2d(4, 4, 3)
    with Precision("bf16").context(CPU):
        assert conv(torch.randn(1, 4, 8, 8)).dtype == torch.bfloat16


def test_group_norm_statistics_stay_float32_under_autocast():
    norm = FP32GroupNorm(2, 8, eps=1e-6)
    x = (torch.randn(2, 8, 4, 4) * 100 + 1000).bfloat16()  # large mean: bf16 stats would fail
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = norm(x)
    expected = F.group_norm(x.float(), 2, norm.weight, norm.bias, 1e-6).bfloat16()
    assert out.dtype == torch.bfloat16
    assert torch.equal(out, expected)


def test_layer_norm_stays_float32_under_autocast():
    norm = FP32LayerNorm(8)
    x = (torch.randn(3, 5, 8) * 100 + 1000).bfloat16()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = norm(x)
    assert torch.equal(out, F.layer_norm(x.float(), (8,)).bfloat16())


def test_quantiser_picks_the_same_codes_under_autocast():
    torch.manual_seed(0)
    quantiser = VectorQuantizer(512, 3)
    z = torch.randn(2, 3, 16, 16) * 3
    _, reference = quantiser(z)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        _, fast = quantiser(z)
    assert torch.equal(fast, reference)


@pytest.mark.parametrize("name", ["bf16", "fp16"])
def test_low_precision_unet_stays_close_to_fp32(model, name):
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    c = torch.randn(2, 6, 8, 8, generator=torch.Generator().manual_seed(1))
    t = torch.tensor([10, 900])
    with torch.inference_mode():
        reference = model.denoiser(c, "fp32")(x, t)
        fast = model.denoiser(c, name)(x, t)
    assert fast.dtype == torch.float32
    assert relative_error(fast, reference) < TOLERANCE[name]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="bf16/fp16 convolutions: minutes on CPU")
@pytest.mark.parametrize("name", ["bf16", "fp16"])
def test_low_precision_encode_and_decode_stay_close_to_fp32(golden, name):
    model = LDMVFI.from_checkpoint(TINY_CKPT, config=TINY_CONFIG, device="cuda")
    frames = golden["case_a/prev_frame"]
    reference = model.encode_frames(frames, "fp32")
    fast = model.encode_frames(frames, name)
    assert fast.latent.dtype == torch.float32
    assert relative_error(fast.latent, reference.latent) < TOLERANCE[name]
    latent = reference.latent
    decoded = model.decode(latent, reference, reference, name)
    assert decoded.dtype == torch.float32
    exact = model.decode(latent, reference, reference, "fp32")
    assert relative_error(decoded, exact) < TOLERANCE[name]
