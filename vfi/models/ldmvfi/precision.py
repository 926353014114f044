"""Arithmetic precision of LDMVFI inference: the places that always stay in float32.

The precisions themselves (fp32, tf32, bf16, fp16, and `auto`) are shared by the models
(`vfi.models.precision`). Kept in float32 whatever the precision, because rounding there changes
results beyond the precision's own noise: the diffusion schedule and the sampler's update
(outside autocast, the latent x_t stays float32); normalisation statistics (GroupNorm, LayerNorm:
`FP32GroupNorm`, `FP32LayerNorm`); the quantiser's codebook distances (a near-tie flip picks
another code); the deformable resampling of the neighbours (DSepConv) and the final blend. The
conditioning latents are handed to the U-Net in float32.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from vfi.models.precision import PRECISIONS, Precision, float32_region, resolve_precision

__all__ = [
    "PRECISIONS",
    "FP32GroupNorm",
    "FP32LayerNorm",
    "Precision",
    "float32_region",
    "resolve_precision",
]


class FP32GroupNorm(nn.GroupNorm):
    """GroupNorm with statistics and affine in float32; returns the input's dtype.

    CPU autocast would run group_norm in bf16/fp16 (CUDA autocast keeps it in float32): this
    makes both devices compute the same way.
    """

    def forward(self, x: Tensor) -> Tensor:
        with float32_region(x):
            return super().forward(x.float()).to(x.dtype)


class FP32LayerNorm(nn.LayerNorm):
    """LayerNorm in float32 whatever the autocast state; returns the input's dtype."""

    def forward(self, x: Tensor) -> Tensor:
        with float32_region(x):
            out = F.layer_norm(x.float(), self.normalized_shape, self.weight, self.bias, self.eps)
        return out.to(x.dtype)
