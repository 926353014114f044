"""The workflow follows Snakemake's conventions: lint-clean, and its config is the working
directory's config/config.yaml (so a deployed copy has its own), or the defaults without one."""

from __future__ import annotations

import re

import pytest
import yaml
from support import (
    TINY_CKPT,
    TINY_CONFIG,
    add_sequence,
    run_snakemake,
    write_ifrnet_checkpoint,
    write_pervfi_checkpoint,
)

pytestmark = pytest.mark.workflow


@pytest.fixture
def data(tmp_path):
    folder = tmp_path / "data"
    add_sequence(folder, "seq", [1, 3], gt=[2])
    return folder


def shell_backends(dry_run_output: str) -> set[str]:
    """The backend named in the settings the jobs of a dry run (-p) are given."""
    return set(re.findall(r'"backend": "(\w+)"', dry_run_output))


@pytest.mark.parametrize("backend", ["flow", "ldmvfi", "ifrnet", "pervfi", "flow+blend"])
def test_lint_finds_nothing(tmp_path, data, backend):
    backend, *compare = backend.split("+")  # flow+blend: blend compared with flow
    config = {"data_dir": str(data), "backend": backend, "compare": compare}
    if backend == "ldmvfi":  # adds the checkpoint conversion rule
        config["ldmvfi"] = {"checkpoint": str(TINY_CKPT), "config": str(TINY_CONFIG)}
    if backend == "ifrnet":  # its weights are an input of the model jobs
        weights = write_ifrnet_checkpoint(tmp_path / "IFRNet_S.pth")
        config["ifrnet"] = {"checkpoint": str(weights)}
    if backend == "pervfi":  # two weight files, both inputs of the model jobs
        checkpoint = write_pervfi_checkpoint(tmp_path / "v00.pth", variant="vb")
        config["pervfi"] = {"checkpoint": str(checkpoint), "flow_weights": str(checkpoint)}
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(config))
    result = run_snakemake(tmp_path, "--lint", "--configfile", str(tmp_path / "run.yaml"))
    assert "Congratulations, your workflow is in a good condition!" in result.stdout + result.stderr


def test_without_a_config_file_the_defaults_apply(tmp_path, data):
    result = run_snakemake(tmp_path, "-n", "-p", "--config", f"data_dir={data}")
    assert shell_backends(result.stdout) == {"flow"}


def test_the_working_directorys_config_is_read(tmp_path, data):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text(f"data_dir: {data}\nbackend: blend\n")
    result = run_snakemake(tmp_path, "-n", "-p")
    assert shell_backends(result.stdout) == {"blend"}


def test_configfile_and_config_on_the_command_line_override_it(tmp_path, data):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text(f"data_dir: {data}\nbackend: blend\n")
    (tmp_path / "other.yaml").write_text("backend: flow\nseed: 3\n")
    result = run_snakemake(tmp_path, "-n", "-p", "--configfile", str(tmp_path / "other.yaml"))
    assert shell_backends(result.stdout) == {"flow"} and '"seed": 3' in result.stdout
    result = run_snakemake(tmp_path, "-n", "-p", "--config", "backend=flow")
    assert shell_backends(result.stdout) == {"flow"}
