"""The workflow end to end with the flow backend at exact times (the real snakemake binary)."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest
from support import run_snakemake

from vfi.data.demo import render_sequence
from vfi.io.frames import read_frame, write_frame

pytestmark = pytest.mark.workflow


def test_flow_backend_runs_end_to_end_at_exact_times(tmp_path):
    data = tmp_path / "data"
    frames = render_sequence(4, 32, 48, rgb=False, bit_depth=16, seed=4)
    for index in (1, 4):
        write_frame(data / "input" / "cells" / f"frame_{index:03d}.png", frames[index - 1])
    write_frame(data / "gt" / "cells" / "frame_002.png", frames[1])
    run_snakemake(tmp_path, "--config", f"data_dir={data}", "backend=flow", "timing=exact")
    out = tmp_path / "eval_results" / "CustomData" / "cells"
    for index in (2, 3):
        made = read_frame(out / f"frame_{index:03d}.png")
        assert made.shape == (32, 48) and made.dtype == np.uint16
    provenance = json.loads((out / "provenance.json").read_text())
    assert provenance["backend"] == "flow" and provenance["timing"] == "exact"
    times = {f["frame"]: (f["parents"], f["time"]) for f in provenance["frames"]}
    # frame 2 of parents 1 and 4 lies at 1/3 (midpoint timing would ask for 1/2)
    assert times[2][0] == [1, 4] and Fraction(times[2][1]).limit_denominator() == Fraction(1, 3)
    assert times[3] == ([2, 4], 0.5)
    rows = (out / "metrics.csv").read_text().splitlines()
    assert len(rows) == 2 and rows[1].startswith("cells,generate,2,")
