"""The same bytes from two separate processes: nothing may depend on process state (hash
seeds, memory addresses, import order), only on the settings, the data and the frame's seed."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace

import pytest
from support import TINY_CKPT, TINY_CONFIG, add_sequence, tree_bytes

from vfi.settings import LDMVFISettings, Settings


def interpolate_in_a_new_process(settings: Settings, hash_seed: str) -> None:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    command = [sys.executable, "-m", "vfi", "interpolate", "--settings-json", settings.to_json()]
    command += ["--level", "1", "--sequences", "grey", "rgb"]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("backend", ["flow", "ldmvfi"])
def test_two_processes_write_the_same_bytes(tmp_path, backend):
    data = tmp_path / "data"
    add_sequence(data, "grey", [1, 3], bit_depth=16, height=24, width=40)
    add_sequence(data, "rgb", [1, 5], mode="RGB", height=24, width=40)
    settings = Settings(
        data_dir=str(data),
        backend=backend,
        device="cpu",
        ldmvfi=LDMVFISettings(checkpoint=str(TINY_CKPT), config=str(TINY_CONFIG), steps=2),
    )
    outputs = []
    for run, hash_seed in (("first", "1"), ("second", "2")):
        folder = tmp_path / run
        interpolate_in_a_new_process(replace(settings, output_dir=str(folder)), hash_seed)
        outputs.append(tree_bytes(folder))
    assert sorted(outputs[0]) == [
        "grey/.provenance/level_1.json",
        "grey/frame_002.png",
        "rgb/.provenance/level_1.json",
        "rgb/frame_003.png",
    ]
    assert outputs[0] == outputs[1]
