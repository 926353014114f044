"""The run settings shared by the workflow and the `vfi` command.

The defaults live here and only here. `workflow/schemas/config.schema.yaml` checks types and
allowed values (and describes each key), and `config/config.yaml` lists every key with its
default for users to edit (a test keeps it in step). The workflow passes its effective config to
jobs as JSON, so a job sees exactly the settings the DAG was built with, `--config` included.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class LDMVFISettings:
    checkpoint: str = "resources/checkpoints/ldmvfi-vqflow-f32-c256-concat_max.ckpt"
    config: str | None = None
    sampler: str = "ddim"
    steps: int = 200
    eta: float = 1.0
    max_batch: int = 4
    precision: str = "auto"


@dataclass(frozen=True)
class MetricsSettings:
    """Scoring. LPIPS needs ImageNet backbone weights that cannot be downloaded offline.

    lpips: required (fail without the weights), optional (record n/a with a warning), disabled.
    lpips_net: alex (the LPIPS authors' default) or vgg. lpips_weights: the backbone file, or
    None for the torch hub cache (see `vfi.evaluation.lpips_scorer`).
    """

    lpips: str = "optional"
    lpips_net: str = "alex"
    lpips_weights: str | None = None


@dataclass(frozen=True)
class Settings:
    data_dir: str = "customdata"
    output_dir: str = "eval_results/CustomData"
    results_dir: str = "results"
    mode: str = "auto"
    on_invalid: str = "fail"
    backend: str = "flow"
    timing: str = "auto"
    batch_size: int = 8
    seed: int = 0
    device: str = "auto"
    evaluate_subdir: str = "interpolated_frames"
    ldmvfi: LDMVFISettings = field(default_factory=LDMVFISettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)

    @classmethod
    def from_mapping(cls, mapping: dict[str, Any]) -> Settings:
        """Build from a config mapping; unknown keys are refused with their names."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(mapping) - known)
        if unknown:
            raise ValueError(f"unknown setting(s) {unknown}; known: {sorted(known)}")
        values = dict(mapping)
        if "ldmvfi" in values:
            values["ldmvfi"] = LDMVFISettings(**(values["ldmvfi"] or {}))
        if "metrics" in values:
            values["metrics"] = MetricsSettings(**(values["metrics"] or {}))
        return cls(**values)

    @classmethod
    def from_yaml(cls, path: Path) -> Settings:
        with open(path) as f:
            return cls.from_mapping(yaml.safe_load(f) or {})

    def backend_options(self) -> dict[str, Any]:
        """The settings section of the chosen backend, as keyword arguments of its class."""
        section = getattr(self, self.backend, None)
        return asdict(section) if section is not None else {}

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Settings:
        return cls.from_mapping(json.loads(text))
