"""A lab runs the workflow from its own data folder, outside this repository (README)."""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml
from support import ROOT, SNAKEFILE, SNAKEMAKE, add_sequence

pytestmark = pytest.mark.workflow


def test_run_from_a_data_folder_outside_the_clone_keeps_everything_there(tmp_path):
    lab = tmp_path / "lab"
    add_sequence(lab / "customdata", "gen", [1, 5], gt=[3])
    add_sequence(lab / "customdata", "eval", [1, 3], generate=False, gt=[2], mode="RGB")
    (lab / "config").mkdir()
    (lab / "config" / "config.yaml").write_text(yaml.safe_dump({"backend": "blend"}))
    assert not lab.is_relative_to(ROOT)
    result = subprocess.run(
        [str(SNAKEMAKE), "-s", str(SNAKEFILE), "--cores", "2", "results/metrics.csv"],
        cwd=lab,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = lab / "eval_results" / "CustomData"
    assert (out / "gen" / "frame_003.png").is_file()
    assert (out / "eval" / "interpolated_frames" / "2.png").is_file()
    assert len((lab / "results" / "metrics.csv").read_text().splitlines()) == 3  # header + 2
    assert list((lab / "results" / "logs").rglob("*.log"))
    assert (lab / ".snakemake").is_dir()
    # the folder's own config/config.yaml was read
    assert json.loads((out / "gen" / "provenance.json").read_text())["backend"] == "blend"
