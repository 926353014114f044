"""Interpolators behind one interface, chosen by name (`backend:` in the config).

The registry says what each backend can do without importing it, so that light jobs (provenance,
metrics) never pay for torch or model imports.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from vfi.backends.base import Backend


@dataclass(frozen=True)
class BackendSpec:
    target: str  # "module:class", imported on use
    supports_any_time: bool  # False: only t = 0.5 (the midpoint) is meaningful


REGISTRY: dict[str, BackendSpec] = {
    "blend": BackendSpec("vfi.backends.blend:BlendBackend", supports_any_time=True),
    "ldmvfi": BackendSpec("vfi.backends.ldmvfi:LDMVFIBackend", supports_any_time=False),
}


def backend_class(name: str) -> type[Backend]:
    if name not in REGISTRY:
        raise ValueError(f"unknown backend {name!r}; choose one of {sorted(REGISTRY)}")
    module, cls = REGISTRY[name].target.split(":")
    return getattr(importlib.import_module(module), cls)


def create_backend(name: str, device: torch.device, **options: Any) -> Backend:
    return backend_class(name)(device, **options)


def resolve_device(setting: str) -> torch.device:
    """`auto`: the first visible CUDA device (the one the scheduler assigned), else the CPU."""
    import torch

    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(setting)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            f"device {setting!r} was requested but CUDA is not available here; "
            "set device: cpu or device: auto"
        )
    return device


__all__ = ["BackendSpec", "REGISTRY", "backend_class", "create_backend", "resolve_device"]
