"""The DDPM linear schedule: float64 construction, float32 values of the official buffers."""

from __future__ import annotations

import pytest
import torch

from vfi.models.ldmvfi.schedule import DiffusionSchedule, linear_betas

OFFICIAL_BUFFERS = [
    "betas",
    "alphas_cumprod",
    "sqrt_recip_alphas_cumprod",
    "sqrt_recipm1_alphas_cumprod",
    "posterior_variance",
    "posterior_log_variance_clipped",
    "posterior_mean_coef1",
    "posterior_mean_coef2",
]


def test_betas_are_squared_linspace_of_roots_in_float64():
    betas = linear_betas(1000, 0.0015, 0.0195)
    assert betas.dtype == torch.float64
    assert betas.shape == (1000,)
    assert betas[0].item() == pytest.approx(0.0015, rel=1e-12)
    assert betas[-1].item() == pytest.approx(0.0195, rel=1e-12)
    roots = betas.sqrt()
    assert torch.allclose(roots.diff(), roots.diff()[0].expand(999), rtol=0, atol=1e-15)


def test_alphas_cumprod_is_float32_and_starts_at_one_minus_first_beta():
    schedule = DiffusionSchedule.linear()
    assert schedule.alphas_cumprod.dtype == torch.float32
    assert schedule.alphas_cumprod[0].item() == pytest.approx(0.9985, abs=1e-7)
    assert bool((schedule.alphas_cumprod.diff() < 0).all())


@pytest.mark.parametrize("name", OFFICIAL_BUFFERS)
def test_schedule_equals_buffer_stored_in_official_checkpoint(name, tiny_state_dict):
    ours = getattr(DiffusionSchedule.linear(1000, 0.0015, 0.0195), name)
    assert ours.dtype == torch.float32
    assert torch.equal(ours, tiny_state_dict[name])
