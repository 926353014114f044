"""Interpolators behind one interface, chosen by name (`backend:` in the config).

The registry says what each backend can do without importing it, so that light jobs (provenance,
metrics) never pay for torch or model imports.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

# Device choice lives in vfi.devices; re-exported because model code asks the backends for it.
from vfi.devices import resolve_device

if TYPE_CHECKING:
    import torch

    from vfi.backends.base import Backend


@dataclass(frozen=True)
class BackendSpec:
    target: str  # "module:class", imported on use
    supports_any_time: bool  # False: only t = 0.5 (the midpoint) is meaningful


REGISTRY: dict[str, BackendSpec] = {
    "blend": BackendSpec("vfi.backends.blend:BlendBackend", supports_any_time=True),
    "flow": BackendSpec("vfi.backends.flow:FlowBackend", supports_any_time=True),
    "ldmvfi": BackendSpec("vfi.backends.ldmvfi:LDMVFIBackend", supports_any_time=False),
}


def backend_class(name: str) -> type[Backend]:
    if name not in REGISTRY:
        raise ValueError(f"unknown backend {name!r}; choose one of {sorted(REGISTRY)}")
    module, cls = REGISTRY[name].target.split(":")
    return getattr(importlib.import_module(module), cls)


def create_backend(name: str, device: torch.device, **options: Any) -> Backend:
    return backend_class(name)(device, **options)


__all__ = ["BackendSpec", "REGISTRY", "backend_class", "create_backend", "resolve_device"]
