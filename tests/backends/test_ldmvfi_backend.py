"""The ldmvfi backend through the pipeline, on the tiny fixture checkpoint (CPU)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from support import add_sequence, tree_bytes

from vfi.dataset import discover
from vfi.layout import OutputLayout
from vfi.pipeline import run_level
from vfi.settings import LDMVFISettings, Settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ldmvfi"


@pytest.fixture(scope="module")
def tiny_settings() -> Settings:
    return Settings(
        backend="ldmvfi",
        device="cpu",
        ldmvfi=LDMVFISettings(
            checkpoint=str(FIXTURES / "tiny.ckpt"),
            config=str(FIXTURES / "tiny_config.yaml"),
            steps=2,
        ),
    )


def test_frame_bytes_do_not_depend_on_batch_composition(tmp_path, tiny_settings):
    data = tmp_path / "data"
    add_sequence(data, "a", [1, 3], height=24, width=40)
    add_sequence(data, "b", [1, 3], height=24, width=40, mode="RGB")
    sequences = discover(data).sequences
    together, alone = tmp_path / "together", tmp_path / "alone"
    settings = replace(tiny_settings, data_dir=str(data))
    run_level(sequences, 1, OutputLayout(together), settings)
    for seq in sequences:
        run_level([seq], 1, OutputLayout(alone), settings)
    assert tree_bytes(together) == tree_bytes(alone)
    assert len(tree_bytes(together)) == 2


def test_ldmvfi_refuses_times_other_than_the_midpoint(tmp_path, tiny_settings):
    data = tmp_path / "data"
    add_sequence(data, "a", [1, 3], height=24, width=40)
    settings = replace(tiny_settings, data_dir=str(data), timing="exact")
    with pytest.raises(ValueError, match="timing: exact needs a backend"):
        run_level(discover(data).sequences, 1, OutputLayout(tmp_path / "out"), settings)


def test_missing_checkpoint_says_where_to_get_it(tmp_path, tiny_settings):
    data = tmp_path / "data"
    add_sequence(data, "a", [1, 3])
    settings = replace(
        tiny_settings,
        data_dir=str(data),
        ldmvfi=LDMVFISettings(checkpoint=str(tmp_path / "x.ckpt")),
    )
    with pytest.raises(FileNotFoundError, match="danier97/LDMVFI"):
        run_level(discover(data).sequences, 1, OutputLayout(tmp_path / "out"), settings)
