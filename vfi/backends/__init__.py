"""Interpolators behind one interface, chosen by name (`backend:` in the config).

Each backend is a thin adapter from the pipeline (frame tensors, times, seeds) to one model of
`vfi.models`. The registry says what each can do without importing it, so that light jobs
(provenance, metrics) never pay for torch or model imports.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vfi.data.plan import Timing

if TYPE_CHECKING:
    import torch

    from vfi.backends.base import Backend


@dataclass(frozen=True)
class BackendSpec:
    target: str  # "module:class", imported on use
    supports_any_time: bool  # False: only t = 0.5 (the midpoint) is meaningful
    uses_gpu: bool  # its jobs claim a GPU (resources: gpu) where there is one


REGISTRY: dict[str, BackendSpec] = {
    "blend": BackendSpec("vfi.backends.blend:BlendBackend", True, uses_gpu=False),
    "flow": BackendSpec("vfi.backends.flow:FlowBackend", True, uses_gpu=False),
    "ldmvfi": BackendSpec("vfi.backends.ldmvfi:LDMVFIBackend", False, uses_gpu=True),
}


def backend_spec(name: str) -> BackendSpec:
    if name not in REGISTRY:
        raise ValueError(f"unknown backend {name!r}; choose one of {sorted(REGISTRY)}")
    return REGISTRY[name]


def backend_class(name: str) -> type[Backend]:
    module, cls = backend_spec(name).target.split(":")
    return getattr(importlib.import_module(module), cls)


def create_backend(name: str, device: torch.device, **options: Any) -> Backend:
    return backend_class(name)(device, **options)


def resolve_timing(setting: str, backend: str) -> Timing:
    """The timing a run of `backend` uses for the `timing:` setting.

    `auto` asks for the exact time where the backend can interpolate at any t, else midpoints.
    """
    supports_any_time = backend_spec(backend).supports_any_time
    if setting == "auto":
        return "exact" if supports_any_time else "midpoint"
    if setting == "exact" and not supports_any_time:
        raise ValueError(
            f"timing: exact needs a backend that accepts any t, and {backend} makes midpoints "
            "only; use timing: midpoint or auto"
        )
    if setting not in ("midpoint", "exact"):
        raise ValueError(f"timing must be auto, midpoint or exact, got {setting!r}")
    return setting  # type: ignore[return-value]


__all__ = [
    "REGISTRY",
    "BackendSpec",
    "backend_class",
    "backend_spec",
    "create_backend",
    "resolve_timing",
]
