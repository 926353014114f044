"""Model jobs without snakemake: one intensity mapping per sequence, metadata kept, and a job
record of what each job used."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import tifffile
from support import TINY_CKPT, TINY_CONFIG, add_sequence, tree_bytes

from vfi.data.layout import OutputLayout
from vfi.data.sequences import discover
from vfi.io.frames import read_frame, write_frame
from vfi.pipeline.interpolate import run_level
from vfi.settings import LDMVFISettings, Settings


def twelve_bit_sequence(data, name: str = "dim", indices=(1, 3)) -> None:
    rng = np.random.default_rng(1)
    for i in indices:
        pixels = rng.integers(1500, 1900, (24, 40), dtype=np.uint16, endpoint=True)
        write_frame(data / "input" / name / f"frame_{i:03d}.png", pixels)


def record(layout: OutputLayout, seq, level: int = 1) -> dict:
    return json.loads(layout.job_record(seq, level).read_text())


@pytest.mark.parametrize("backend", ["blend", "flow"])
def test_8_bit_and_full_range_data_are_byte_identical_under_auto_and_raw(tmp_path, backend):
    data = tmp_path / "data"
    add_sequence(data, "grey8", [1, 5], height=24, width=40)
    add_sequence(data, "rgb16", [1, 3], mode="RGB", bit_depth=16, height=24, width=40)
    sequences = discover(data).sequences
    for intensity in ("auto", "raw"):
        settings = Settings(data_dir=str(data), backend=backend, intensity=intensity)
        run_level(sequences, 1, OutputLayout(tmp_path / intensity), settings)
    frames = {k: v for k, v in tree_bytes(tmp_path / "auto").items() if k.endswith(".png")}
    assert len(frames) == 2
    assert frames == {k: v for k, v in tree_bytes(tmp_path / "raw").items() if k.endswith(".png")}
    assert record(OutputLayout(tmp_path / "auto"), sequences[0])["intensity"]["mode"] == "raw"


def test_12_bit_data_are_stretched_and_the_job_records_how(tmp_path):
    data = tmp_path / "data"
    twelve_bit_sequence(data)
    (seq,) = discover(data).sequences
    layout = OutputLayout(tmp_path / "out")
    run_level([seq], 1, layout, Settings(data_dir=str(data), backend="blend"))
    mapping = record(layout, seq)["intensity"]
    assert mapping["mode"] == "stretch" and mapping["ceiling"] == 4095
    assert 1500 <= mapping["low"] < mapping["high"] <= 1900
    made = read_frame(layout.frame(seq, 2))
    assert made.min() >= 1500 and made.max() <= 1900  # a cross-fade stays within its parents


def test_stretch_changes_a_linear_backend_by_at_most_one_grey_level(tmp_path):
    data = tmp_path / "data"
    twelve_bit_sequence(data)
    (seq,) = discover(data).sequences
    made = {}
    for intensity in ("raw", "stretch"):
        layout = OutputLayout(tmp_path / intensity)
        settings = Settings(data_dir=str(data), backend="blend", intensity=intensity)
        run_level([seq], 1, layout, settings)
        made[intensity] = read_frame(layout.frame(seq, 2)).astype(np.int64)
    assert np.abs(made["raw"] - made["stretch"]).max() <= 1


def test_ldmvfi_job_record_says_what_really_ran(tmp_path):
    data = tmp_path / "data"
    twelve_bit_sequence(data)
    (seq,) = discover(data).sequences
    layout = OutputLayout(tmp_path / "out")
    options = LDMVFISettings(checkpoint=str(TINY_CKPT), config=str(TINY_CONFIG), steps=2)
    settings = Settings(data_dir=str(data), backend="ldmvfi", device="cpu", ldmvfi=options)
    run_level([seq], 1, layout, settings)
    job = record(layout, seq)
    backend = job["backend"]
    assert backend["name"] == "ldmvfi" and backend["precision"] == "fp32"  # auto on a CPU
    assert backend["steps"] == 2 and backend["sampler_steps"] == 2 and backend["eta"] == 1.0
    assert job["device"] == {"type": "cpu", "index": None}
    assert job["intensity"]["mode"] == "stretch"
    assert {"torch", "cuda", "numpy", "vfi", "python"} <= set(job["software"])
    made = read_frame(layout.frame(seq, 2))
    assert made.max() <= 4095  # clipped to the sequence's 12-bit full scale


def test_generated_tiff_frames_keep_the_keyframes_pixel_size(tmp_path):
    data = tmp_path / "data"
    folder = data / "input" / "t"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in (1, 3):
        tifffile.imwrite(
            folder / f"frame_{i:03d}.tif",
            rng.integers(0, 255, (24, 40), dtype=np.uint8),
            imagej=True,
            resolution=(1 / 0.325, 1 / 0.325),
            metadata={"unit": "micron"},
        )
    (seq,) = discover(data).sequences
    layout = OutputLayout(tmp_path / "out")
    run_level([seq], 1, layout, Settings(data_dir=str(data), backend="blend"))
    with tifffile.TiffFile(layout.frame(seq, 2)) as made, tifffile.TiffFile(seq.known[1]) as key:
        assert made.pages[0].resolution == key.pages[0].resolution
        assert made.imagej_metadata["unit"] == "micron"


def test_a_sequences_mapping_comes_from_its_known_frames_only(tmp_path):
    """Every level of a sequence uses the same mapping, whatever frames were made before."""
    data = tmp_path / "data"
    twelve_bit_sequence(data, indices=(1, 5))
    (seq,) = discover(data).sequences
    layout = OutputLayout(tmp_path / "out")
    settings = Settings(data_dir=str(data), backend="blend")
    run_level([seq], 1, layout, settings)
    run_level([seq], 2, layout, replace(settings))
    assert record(layout, seq, 1)["intensity"] == record(layout, seq, 2)["intensity"]


def test_a_cpu_backend_claims_no_gpu_whatever_device_says(tmp_path):
    data = tmp_path / "data"
    add_sequence(data, "s", [1, 3])
    (seq,) = discover(data).sequences
    layout = OutputLayout(tmp_path / "out")
    # device: cuda fails on a machine without a GPU, and on one with GPUs would claim one
    settings = Settings(data_dir=str(data), backend="flow", device="cuda")
    assert run_level([seq], 1, layout, settings) == 1
    assert record(layout, seq)["device"] == {"type": "cpu", "index": None}
