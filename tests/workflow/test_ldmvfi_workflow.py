"""The workflow with the ldmvfi backend on the tiny fixture checkpoint (real model code, CPU)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from support import TINY_CKPT, TINY_CONFIG, add_sequence, run_snakemake

from vfi.io.frames import read_frame

pytestmark = pytest.mark.workflow


def tiny_config(tmp_path: Path, **ldmvfi) -> Path:
    config = {
        "backend": "ldmvfi",
        "ldmvfi": {
            "checkpoint": str(TINY_CKPT),
            "config": str(TINY_CONFIG),
            "steps": 4,
            **ldmvfi,
        },
    }
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_ldmvfi_backend_runs_end_to_end(tmp_path):
    data = tmp_path / "data"
    add_sequence(data, "gen-1", [1, 5], gt=[3], height=40, width=56)
    add_sequence(
        data,
        "eval_2",
        [1, 3],
        generate=False,
        gt=[2],
        mode="RGB",
        bit_depth=16,
        height=40,
        width=56,
    )
    config = tiny_config(tmp_path)
    run_snakemake(tmp_path, "--configfile", str(config), "--config", f"data_dir={data}")
    out = tmp_path / "eval_results" / "CustomData"
    frames = [out / "gen-1" / f"frame_00{i}.png" for i in (2, 3, 4)]
    frames.append(out / "eval_2" / "interpolated_frames" / "2.png")
    for path in frames:
        assert read_frame(path).shape[:2] == (40, 56)
    assert read_frame(frames[-1]).dtype == np.uint16
    assert (tmp_path / "results" / "weights" / "tiny.safetensors").is_file()
    provenance = json.loads((out / "gen-1" / "provenance.json").read_text())
    assert provenance["timing"] == "midpoint"
    assert [f["time"] for f in provenance["frames"]] == [0.5, 0.5, 0.5]
    (log_file,) = (tmp_path / "results" / "logs").glob("interpolate_level1_*.log")
    log = log_file.read_text()
    assert "DDIM step 4/4" in log


def dry_run(workdir: Path, config: Path, data: Path):
    return run_snakemake(
        workdir, "-n", "--configfile", str(config), "--config", f"data_dir={data}", check=False
    )


def test_missing_checkpoint_stops_before_any_job(tmp_path, demo_data):
    config = tiny_config(tmp_path, checkpoint=str(tmp_path / "nope.ckpt"))
    result = dry_run(tmp_path, config, demo_data)
    text = result.stdout + result.stderr
    assert result.returncode != 0
    assert "nope.ckpt not found" in text and "ldmvfi.checkpoint" in text


def test_step_count_outside_the_schedule_stops_before_any_job(tmp_path, demo_data):
    config = tiny_config(tmp_path, steps=3)
    result = dry_run(tmp_path, config, demo_data)
    assert result.returncode != 0
    assert "ldmvfi.steps: 3 DDIM steps" in result.stdout + result.stderr
