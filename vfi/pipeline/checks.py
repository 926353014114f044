"""Checks run before any job (at DAG build time, and by `vfi check`).

A run must never write into its own input, and it should fail at once, not hours later, when an
output folder cannot be written or a combination of settings cannot work.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import tempfile
from collections.abc import Iterable
from pathlib import Path

from vfi.data.layout import OutputLayout
from vfi.data.sequences import Problem
from vfi.settings import Settings


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def output_folder_problems(data_dir: Path, output_dirs: dict[str, Path]) -> list[Problem]:
    """Problems with the output folders (by config key): inside the data, or not writable."""
    data = Path(data_dir).resolve()
    problems = []
    for key, folder in output_dirs.items():
        resolved = Path(folder).resolve()
        if _inside(resolved, data) or _inside(data, resolved):
            problems.append(
                Problem(
                    f"{key} {folder} overlaps the data folder {data_dir}; inputs are never "
                    f"written to: choose an output folder outside {data_dir}"
                )
            )
            continue
        reason = _not_writable(resolved)
        if reason:
            problems.append(
                Problem(
                    f"{key} {folder} cannot be written ({reason}); "
                    "choose another folder or fix its permissions"
                )
            )
    return problems


def _not_writable(folder: Path) -> str | None:
    """None if a file can be created in `folder` (creating the folder if needed)."""
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is a file, not a folder"
    target = folder if folder.exists() else existing
    try:
        fd, probe = tempfile.mkstemp(prefix=".vfi-write-check-", dir=target)
    except OSError as err:
        return f"{err.strerror} in {target}"
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)
    return None


def settings_problems(settings: Settings) -> list[str]:
    """Combinations of settings that would otherwise fail only inside a job, hours later.

    Cheap: no model is built; LDMVFI checkpoints are checked by their first bytes only, IFRNet
    ones (tens of MB) are read, because their weights decide whether any t works.
    """
    problems = [*settings.frame_pattern.problems(), *backend_problems(settings)]
    return problems + compare_problems(settings)


def compare_problems(settings: Settings) -> list[str]:
    """Problems of the `compare:` list, then of each backend in it, checked as the main backend
    is (its section, its checkpoint, the run's timing for it), each named."""
    problems = settings.compare_problems()
    if problems:
        return problems
    for backend in settings.compare:
        compared = settings.for_comparison(backend)
        problems += [f"compare: {backend}: {p}" for p in backend_problems(compared)]
    if settings.compare:
        folder = Path(settings.results_dir) / "compare"
        output = Path(settings.output_dir)
        if _inside(folder.resolve(), output.resolve()) or _inside(
            output.resolve(), folder.resolve()
        ):
            problems.append(
                f"compare: the compare backends' frames go to {folder}, which overlaps "
                f"output_dir {output}; choose another results_dir or output_dir"
            )
    return problems


def backend_problems(settings: Settings) -> list[str]:
    """Problems of the settings' backend: its section, its checkpoint, the timing asked for."""
    from vfi.backends import backend_spec, resolve_timing

    problems = []
    if settings.backend == "ldmvfi":
        problems += _ldmvfi_problems(settings)
    if settings.backend == "ifrnet":
        problems += _ifrnet_problems(settings)
    if settings.backend == "pervfi":
        problems += _pervfi_problems(settings)
    try:
        backend_spec(settings.backend)
        # Where the weights decide the timing, they are asked only if they could be read.
        options = None if problems else settings.backend_options()
        resolve_timing(settings.timing, settings.backend, options)
    except ValueError as err:
        problems.append(str(err))
    return problems


def _ifrnet_problems(settings: Settings) -> list[str]:
    from vfi.backends.ifrnet import missing_checkpoint_message
    from vfi.models.ifrnet.checkpoint import CheckpointError, read_weights
    from vfi.models.ifrnet.padding import divisor_for_scale

    options = settings.ifrnet
    problems = []
    if missing := missing_checkpoint_message(options.checkpoint):
        problems.append(missing)
    else:
        try:
            read_weights(options.checkpoint)
        except CheckpointError as err:
            problems.append(f"ifrnet.checkpoint: {err}")
    try:
        divisor_for_scale(options.scale_factor)
    except ValueError as err:
        problems.append(f"ifrnet.scale_factor: {err}")
    return problems + _tile_problems("ifrnet", options.tile, options.tile_overlap)


def _pervfi_problems(settings: Settings) -> list[str]:
    from vfi.backends.pervfi import missing_weights_message

    options = settings.pervfi
    problems = []
    if missing := missing_weights_message(options.checkpoint, options.flow_weights):
        problems.append(missing)
    else:
        files = {"checkpoint": options.checkpoint, "flow_weights": options.flow_weights}
        for name, path in files.items():
            if reason := _not_a_weights_file(Path(path)):
                problems.append(f"pervfi.{name} {path}: {reason}")
    return problems + _tile_problems("pervfi", options.tile, options.tile_overlap)


def _tile_problems(section: str, tile: int, overlap: int) -> list[str]:
    if tile and tile <= overlap:
        return [
            f"{section}.tile ({tile}) must be larger than {section}.tile_overlap ({overlap}), "
            "or 0 for whole frames"
        ]
    return []


def _ldmvfi_problems(settings: Settings) -> list[str]:
    from vfi.backends.ldmvfi import DDPM_STEPS, missing_checkpoint_message
    from vfi.models.ldmvfi.sampler import check_step_count

    options = settings.ldmvfi
    problems = []
    if options.sampler == "ddim":
        try:
            check_step_count(DDPM_STEPS, options.steps)
        except ValueError as err:
            problems.append(f"ldmvfi.steps: {err}")
    if missing := missing_checkpoint_message(options.checkpoint):
        problems.append(missing)
    elif reason := _not_a_weights_file(Path(options.checkpoint)):
        problems.append(f"ldmvfi.checkpoint {options.checkpoint}: {reason}")
    if options.config is not None and not Path(options.config).is_file():
        problems.append(
            f"ldmvfi.config {options.config} not found; set it to the official-format model "
            "YAML of your checkpoint, or null for the published configuration"
        )
    return problems


def _not_a_weights_file(path: Path) -> str | None:
    """Why `path` cannot be a weights file, judged by its first bytes; None if it may be."""
    with open(path, "rb") as f:
        head = f.read(16)
    if path.suffix == ".safetensors":
        size = int.from_bytes(head[:8], "little") if len(head) >= 8 else 0
        if not (0 < size < 100_000_000 and head[8:9] == b"{"):
            return "not a .safetensors file (no header); convert the checkpoint again"
        return None
    # torch.save writes a zip archive (older PyTorch: a pickle stream)
    if not (head.startswith(b"PK\x03\x04") or head.startswith(b"\x80")):
        return (
            "not a PyTorch checkpoint (neither a zip archive nor a pickle; a failed download "
            "saves an HTML page under the file's name); download it again"
        )
    return None


def metrics_device_problems(settings: Settings, gpu_visible: bool) -> list[str]:
    """`metrics.device: cuda` on a machine without a GPU (`gpu_visible`: whether the machine
    the jobs run on has one, `vfi.pipeline.devices.gpu_visible`). Asked only where jobs run
    locally: on a cluster the node that builds the DAG need not have a GPU, its jobs do."""
    if settings.metrics.device != "cuda" or gpu_visible:
        return []
    return [
        "metrics.device is cuda but this machine has no visible NVIDIA GPU (the driver lists "
        "none in /proc/driver/nvidia/gpus, or CUDA_VISIBLE_DEVICES hides them); set "
        "metrics.device: auto or cpu, or run where there is a GPU"
    ]


def preflight_problems(settings: Settings) -> list[str]:
    """Everything about the settings and output folders that stops a run before any job (the
    data are checked by `vfi.data.sequences.discover`)."""
    folders = {"output_dir": Path(settings.output_dir), "results_dir": Path(settings.results_dir)}
    return settings_problems(settings) + [
        str(problem) for problem in output_folder_problems(Path(settings.data_dir), folders)
    ]


def stale_outputs_warning(layout: OutputLayout, sequences: Iterable[str]) -> str | None:
    """A warning about output folders of sequences not in this run, or None.

    A sequence skipped (on_invalid: skip) or removed keeps its old folder, but its scores leave
    every table of the run: say so, rather than let the folder look current."""
    stale = layout.stale_folders(sequences)
    if not stale:
        return None
    names = ", ".join(folder.name for folder in stale)
    remove = " ".join(shlex.quote(str(folder)) for folder in stale)
    return (
        f"{len(stale)} output folder(s) under {layout.output_dir} belong to no sequence of this "
        f"run (skipped, renamed or removed from the data): {names}. Their frames stay on disk, "
        "but their scores are not in results/metrics.csv, summary.csv or the report. If they "
        f"are obsolete, remove them: rm -r {remove}"
    )
