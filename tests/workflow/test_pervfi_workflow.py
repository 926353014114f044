"""The workflow with the pervfi backend on the fixture generator and random RAFT weights (CPU)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from support import (
    add_lab_data,
    run_snakemake,
    tree_bytes,
    write_pervfi_checkpoint,
    write_raft_weights,
)

from vfi.io.frames import read_frame

pytestmark = pytest.mark.workflow

OUT = Path("eval_results/CustomData")


def test_pervfi_backend_runs_end_to_end_and_reruns_nothing(tmp_path):
    data = tmp_path / "data"
    add_lab_data(data)
    section = {
        "checkpoint": str(write_pervfi_checkpoint(tmp_path / "weights" / "v00.pth")),
        "flow_weights": str(write_raft_weights(tmp_path / "weights" / "raft.pth")),
        "raft_iterations": 2,
    }
    config = tmp_path / "pervfi.yaml"
    settings = {"backend": "pervfi", "data_dir": str(data), "pervfi": section}
    config.write_text(yaml.safe_dump(settings))
    run_snakemake(tmp_path, "--configfile", str(config), "--", "results/metrics.csv")
    out = tmp_path / OUT
    made = read_frame(out / "gen_12bit" / "frame_003.png")
    assert made.shape == (37, 53) and made.dtype == np.uint16 and made.max() < 4096
    assert read_frame(out / "eval" / "interpolated_frames" / "2.png").shape == (40, 56, 3)
    assert "     3 " in (out / "gen-gt" / "metrics.txt").read_text()  # frame 3 is scored
    provenance = json.loads((out / "gen-gt" / "provenance.json").read_text())
    assert provenance["timing"] == "exact"
    (job,) = {json.dumps(j["backend"], sort_keys=True) for j in provenance["jobs"]}
    assert json.loads(job)["variant"] == "v00" and json.loads(job)["heat"] == 0.3
    before = tree_bytes(out)
    again = run_snakemake(tmp_path, "--configfile", str(config), "--", "results/metrics.csv")
    assert "Nothing to be done" in again.stdout + again.stderr
    assert tree_bytes(out) == before
