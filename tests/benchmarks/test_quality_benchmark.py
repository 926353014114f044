"""benchmarks/quality.py builds the test sets the workflow would see and compares fairly."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from vfi.data.demo import render_sequence
from vfi.data.sequences import discover
from vfi.io.frames import write_frame

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "quality.py"


@pytest.fixture(scope="module")
def quality():
    spec = importlib.util.spec_from_file_location("quality_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def write_movie(folder: Path, frames: int) -> None:
    for i, frame in enumerate(render_sequence(frames, 24, 32, False, 8, seed=frames), start=1):
        write_frame(folder / f"t{i:04d}.png", frame)


def test_sets_are_odd_even_triplets_and_19_frame_windows(quality, tmp_path):
    write_movie(tmp_path / "movies" / "lab" / "long", 40)  # windows 1-19, 19-37
    write_movie(tmp_path / "movies" / "lab" / "short", 6)  # no window; last even frame unused
    sources = quality.source_sequences(tmp_path / "movies")
    quality.build_sets(sources, tmp_path / "sets", scale=1.0, limit=0)
    triplets = {s.name: s for s in discover(tmp_path / "sets" / "triplets").sequences}
    assert sorted(triplets["lab__long"].scored) == list(range(2, 40, 2))
    assert sorted(triplets["lab__short"].scored) == [2, 4]
    windows = {s.name: s for s in discover(tmp_path / "sets" / "hierarchy").sequences}
    assert sorted(windows) == ["lab__long__w001", "lab__long__w019"]
    assert sorted(windows["lab__long__w019"].scored) == list(range(2, 19))


def test_scaled_sets_keep_the_bit_depth(quality, tmp_path):
    write_movie(tmp_path / "movies" / "lab" / "seq", 5)
    quality.build_sets(quality.source_sequences(tmp_path / "movies"), tmp_path / "sets", 0.5, 0)
    (seq,) = discover(tmp_path / "sets" / "triplets").sequences
    assert (seq.info.height, seq.info.width, seq.info.bit_depth) == (12, 16, 8)


def rows(values: dict[str, list[float]]) -> list[dict]:
    return [
        {"sequence": name, "frame": i, "psnr": v}
        for name, vs in values.items()
        for i, v in enumerate(vs)
    ]


def test_paired_difference_interval_excludes_zero_for_a_gain_in_every_sequence(quality):
    rng = np.random.default_rng(0)
    reference = {f"s{k}": list(rng.normal(30, 2, 10)) for k in range(8)}
    better = {name: [v + 0.5 + rng.normal(0, 0.1) for v in vs] for name, vs in reference.items()}
    mean, low, high = quality.paired_difference(rows(better), rows(reference), "psnr")
    assert mean == pytest.approx(0.5, abs=0.05) and low > 0


def test_paired_difference_interval_includes_zero_when_sequences_disagree(quality):
    reference = {f"s{k}": [30.0] * 10 for k in range(8)}
    mixed = {name: [30.0 + (1 if k % 2 else -1)] * 10 for k, name in enumerate(reference)}
    mean, low, high = quality.paired_difference(rows(mixed), rows(reference), "psnr")
    assert mean == pytest.approx(0.0) and low < 0 < high


def test_windows_of_one_movie_are_resampled_together(quality):
    assert quality.sequence_group("lab__long__w019") == quality.sequence_group("lab__long__w001")


def test_temporal_column_shows_made_frames_smoother_than_noisy_truth(quality, tmp_path):
    """Made frames carry less noise than recorded ones, so consecutive output frames differ
    less than consecutive true frames: the temporal column is above 0, one value a sequence."""
    rng = np.random.default_rng(1)
    for i, frame in enumerate(render_sequence(7, 48, 64, False, 16, seed=2), start=1):
        noisy = np.clip(frame + rng.normal(0, 2000, frame.shape), 0, 65535).astype(np.uint16)
        write_frame(tmp_path / "movies" / "lab" / "seq" / f"t{i}.png", noisy)
    quality.build_sets(quality.source_sequences(tmp_path / "movies"), tmp_path / "sets", 1.0, 0)
    for spec in ("blend", "flow"):
        rows = quality.run_candidate(quality.Candidate.parse(spec), tmp_path / "sets" / "triplets")
        assert len({r["temporal"] for r in rows}) == 1
        assert quality._temporal(rows) > 1.0


def test_cached_results_are_redone_when_the_scoring_loop_changes(quality, monkeypatch):
    candidate = quality.Candidate.parse("blend")
    before = candidate.fingerprint()

    def run_candidate(candidate, data_dir):  # another loop
        return []

    monkeypatch.setattr(quality, "run_candidate", run_candidate)
    assert candidate.fingerprint() != before


def test_disturbance_adds_flicker_drift_and_shot_noise_reproducibly(quality):
    frame = np.full((64, 64), 20000, np.uint16)
    frame[30:34, 30:34] = 60000  # a bright spot to follow
    disturbance = quality.Disturbance.parse("flicker=0.7,drift=5,photons=1000")
    first = disturbance.apply("lab__seq", [frame] * 6)
    again = disturbance.apply("lab__seq", [frame] * 6)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert first[0].dtype == np.uint16
    spots = [
        np.argwhere(f == f.max())[0] for f in quality.Disturbance(drift=5).apply("s", [frame] * 6)
    ]
    steps = [np.hypot(*(b - a)) for a, b in zip(spots, spots[1:], strict=False)]
    assert all(3 <= s <= 7 for s in steps)  # 5 px a frame, rounded to whole pixels
    background = np.array([f[:20, :20].mean() for f in first])
    assert background.min() > 0.65 * 20000 and background.max() < 1.02 * 20000
    assert background.max() / background.min() > 1.05  # exposures differ
    noise = first[0][:20, :20].astype(float).std()
    expected = np.sqrt(background[0] * 65535 / 1000)  # Poisson: variance = mean in photons
    assert 0.7 * expected < noise < 1.3 * expected
