"""The run settings shared by the workflow and the `vfi` command.

The defaults live here and only here. `workflow/schemas/config.schema.yaml` checks types and
allowed values (and describes each key), and `config/config.yaml` lists every key with its
default for users to edit (a test keeps it in step).

Each kind of job is given only the settings that determine its outputs (`job_settings_json`):
Snakemake reruns a job whose parameters changed, so editing a metrics option must not redo
hours of interpolation, and changing a backend setting must redo all of it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any, Literal

import yaml

from vfi.data.naming import FramePatterns


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
class FlowSettings:
    """The flow backend (`vfi.models.opticalflow.FlowMethod` has what each field does), and
    debug: write each made frame's motion and occlusion maps to <output_dir>/<seq>/debug/."""

    algorithm: str = "dis"
    preset: str = "medium"
    smoothing: float = 1.0
    max_side: int = 1024
    blend: str = "visibility"
    flicker: str = "affine"
    denoise: str = "wiener"
    debug: bool = False


@dataclass(frozen=True)
class IFRNetSettings:
    """checkpoint: official .pth (GoPro: any t; Vimeo90K: midpoints only) or compact
    .safetensors. scale_factor: the network runs on frames resized by it (0.8 or 0.5 for large
    motion). tile: tiles of at most this many pixels a side, overlapping by tile_overlap, for
    frames too large for memory (0: whole frames)."""

    checkpoint: str = "resources/checkpoints/IFRNet_GoPro.pth"
    scale_factor: float = 1.0
    max_batch: int = 4
    precision: str = "auto"
    tile: int = 0
    tile_overlap: int = 128


@dataclass(frozen=True)
class PerVFISettings:
    """checkpoint: PerVFI/v00.pth (normalizing-flow decoder: draws noise at `heat`, seeded per
    frame) or PerVFI/vb.pth (CNN decoder, no noise); the variant is read from the file.
    flow_weights: RAFT weights for the flows it needs, the original raft-sintel.pth (as PerVFI's
    release has it) or torchvision's raft_large port of it; raft_iterations: RAFT's refinement
    steps (PerVFI uses 12). precision: auto is fp16 on a GPU (see `vfi.backends.pervfi`). tile:
    tiles of at most this many pixels a side, overlapping by tile_overlap (0: whole frames)."""

    checkpoint: str = "resources/checkpoints/PerVFI/v00.pth"
    flow_weights: str = "resources/checkpoints/RAFT/raft-sintel.pth"
    heat: float = 0.3
    raft_iterations: int = 12
    max_batch: int = 4
    precision: str = "auto"
    tile: int = 0
    tile_overlap: int = 128


@dataclass(frozen=True)
class FinetuneSettings:
    """Fine-tuning (`snakemake finetune`): see `vfi.pipeline.finetune`.

    init: a checkpoint to start from (official or an earlier fine-tune), or None to train from
    scratch as `variant` (S, base or L). validation: a fraction of the sequences with triplets,
    or their names; validation_triplets: at most this many of their triplets are scored, spread
    evenly (0: all). teacher: "flow" distils the flow backend's flow, None leaves distillation
    off. The model is written to <results_dir>/models/<name>.safetensors with a card (.json)
    and its training curves (.csv)."""

    model: str = "ifrnet"
    init: str | None = None
    variant: str = "S"
    steps: int = 1000
    batch_size: int = 4
    crop: int = 128
    lr: float = 1e-4
    validation: float | list[str] = 0.2
    validation_triplets: int = 64
    name: str = "ifrnet_finetuned"
    teacher: str | None = None
    validate_every: int = 100
    checkpoint_every: int = 50
    seed: int = 0


@dataclass(frozen=True)
class MetricsSettings:
    """Scoring. LPIPS needs ImageNet backbone weights that cannot be downloaded offline.

    lpips: required (fail without the weights), optional (record n/a with a warning), disabled.
    lpips_net: alex (the LPIPS authors' default) or vgg. lpips_weights: the backbone file, or
    None for the torch hub cache (see `vfi.evaluation.lpips_scorer`). data_range: the value of
    a full-scale pixel for PSNR, SSIM and LPIPS: auto (the sequence's bit depth, see
    `vfi.io.intensity`), dtype (255 or 65535) or a number. device: where LPIPS (and SSIM with
    it) runs: auto (a GPU when there is one), cuda or cpu; finish jobs that score on a GPU
    claim it (`vfi.pipeline.devices`). batch_size: frames scored per call (LPIPS and GPU SSIM);
    scores do not depend on it beyond float rounding.
    """

    lpips: str = "optional"
    lpips_net: str = "alex"
    lpips_weights: str | None = None
    data_range: str | float = "auto"
    device: str = "auto"
    batch_size: int = 4


@dataclass(frozen=True)
class ModelJobSettings:
    """Resources of model jobs. Their rules are made per job, so a profile's set-resources
    cannot name them; these keys can (in the config, or a --configfile a profile names).

    max_frames, max_megapixels, parallel: how `batch_size: auto` cuts a level into jobs
    (`vfi.pipeline.batching`): at most that many frames (or megapixels of frames) per job (None:
    no limit), and at least `parallel` jobs per level (auto: one per visible GPU).
    """

    threads: int = 2
    mem_mb: int = 8000
    runtime: int = 120
    gpus: int = 1
    slurm_partition: str | None = None
    max_frames: int | None = None
    max_megapixels: float | None = None
    parallel: int | str = "auto"


@dataclass(frozen=True)
class Settings:
    data_dir: str = "customdata"
    output_dir: str = "eval_results/CustomData"
    results_dir: str = "results"
    mode: str = "auto"
    frame_pattern: FramePatterns = field(default_factory=FramePatterns)
    on_invalid: str = "fail"
    backend: str = "flow"
    # More backends run beside the main one and are scored on the same frames (`for_comparison`).
    compare: list[str] = field(default_factory=list)
    timing: str = "auto"
    intensity: str = "auto"
    # Sequences per model job, or auto (vfi.pipeline.batching).
    batch_size: int | str = "auto"
    seed: int = 0
    device: str = "auto"
    evaluate_subdir: str = "interpolated_frames"
    local_previews: bool = True
    model_jobs: ModelJobSettings = field(default_factory=ModelJobSettings)
    flow: FlowSettings = field(default_factory=FlowSettings)
    ldmvfi: LDMVFISettings = field(default_factory=LDMVFISettings)
    ifrnet: IFRNetSettings = field(default_factory=IFRNetSettings)
    pervfi: PerVFISettings = field(default_factory=PerVFISettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    finetune: FinetuneSettings = field(default_factory=FinetuneSettings)

    @classmethod
    def from_mapping(cls, mapping: dict[str, Any]) -> Settings:
        """Build from a config mapping (missing keys take their defaults); unknown keys are
        refused with their names."""
        return _build(cls, mapping, "")

    @classmethod
    def from_yaml(cls, path: Path) -> Settings:
        with open(path) as f:
            return cls.from_mapping(yaml.safe_load(f) or {})

    def backend_options(self) -> dict[str, Any]:
        """The settings section of the chosen backend, as keyword arguments of its class."""
        section = getattr(self, self.backend, None)
        return asdict(section) if section is not None else {}

    def for_comparison(self, backend: str) -> Settings:
        """The settings of compare backend `backend`: the run's, with that backend (its own
        section, the run's timing setting) and its frames under <results_dir>/compare/<backend>,
        so that its jobs are the main jobs' and never write into output_dir."""
        folder = os.path.join(self.results_dir, "compare", backend)
        return replace(self, backend=backend, compare=[], output_dir=folder)

    def compare_problems(self) -> list[str]:
        """What is wrong with the `compare:` list itself (each backend's own checks are in
        `vfi.pipeline.checks`)."""
        from vfi.backends import REGISTRY

        problems = []
        if not isinstance(self.compare, list | tuple):
            return [f"compare must be a list of backend names, got {self.compare!r}"]
        if unknown := [b for b in self.compare if b not in REGISTRY]:
            problems.append(
                f"compare: unknown backend(s) {unknown}; choose from {sorted(REGISTRY)}"
            )
        if self.backend in self.compare:
            problems.append(
                f"compare: {self.backend} is the main backend (backend: {self.backend}); list "
                "only the other backends to run beside it"
            )
        if repeated := sorted({b for b in self.compare if list(self.compare).count(b) > 1}):
            problems.append(f"compare: {repeated} listed more than once; name each backend once")
        return problems

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Settings:
        return cls.from_mapping(json.loads(text))

    def job_settings_json(self, job: JobKind) -> str:
        """The settings a kind of job is given: only what determines its outputs, with paths
        normalised, so that `results` and `./results/` are the same setting."""
        values = {key: getattr(self, key) for key in JOB_KEYS[job]}
        if job in ("model", "finish") and is_dataclass(getattr(self, self.backend, None)):
            values[self.backend] = getattr(self, self.backend)
        for key in ("data_dir", "output_dir", "results_dir"):
            if key in values:
                values[key] = os.path.normpath(values[key])
        return json.dumps(
            {k: asdict(v) if is_dataclass(v) else v for k, v in values.items()}, sort_keys=True
        )


JobKind = Literal["copy", "model", "finish", "preview", "finetune"]
_FIND = ("data_dir", "mode", "frame_pattern", "output_dir", "evaluate_subdir")
_MAKE = ("backend", "timing", "intensity", "seed", "device")
# Keys that no job output depends on: results_dir (tables only), on_invalid (which sequences run),
# batch_size, model_jobs and local_previews (how work is cut into jobs and where they run).
JOB_KEYS: dict[JobKind, tuple[str, ...]] = {
    "copy": _FIND,
    "preview": _FIND,
    "model": _FIND + _MAKE,
    "finish": _FIND + _MAKE + ("metrics",),
    # checkpoint_every and validate_every change no weight, but the run they belong to.
    "finetune": _FIND + ("intensity", "device", "results_dir", "metrics", "finetune"),
}


def _build(cls: type, mapping: dict[str, Any] | None, prefix: str) -> Any:
    """A settings dataclass from a mapping, nested sections included."""
    mapping = mapping or {}
    if not isinstance(mapping, dict):
        raise ValueError(f"setting {prefix.rstrip('.')} must be a mapping, got {mapping!r}")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(mapping) - set(known))
    if unknown:
        names = [prefix + name for name in unknown]
        raise ValueError(f"unknown setting(s) {names}; known: {sorted(prefix + k for k in known)}")
    values = {}
    for name, value in mapping.items():
        default = known[name].default_factory  # type: ignore[misc]
        if callable(default) and is_dataclass(default):
            value = _build(default, value, f"{prefix}{name}.")
        values[name] = value
    return cls(**values)
