"""The DDPM noise schedule LDMVFI was trained with (latent-diffusion "linear" betas).

Precision: every quantity is computed in float64 and rounded to float32 once, at the end, because
that is what the checkpoint's training code did (numpy float64, then float32 buffers); the DDIM and
DDPM samplers must consume these float32 values to reproduce the official trajectories.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

# Floor of the posterior variance before its log: the variance is exactly 0 at t = 0.
_POSTERIOR_VARIANCE_FLOOR = 1e-20


def linear_betas(timesteps: int, linear_start: float, linear_end: float) -> Tensor:
    """betas = linspace(sqrt(start), sqrt(end), T)^2 as float64 [T] (float64: see module doc)."""
    root = torch.linspace(
        linear_start**0.5, linear_end**0.5, timesteps, dtype=torch.float64, device="cpu"
    )
    return root**2


@dataclass(frozen=True)
class DiffusionSchedule:
    """Float64 betas and cumulative alphas; float32 views for the samplers.

    Attribute names follow the official buffers (`alphas_cumprod`, `posterior_mean_coef1`, ...),
    so they can be compared with the schedule buffers stored in a Lightning checkpoint.
    """

    betas64: Tensor  # float64 [T]
    alphas_cumprod64: Tensor  # float64 [T], cumprod(1 - betas)

    @classmethod
    def linear(
        cls, timesteps: int = 1000, linear_start: float = 0.0015, linear_end: float = 0.0195
    ) -> DiffusionSchedule:
        betas = linear_betas(timesteps, linear_start, linear_end)
        return cls(betas64=betas, alphas_cumprod64=torch.cumprod(1.0 - betas, dim=0))

    @property
    def num_timesteps(self) -> int:
        return self.betas64.shape[0]

    @property
    def alphas_cumprod_prev64(self) -> Tensor:
        """float64 [T]: alphas_cumprod shifted right, 1 at t = 0."""
        return torch.cat([self.alphas_cumprod64.new_ones(1), self.alphas_cumprod64[:-1]])

    @property
    def betas(self) -> Tensor:
        return self.betas64.float()

    @property
    def alphas_cumprod(self) -> Tensor:
        """float32 [T]: what DDIM uses (a_t, a_prev)."""
        return self.alphas_cumprod64.float()

    @property
    def sqrt_recip_alphas_cumprod(self) -> Tensor:
        """float32 [T]: 1 / sqrt(a_t), for pred_x0 in DDPM sampling."""
        return torch.sqrt(1.0 / self.alphas_cumprod64).float()

    @property
    def sqrt_recipm1_alphas_cumprod(self) -> Tensor:
        """float32 [T]: sqrt(1 / a_t - 1), for pred_x0 in DDPM sampling."""
        return torch.sqrt(1.0 / self.alphas_cumprod64 - 1.0).float()

    @property
    def posterior_variance64(self) -> Tensor:
        """float64 [T]: variance of q(x_{t-1} | x_t, x_0) = beta_t (1 - a_{t-1}) / (1 - a_t)."""
        return self.betas64 * (1.0 - self.alphas_cumprod_prev64) / (1.0 - self.alphas_cumprod64)

    @property
    def posterior_variance(self) -> Tensor:
        return self.posterior_variance64.float()

    @property
    def posterior_log_variance_clipped(self) -> Tensor:
        """float32 [T]: log of the posterior variance, floored (it is 0 at t = 0)."""
        variance = self.posterior_variance64.clamp(min=_POSTERIOR_VARIANCE_FLOOR)
        return torch.log(variance).float()

    @property
    def posterior_mean_coef1(self) -> Tensor:
        """float32 [T]: weight of x_0 in the posterior mean."""
        acp, acp_prev = self.alphas_cumprod64, self.alphas_cumprod_prev64
        return (self.betas64 * torch.sqrt(acp_prev) / (1.0 - acp)).float()

    @property
    def posterior_mean_coef2(self) -> Tensor:
        """float32 [T]: weight of x_t in the posterior mean."""
        acp, acp_prev = self.alphas_cumprod64, self.alphas_cumprod_prev64
        return ((1.0 - acp_prev) * torch.sqrt(1.0 - self.betas64) / (1.0 - acp)).float()
