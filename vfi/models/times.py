"""The time argument every model takes: one t for all pairs, or one per pair."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def pair_times(t: float | Sequence[float] | Tensor, batch: int) -> Tensor:
    """One time per pair as a float32 CPU tensor of `batch` values, checked to lie in [0, 1]."""
    values = torch.as_tensor(t, dtype=torch.float32).detach().cpu()
    if values.dim() == 0:
        values = values.expand(batch)
    elif values.dim() != 1 or values.numel() != batch:
        raise ValueError(
            f"t must be one number or one per pair ({batch}); got shape {list(values.shape)}"
        )
    if not bool(((values >= 0) & (values <= 1)).all()):
        raise ValueError(f"t must lie in [0, 1] (got {values.tolist()})")
    return values.clone()
