"""Interpolators behind one interface, chosen by name (`backend:` in the config).

Each backend is a thin adapter from the pipeline (frame tensors, times, seeds) to one model of
`vfi.models`. The registry says what each can do without importing it, so that light jobs
(provenance, metrics) never pay for torch or model imports.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
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
    # "module:function" (backend options -> bool) where the weights decide whether any t works
    any_time_check: str | None = None


REGISTRY: dict[str, BackendSpec] = {
    "blend": BackendSpec("vfi.backends.blend:BlendBackend", True, uses_gpu=False),
    "flow": BackendSpec("vfi.backends.flow:FlowBackend", True, uses_gpu=False),
    "ldmvfi": BackendSpec("vfi.backends.ldmvfi:LDMVFIBackend", False, uses_gpu=True),
    "ifrnet": BackendSpec(
        "vfi.backends.ifrnet:IFRNetBackend",
        True,
        uses_gpu=True,
        any_time_check="vfi.backends.ifrnet:accepts_any_time",
    ),
    "pervfi": BackendSpec("vfi.backends.pervfi:PerVFIBackend", True, uses_gpu=True),
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


def accepts_any_time(backend: str, options: Mapping[str, Any] | None = None) -> bool:
    """Whether `backend` with these options (its config section) interpolates at any t."""
    spec = backend_spec(backend)
    if spec.any_time_check is None or options is None:
        return spec.supports_any_time
    module, function = spec.any_time_check.split(":")
    return getattr(importlib.import_module(module), function)(**options)


def resolve_timing(setting: str, backend: str, options: Mapping[str, Any] | None = None) -> Timing:
    """The timing a run of `backend` uses for the `timing:` setting.

    `auto` asks for the exact time where the backend can interpolate at any t, else midpoints.
    `options` (the backend's settings section) matter where the weights decide (IFRNet).
    """
    supports_any_time = accepts_any_time(backend, options)
    if setting == "auto":
        return "exact" if supports_any_time else "midpoint"
    if setting == "exact" and not supports_any_time:
        why = "makes midpoints only"
        if backend_spec(backend).supports_any_time:  # the weights make the difference
            why = "with these weights makes midpoints only (their time input is zero)"
        raise ValueError(
            f"timing: exact needs a backend that accepts any t, and {backend} {why}; use "
            "timing: midpoint or auto"
        )
    if setting not in ("midpoint", "exact"):
        raise ValueError(f"timing must be auto, midpoint or exact, got {setting!r}")
    return setting  # type: ignore[return-value]


__all__ = [
    "REGISTRY",
    "BackendSpec",
    "accepts_any_time",
    "backend_class",
    "backend_spec",
    "create_backend",
    "resolve_timing",
]
