"""DDIM and ancestral DDPM sampling as plain functions over a denoiser callable.

The loops know nothing of the network: `denoise(x, t)` takes the current latent x (B x C x h x w)
and the integer DDPM step t (int64 [B]) and returns the predicted noise eps (same shape as x).

Randomness: with `generators` (one `torch.Generator` per sample) the noise of sample i is drawn
from generator i only, on the CPU, and then moved to x's device. A sample's result therefore does
not depend on the batch it sits in, nor on the device it runs on. Without generators the global
RNG is used on x's device, as the official code does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from .schedule import DiffusionSchedule

log = logging.getLogger("vfi.models.ldmvfi")

Denoiser = Callable[[Tensor, Tensor], Tensor]
"""eps = denoise(x: B x C x h x w, t: int64 [B])"""

# Progress is logged at most this many times per sampling run (plus the last step).
_PROGRESS_REPORTS = 10


class DDIMStep(NamedTuple):
    """What one DDIM update produced; handed to the `on_step` hook of `sample_ddim`."""

    index: int  # position in the DDIM schedule, S - 1 down to 0
    t: int  # DDPM step the denoiser saw
    e_t: Tensor  # denoiser output, B x C x h x w
    x_prev: Tensor  # the new latent
    pred_x0: Tensor  # the latent the update predicted for t = 0


@dataclass(frozen=True)
class DDIMSchedule:
    """The S-step DDIM schedule, with the dtypes of the official sampler (all CPU tensors [S]).

    Index i runs from 0 (the last step, smallest t) to S - 1 (the first step).
    """

    timesteps: Tensor  # int64: 1, 1 + c, 1 + 2c, ... with c = T // S
    alphas: Tensor  # float32: alphas_cumprod[t]
    alphas_prev: (
        Tensor  # float64: alphas_cumprod of the next (smaller) step; alphas_cumprod[0] last
    )
    sigmas: Tensor  # float64: eta * sqrt((1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev))
    sqrt_one_minus_alphas: Tensor  # float32: sqrt(1 - a_t), computed in float32
    eta: float

    @property
    def steps(self) -> int:
        return self.timesteps.shape[0]


def ddim_timesteps(total: int, steps: int) -> list[int]:
    """The DDPM steps DDIM visits, ascending: 0, c, 2c, ... plus one, with stride c = total // S.

    As in the official sampler, that is len(range(0, total, c)) steps, more than S when S does
    not divide evenly (150 runs 167, 400 runs 500). Raises ValueError for step counts the
    official sampler cannot run at all.
    """
    if not 0 < steps <= total:
        raise ValueError(f"DDIM steps must be in 1..{total} (got {steps})")
    stride = total // steps
    timesteps = [t + 1 for t in range(0, total, stride)]
    if timesteps[-1] >= total:  # the official code fails here too (index out of range)
        raise ValueError(
            f"{steps} DDIM steps: the stride {stride} = {total} // {steps} puts the last step at "
            f"t = {timesteps[-1]}, beyond the {total}-step schedule; choose one of "
            f"{exact_step_counts(total)}"
        )
    return timesteps


def exact_step_counts(total: int) -> list[int]:
    """The DDIM step counts that run exactly as many steps as asked: total / k for k >= 2."""
    return sorted(total // k for k in range(2, total + 1) if total % k == 0)


def check_step_count(total: int, steps: int) -> int:
    """`steps` if the official schedule runs exactly that many DDIM steps; otherwise
    ValueError naming the count it would run and the nearest counts that run as asked."""
    real = len(ddim_timesteps(total, steps))
    if real != steps:
        exact = exact_step_counts(total)
        below = max((n for n in exact if n < steps), default=None)
        above = min((n for n in exact if n > steps), default=None)
        nearest = " or ".join(str(n) for n in (below, above) if n is not None)
        raise ValueError(
            f"{steps} DDIM steps would run {real} steps in the official schedule (stride "
            f"{total} // {steps} = {total // steps}); use a count that runs as asked, such as "
            f"{nearest} (all: {exact})"
        )
    return steps


def sampler_steps(sampler: str, steps: int, total: int = 1000) -> int:
    """How many denoising steps a frame really takes: DDIM as scheduled, DDPM all of them."""
    return len(ddim_timesteps(total, steps)) if sampler == "ddim" else total


def ddim_schedule(alphas_cumprod: Tensor, steps: int, eta: float) -> DDIMSchedule:
    """DDIM schedule with uniform stride from the float32 `alphas_cumprod` [T].

    As in the official sampler the number of steps is len(range(0, T, T // S)), which exceeds S
    when S does not divide T (S = 7 gives 8 steps). The dtypes reproduce the official sampler
    exactly: a_t and sqrt(1 - a_t) stay float32, a_prev and sigma are float64 computed from the
    float32 alphas (they are rounded to float32 when used).
    The "+ 1" offset of the timesteps and a_prev = alphas_cumprod[0] on the last step are the
    official choices: the trajectory ends at alphas_cumprod[0] = 0.9985, not at 1.
    """
    if alphas_cumprod.dtype != torch.float32:
        raise TypeError(f"alphas_cumprod must be float32 (got {alphas_cumprod.dtype})")
    total = alphas_cumprod.shape[0]
    timesteps = torch.tensor(ddim_timesteps(total, steps), dtype=torch.int64)
    acp = alphas_cumprod.cpu()
    alphas = acp[timesteps]
    alphas_prev = torch.cat([acp[:1], acp[timesteps[:-1]]]).double()
    # Bit-exact with the official numpy/torch mix: its `(1 - a_prev) / (1 - a_t)` ran as
    # (1 - a_prev) * reciprocal(1 - a_t) with the reciprocal in float32; the rest is float64.
    inv_one_minus_alphas = torch.reciprocal(1.0 - alphas).double()
    variance = (1.0 - alphas_prev) * inv_one_minus_alphas * (1.0 - alphas.double() / alphas_prev)
    return DDIMSchedule(
        timesteps=timesteps,
        alphas=alphas,
        alphas_prev=alphas_prev,
        sigmas=eta * _correctly_rounded_sqrt(variance),
        sqrt_one_minus_alphas=_correctly_rounded_sqrt(1.0 - alphas),
        eta=float(eta),
    )


def _correctly_rounded_sqrt(x: Tensor) -> Tensor:
    """sqrt rounded exactly as IEEE demands (numpy's, as the official schedule used).

    torch's vectorised CPU sqrt can be one ulp off, which would make the schedule differ from
    the official arrays in the last bit.
    """
    return torch.from_numpy(np.sqrt(x.numpy()))


def ddim_step(
    x: Tensor, e_t: Tensor, index: int, schedule: DDIMSchedule, noise: Tensor | None
) -> tuple[Tensor, Tensor]:
    """One DDIM update at schedule position `index`: returns (x_prev, pred_x0), x's shape.

    pred_x0 = (x - sqrt(1 - a_t) e) / sqrt(a_t);
    x_prev = sqrt(a_prev) pred_x0 + sqrt(1 - a_prev - sigma^2) e + sigma noise (no clipping).
    Coefficients are float32 B x 1 x 1 x 1 tensors on x's device, as in the official sampler
    (a 0-d coefficient takes another CPU kernel path whose last bit can differ). `noise` (x's
    shape, standard normal) may be None only when sigma is 0.
    """

    def coefficient(values: Tensor) -> Tensor:
        shape = (x.shape[0],) + (1,) * (x.dim() - 1)
        return torch.full(shape, float(values[index]), dtype=torch.float32, device=x.device)

    a_t = coefficient(schedule.alphas)
    a_prev = coefficient(schedule.alphas_prev)
    sigma = coefficient(schedule.sigmas)
    sqrt_one_minus_at = coefficient(schedule.sqrt_one_minus_alphas)
    pred_x0 = (x - sqrt_one_minus_at * e_t) / a_t.sqrt()
    dir_xt = (1.0 - a_prev - sigma**2).sqrt() * e_t
    x_prev = a_prev.sqrt() * pred_x0 + dir_xt
    if schedule.sigmas[index] != 0:
        if noise is None:
            raise ValueError(f"DDIM step {index} has sigma > 0 and needs noise")
        x_prev = x_prev + sigma * noise
    return x_prev, pred_x0


def seeded_generators(seeds: Sequence[int]) -> list[torch.Generator]:
    """One CPU generator per sample, seeded with that sample's seed."""
    return [torch.Generator(device="cpu").manual_seed(int(seed)) for seed in seeds]


def gaussian_like(x: Tensor, generators: Sequence[torch.Generator] | None) -> Tensor:
    """Standard normal noise of x's shape, dtype and device; row i from generators[i] if given."""
    if generators is None:
        return torch.randn(x.shape, dtype=x.dtype, device=x.device)
    if len(generators) != x.shape[0]:
        raise ValueError(f"need one generator per sample: {len(generators)} for {x.shape[0]}")
    shape = (1, *x.shape[1:])
    rows = [torch.randn(shape, generator=g, dtype=x.dtype, device="cpu") for g in generators]
    return torch.cat(rows).to(x.device)


def _log_progress(name: str, done: int, total: int) -> None:
    every = max(1, total // _PROGRESS_REPORTS)
    if done % every == 0 or done == total:
        log.info("%s step %d/%d", name, done, total)


def sample_ddim(
    denoise: Denoiser,
    x_T: Tensor,
    schedule: DDIMSchedule,
    generators: Sequence[torch.Generator] | None = None,
    progress: Callable[[int, int], None] | None = None,
    on_step: Callable[[DDIMStep], None] | None = None,
) -> Tensor:
    """Run the S DDIM steps from the start noise x_T (B x C x h x w); returns the final x.

    Returns x after the last step (not pred_x0). Step noise is drawn only where sigma > 0 (the
    official code also draws it at eta = 0 but multiplies it by 0, which changes nothing).
    `progress(k, S)` is called after step k of S; progress is also logged at INFO.
    """
    x = x_T
    total = schedule.steps
    for k, index in enumerate(reversed(range(total)), start=1):
        t = int(schedule.timesteps[index])
        e_t = denoise(x, torch.full((x.shape[0],), t, dtype=torch.int64, device=x.device))
        noise = gaussian_like(x, generators) if schedule.sigmas[index] != 0 else None
        x_prev, pred_x0 = ddim_step(x, e_t, index, schedule, noise)
        if on_step is not None:
            on_step(DDIMStep(index, t, e_t, x_prev, pred_x0))
        x = x_prev
        _log_progress("DDIM", k, total)
        if progress is not None:
            progress(k, total)
    return x


def sample_ddpm(
    denoise: Denoiser,
    x_T: Tensor,
    schedule: DiffusionSchedule,
    generators: Sequence[torch.Generator] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Tensor:
    """Ancestral DDPM sampling over all T steps (epsilon prediction); returns x at t = 0.

    x_{t-1} = coef1_t x0 + coef2_t x_t + exp(0.5 log var_t) noise, with x0 predicted from eps,
    the latent-diffusion posterior variance and no noise on the last step. As in the official
    LDMVFI model the predicted x0 is not clipped (latents are not bounded to [-1, 1]).
    """
    device = x_T.device
    recip = schedule.sqrt_recip_alphas_cumprod.to(device)
    recipm1 = schedule.sqrt_recipm1_alphas_cumprod.to(device)
    coef1 = schedule.posterior_mean_coef1.to(device)
    coef2 = schedule.posterior_mean_coef2.to(device)
    log_var = schedule.posterior_log_variance_clipped.to(device)
    x = x_T
    total = schedule.num_timesteps
    for k, t in enumerate(reversed(range(total)), start=1):
        eps = denoise(x, torch.full((x.shape[0],), t, dtype=torch.int64, device=device))
        pred_x0 = recip[t] * x - recipm1[t] * eps
        mean = coef1[t] * pred_x0 + coef2[t] * x
        if t > 0:  # the last step adds no noise
            mean = mean + (0.5 * log_var[t]).exp() * gaussian_like(x, generators)
        x = mean
        _log_progress("DDPM", k, total)
        if progress is not None:
            progress(k, total)
    return x
