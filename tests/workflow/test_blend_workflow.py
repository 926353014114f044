"""The workflow end to end with the blend backend: frames equal the cross-fade computed here."""

from __future__ import annotations

import json

import numpy as np
import pytest
from support import add_sequence, run_snakemake

from vfi.io.frames import read_frame

pytestmark = pytest.mark.workflow


def test_blend_backend_makes_the_exact_time_cross_fade_of_the_parents(tmp_path):
    data = tmp_path / "data"
    add_sequence(data, "grey16", [1, 4], bit_depth=16, gt=[2])
    add_sequence(data, "rgb8", [1, 3], generate=False, mode="RGB", gt=[2])
    run_snakemake(tmp_path, "--config", f"data_dir={data}", "backend=blend")
    out = tmp_path / "eval_results" / "CustomData"
    first, last = (read_frame(data / "input" / "grey16" / f"frame_00{i}.png") for i in (1, 4))
    made2 = read_frame(out / "grey16" / "frame_002.png")
    # frame 2 lies at t = 1/3 between 1 and 4; frame 3 then at t = 1/2 between 2 and 4
    expected2 = np.rint(first + (last.astype(np.float64) - first) / 3)
    assert np.abs(made2.astype(np.int64) - expected2).max() <= 1
    made3 = read_frame(out / "grey16" / "frame_003.png")
    expected3 = np.rint((made2.astype(np.float64) + last) / 2)
    assert np.abs(made3.astype(np.int64) - expected3).max() <= 1
    a, b = (read_frame(data / "input" / "rgb8" / f"{i}.png") for i in (1, 3))
    made = read_frame(out / "rgb8" / "interpolated_frames" / "2.png")
    assert made.shape == a.shape
    assert np.abs(made.astype(np.int64) - np.rint((a.astype(np.float64) + b) / 2)).max() <= 1
    provenance = json.loads((out / "grey16" / "provenance.json").read_text())
    assert provenance["backend"] == "blend" and provenance["timing"] == "exact"
    assert (tmp_path / "results" / "metrics.csv").read_text().count("\n") == 3
