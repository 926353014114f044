"""Arithmetic precision of model inference, shared by the models.

Weights are float32. A precision decides how the heavy layers (convolutions, linear layers,
attention) compute:

* ``fp32``: true float32 everywhere; on CUDA TF32 is switched off for matmuls and cuDNN
  convolutions (cuDNN allows TF32 by default, so this must be explicit).
* ``tf32``: float32 tensors, TF32 tensor-core matmuls and convolutions (CUDA only).
* ``bf16`` / ``fp16``: autocast to that dtype.

Each model says which of its steps stay float32 whatever the precision (see
`vfi.models.ldmvfi.precision` and `vfi.models.ifrnet`), using `float32_region`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import Tensor

log = logging.getLogger(__name__)

PRECISIONS = ("fp32", "tf32", "bf16", "fp16")
_AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass(frozen=True)
class Precision:
    """One of `PRECISIONS`; `context(device)` applies it to the code run inside."""

    name: str

    def __post_init__(self) -> None:
        if self.name not in PRECISIONS:
            choices = ", ".join(PRECISIONS)
            raise ValueError(f"precision must be one of {choices} (got {self.name!r})")

    @property
    def autocast_dtype(self) -> torch.dtype | None:
        return _AUTOCAST_DTYPES.get(self.name)

    @contextlib.contextmanager
    def context(self, device: torch.device) -> Iterator[None]:
        """Autocast (bf16, fp16) and the TF32 switches (CUDA), restored on exit."""
        with contextlib.ExitStack() as stack:
            if device.type == "cuda":
                stack.enter_context(_tf32(self.name == "tf32"))
            if self.autocast_dtype is not None:
                stack.enter_context(torch.autocast(device.type, dtype=self.autocast_dtype))
            yield


def resolve_precision(setting: str, device: torch.device) -> Precision:
    """`auto`: bf16 on a GPU that supports it, else fp32. `tf32` on the CPU means fp32."""
    if setting == "auto":
        if device.type == "cuda" and torch.cuda.is_bf16_supported():
            return Precision("bf16")
        return Precision("fp32")
    precision = Precision(setting)
    if precision.name == "tf32" and device.type != "cuda":
        log.warning("precision tf32 exists on CUDA only; computing in fp32 on %s", device)
        return Precision("fp32")
    return precision


@contextlib.contextmanager
def _tf32(enabled: bool) -> Iterator[None]:
    """Set TF32 for CUDA matmuls and cuDNN convolutions; restore the previous switches on exit.

    The `allow_tf32` switches are used, not the newer `fp32_precision` ones: torch refuses to
    report either once the two kinds are mixed, and the `allow_tf32` ones are the common kind.
    """
    matmul, cudnn = torch.backends.cuda.matmul, torch.backends.cudnn
    saved = matmul.allow_tf32, cudnn.allow_tf32
    matmul.allow_tf32 = cudnn.allow_tf32 = enabled
    try:
        yield
    finally:
        matmul.allow_tf32, cudnn.allow_tf32 = saved


def float32_region(tensor: Tensor) -> contextlib.AbstractContextManager[None]:
    """Switch autocast off for `tensor`'s device type (a no-op where it is off anyway)."""
    return torch.autocast(tensor.device.type, enabled=False)
