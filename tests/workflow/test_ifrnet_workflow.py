"""The workflow with the ifrnet backend on checkpoints made of the fixture weights (CPU)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from support import add_lab_data, add_sequence, run_snakemake, tree_bytes, write_ifrnet_checkpoint

from vfi.io.frames import read_frame

pytestmark = pytest.mark.workflow

OUT = Path("eval_results/CustomData")


def config_file(folder: Path, checkpoint: Path, data: Path) -> Path:
    path = folder / "ifrnet.yaml"
    config = {"backend": "ifrnet", "data_dir": str(data), "ifrnet": {"checkpoint": str(checkpoint)}}
    path.write_text(yaml.safe_dump(config))
    return path


def test_ifrnet_backend_runs_end_to_end_at_exact_times_and_reruns_nothing(tmp_path):
    data = tmp_path / "data"
    add_lab_data(data)
    weights = write_ifrnet_checkpoint(tmp_path / "weights" / "IFRNet_S_GoPro.pth")
    config = config_file(tmp_path, weights, data)
    run_snakemake(tmp_path, "--configfile", str(config), "--", "results/metrics.csv")
    out = tmp_path / OUT
    made = read_frame(out / "gen_12bit" / "frame_003.png")
    assert made.shape == (37, 53) and made.dtype == np.uint16 and made.max() < 4096
    assert read_frame(out / "eval" / "interpolated_frames" / "2.png").shape == (40, 56, 3)
    provenance = json.loads((out / "gen-gt" / "provenance.json").read_text())
    assert provenance["timing"] == "exact"
    (job,) = {json.dumps(j["backend"], sort_keys=True) for j in provenance["jobs"]}
    assert json.loads(job)["variant"] == "IFRNet_S" and json.loads(job)["time_input"] is True
    before = tree_bytes(out)
    again = run_snakemake(tmp_path, "--configfile", str(config), "--", "results/metrics.csv")
    assert "Nothing to be done" in again.stdout + again.stderr
    assert tree_bytes(out) == before


def test_vimeo_weights_make_midpoints_and_exact_timing_is_refused(tmp_path):
    data = tmp_path / "data"
    add_sequence(data, "gen", [1, 5], height=32, width=48)
    weights = tmp_path / "IFRNet_S_Vimeo90K.pth"
    config = config_file(tmp_path, write_ifrnet_checkpoint(weights, time_input=False), data)
    refused = run_snakemake(
        tmp_path, "-n", "--configfile", str(config), "--config", "timing=exact", check=False
    )
    assert refused.returncode != 0 and "midpoints only" in refused.stdout + refused.stderr
    run_snakemake(tmp_path, "--configfile", str(config), "--", "results/metrics.csv")
    provenance = json.loads((tmp_path / OUT / "gen" / "provenance.json").read_text())
    assert provenance["timing"] == "midpoint"
    assert [f["time"] for f in provenance["frames"]] == [0.5, 0.5, 0.5]
