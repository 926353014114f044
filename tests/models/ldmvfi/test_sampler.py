"""DDIM / DDPM sampling against the official sampler's stored schedules, updates and runs."""

from __future__ import annotations

import logging

import pytest
import torch
from support import TINY_CKPT, TINY_CONFIG

from vfi.models.ldmvfi import LDMVFI
from vfi.models.ldmvfi.sampler import (
    ddim_schedule,
    ddim_step,
    gaussian_like,
    sample_ddim,
    sample_ddpm,
    seeded_generators,
)
from vfi.models.ldmvfi.schedule import DiffusionSchedule

SCHEDULE_FIELDS = {
    "ddim_timesteps": "timesteps",
    "ddim_alphas": "alphas",
    "ddim_alphas_prev": "alphas_prev",
    "ddim_sigmas": "sigmas",
    "ddim_sqrt_one_minus_alphas": "sqrt_one_minus_alphas",
}
CASES = ["case_a", "case_b", "case_c", "case_d"]


@pytest.fixture(scope="module")
def alphas_cumprod() -> torch.Tensor:
    return DiffusionSchedule.linear().alphas_cumprod


def stored_e_t(golden, case: str):
    """A denoiser replaying the official U-Net outputs of the DDIM-10 run, recording its inputs."""
    calls: list[tuple[torch.Tensor, torch.Tensor]] = []

    def denoise(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        calls.append((x, t))
        return golden[f"{case}/ddim10/step{len(calls) - 1}/e_t"]

    return denoise, calls


@pytest.mark.parametrize(("steps", "eta"), [(200, 1.0), (10, 0.0)])
@pytest.mark.parametrize("stored", SCHEDULE_FIELDS)
def test_ddim_schedule_equals_official_dtype_and_values(golden, alphas_cumprod, steps, eta, stored):
    ours = getattr(ddim_schedule(alphas_cumprod, steps, eta), SCHEDULE_FIELDS[stored])
    official = golden[f"ddim_schedule/S{steps}_eta{eta}/{stored}"]
    assert ours.dtype == official.dtype
    assert torch.equal(ours.to(official.device), official)


@pytest.mark.parametrize("index", [199, 100, 0])
def test_ddim_eta1_update_matches_official(golden, alphas_cumprod, index):
    stored = {k: golden[f"ddim_step_eta1/index{index}/{k}"] for k in ("x", "e_t", "noise", "t")}
    schedule = ddim_schedule(alphas_cumprod, 200, 1.0)
    assert int(schedule.timesteps[index]) == int(stored["t"][0])
    x_prev, pred_x0 = ddim_step(stored["x"], stored["e_t"], index, schedule, stored["noise"])
    torch.testing.assert_close(x_prev, golden[f"ddim_step_eta1/index{index}/x_prev"])
    torch.testing.assert_close(pred_x0, golden[f"ddim_step_eta1/index{index}/pred_x0"])


def test_ddim_step_with_positive_sigma_requires_noise(alphas_cumprod):
    schedule = ddim_schedule(alphas_cumprod, 200, 1.0)
    with pytest.raises(ValueError, match="needs noise"):
        ddim_step(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 8), 0, schedule, None)


@pytest.mark.parametrize("case", CASES)
def test_ddim10_trajectory_from_stored_e_t_matches_official(golden, alphas_cumprod, case):
    denoise, calls = stored_e_t(golden, case)
    steps = []
    latent = sample_ddim(
        denoise,
        golden[f"{case}/ddim10/x_T"],
        ddim_schedule(alphas_cumprod, 10, 0.0),
        on_step=steps.append,
    )
    assert len(steps) == len(calls) == 10
    for i, step in enumerate(steps):
        prefix = f"{case}/ddim10/step{i}/"
        assert step.t == int(golden[prefix + "t"])
        assert step.index == int(golden[prefix + "index"])
        assert bool((calls[i][1] == step.t).all())
        torch.testing.assert_close(step.pred_x0, golden[prefix + "pred_x0"])
        torch.testing.assert_close(step.x_prev, golden[prefix + "x_prev"])
    torch.testing.assert_close(latent, golden[f"{case}/ddim10/latent"])


def test_ddim10_latent_through_tiny_unet_matches_official(golden, alphas_cumprod, test_device):
    model = LDMVFI.from_checkpoint(TINY_CKPT, config=TINY_CONFIG, device=test_device)
    c = golden["case_a/c"]

    def denoise(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return model.unet(torch.cat([x, c], dim=1), t)

    with torch.inference_mode():
        latent = sample_ddim(
            denoise, golden["case_a/ddim10/x_T"], ddim_schedule(alphas_cumprod, 10, 0.0)
        )
    official = golden["case_a/ddim10/latent"]
    relative = ((latent - official).abs().max() / official.abs().max()).item()
    assert relative < 1e-5


def test_seeded_noise_of_a_sample_does_not_depend_on_its_batch(alphas_cumprod):
    schedule = ddim_schedule(alphas_cumprod, 20, 1.0)

    def denoise(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return 0.5 * x

    def run(seeds: list[int]) -> torch.Tensor:
        generators = seeded_generators(seeds)
        x_T = gaussian_like(torch.empty(len(seeds), 3, 8, 8), generators)
        return sample_ddim(denoise, x_T, schedule, generators)

    alone, batch = run([11]), run([11, 12])
    assert torch.equal(alone[0], batch[0])
    assert not torch.allclose(batch[0], batch[1])


def test_ddim_progress_is_logged_at_info_every_tenth_of_the_steps(alphas_cumprod, caplog):
    schedule = ddim_schedule(alphas_cumprod, 20, 0.0)
    with caplog.at_level(logging.INFO, logger="vfi.models.ldmvfi"):
        sample_ddim(lambda x, t: x, torch.zeros(1, 3, 8, 8), schedule)
    messages = [r.getMessage() for r in caplog.records if r.name == "vfi.models.ldmvfi"]
    assert messages[-1] == "DDIM step 20/20"
    assert len(messages) == 10


def test_ddpm_with_true_noise_denoiser_recovers_x0_in_1000_steps():
    schedule = DiffusionSchedule.linear()
    a64 = schedule.alphas_cumprod64
    x0 = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(0)) * 5
    seen_t: list[int] = []

    def true_noise(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        seen_t.append(int(t[0]))
        a_t = a64[t[0]]
        return ((x.double() - a_t.sqrt() * x0.double()) / (1 - a_t).sqrt()).float()

    out = sample_ddpm(true_noise, torch.randn(2, 3, 8, 8), schedule)
    assert seen_t == list(range(999, -1, -1))
    torch.testing.assert_close(out, x0, rtol=0, atol=1e-4)


def test_ddpm_samples_a_standard_normal_with_its_optimal_denoiser():
    """For data x0 ~ N(0, I), E[eps | x_t] = sqrt(1 - a_t) x_t; samples must then be N(0, 1)."""
    schedule = DiffusionSchedule.linear()
    root_one_minus = (1 - schedule.alphas_cumprod64).sqrt().float()

    def optimal(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return root_one_minus[t].view(-1, 1, 1, 1) * x

    generators = seeded_generators(range(8))
    x_T = gaussian_like(torch.empty(8, 3, 16, 16), generators)
    out = sample_ddpm(optimal, x_T, schedule, generators)
    assert abs(out.mean().item()) < 0.05
    assert out.std().item() == pytest.approx(1.0, abs=0.04)
