from dataclasses import replace
from pathlib import Path

import pytest
from support import add_sequence

from vfi.data.layout import OutputLayout
from vfi.data.sequences import discover
from vfi.pipeline.batching import Budget, budget_for, gpu_count, parallel_jobs
from vfi.pipeline.jobs import Made, level_jobs, make_batches
from vfi.settings import Settings

NOTHING_EXISTS = lambda path: False  # noqa: E731
LAYOUT = OutputLayout(Path("out"))


def generation_sequences(tmp_path, names, **size):
    """Sequences with keyframes 1 and 19: 1, 2, 4, 8 and 2 frames at levels 1 to 5."""
    for name in names:
        add_sequence(tmp_path, name, [1, 19], **size)
    return discover(tmp_path).sequences


def members_by_level(jobs) -> dict[int, list[tuple[str, ...]]]:
    by_level: dict[int, list[tuple[str, ...]]] = {}
    for job in jobs:
        by_level.setdefault(job.level, []).append(job.sequences)
    return by_level


def test_auto_makes_one_job_per_level_of_all_sequences(tmp_path):
    sequences = generation_sequences(tmp_path, "abcde")
    jobs = level_jobs(sequences, "auto", LAYOUT, NOTHING_EXISTS)
    assert members_by_level(jobs) == {level: [tuple("abcde")] for level in range(1, 6)}


def test_auto_splits_a_level_that_exceeds_max_frames(tmp_path):
    sequences = generation_sequences(tmp_path, "abcde")
    budget = Budget(max_frames=16)
    jobs = members_by_level(level_jobs(sequences, "auto", LAYOUT, NOTHING_EXISTS, budget=budget))
    assert jobs[1] == [tuple("abcde")]  # 5 frames
    assert jobs[4] == [("a", "b"), ("c", "d"), ("e",)]  # 8 frames each


def test_auto_splits_by_megapixels_of_the_frames_made(tmp_path):
    sequences = generation_sequences(tmp_path, "abcd", height=100, width=100)
    budget = Budget(max_megapixels=0.04)  # four frames of 100x100
    jobs = members_by_level(level_jobs(sequences, "auto", LAYOUT, NOTHING_EXISTS, budget=budget))
    assert jobs[1] == [tuple("abcd")]
    assert jobs[2] == [("a", "b"), ("c", "d")]


def test_a_sequence_over_the_budget_alone_gets_a_job_of_its_own(tmp_path):
    sequences = generation_sequences(tmp_path, "abc")
    jobs = level_jobs(sequences, "auto", LAYOUT, NOTHING_EXISTS, budget=Budget(max_frames=3))
    assert members_by_level(jobs)[4] == [("a",), ("b",), ("c",)]


def test_auto_splits_each_level_into_parallel_jobs_of_similar_size(tmp_path):
    sequences = generation_sequences(tmp_path, "abcde")
    jobs = level_jobs(sequences, "auto", LAYOUT, NOTHING_EXISTS, budget=Budget(parallel=2))
    assert members_by_level(jobs)[3] == [("a", "b", "c"), ("d", "e")]


def test_explicit_batch_sizes_are_unchanged_by_a_budget(tmp_path):
    sequences = generation_sequences(tmp_path, "abcde")
    budget = Budget(max_frames=1, parallel=5)
    jobs = level_jobs(sequences, 2, LAYOUT, NOTHING_EXISTS, budget=budget)
    expected = [tuple(s.name for s in b) for b in make_batches(sequences, 2)]
    assert members_by_level(jobs) == {level: expected for level in range(1, 6)}


def test_a_batch_size_that_is_neither_a_number_nor_auto_is_refused(tmp_path):
    sequences = generation_sequences(tmp_path, "a")
    with pytest.raises(ValueError, match="batch_size must be a number or 'auto', got 'eight'"):
        level_jobs(sequences, "eight", LAYOUT, NOTHING_EXISTS)


def test_with_auto_a_new_sequence_gets_new_jobs_and_finished_jobs_stay(tmp_path):
    sequences = generation_sequences(tmp_path, "ace")
    before = level_jobs(sequences, "auto", LAYOUT, NOTHING_EXISTS)
    finished = {path for job in before for path in job.outputs}
    made = {(name, j.level): Made(j.name, j.sequences) for j in before for name in j.sequences}
    sequences = generation_sequences(tmp_path, "b")
    planned = level_jobs(
        sequences,
        "auto",
        LAYOUT,
        finished.__contains__,
        lambda seq, level: made.get((seq.name, level)),
    )
    assert [job for job in planned if job.sequences != ("b",)] == before
    assert [job.level for job in planned if job.sequences == ("b",)] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    ("setting", "uses_gpu", "device", "expected"),
    [
        ("auto", True, "auto", 4),
        ("auto", True, "cuda", 4),
        ("auto", True, "cuda:1", 1),  # one named GPU: jobs would share it
        ("auto", True, "cpu", 1),
        ("auto", False, "auto", 1),  # flow, blend: CPU jobs
        (3, False, "cpu", 3),
    ],
)
def test_parallel_auto_is_one_job_per_gpu_for_backends_that_claim_one(
    setting, uses_gpu, device, expected
):
    assert parallel_jobs(setting, uses_gpu, device, gpus=4) == expected


def test_parallel_auto_is_one_job_without_a_gpu():
    assert parallel_jobs("auto", True, "auto", gpus=0) == 1


@pytest.mark.parametrize(
    ("visible", "expected"), [(None, 4), ("0,2", 2), ("", 0), ("-1", 0), ("0,1,2,3,4,5", 4)]
)
def test_gpu_count_follows_the_driver_and_cuda_visible_devices(tmp_path, visible, expected):
    for index in range(4):
        (tmp_path / f"0000:0{index}:00.0").mkdir()
    environ = {} if visible is None else {"CUDA_VISIBLE_DEVICES": visible}
    assert gpu_count(environ, tmp_path) == expected


def test_gpu_count_is_zero_without_the_nvidia_driver(tmp_path):
    assert gpu_count({}, tmp_path / "missing") == 0


def test_budget_comes_from_the_model_jobs_settings():
    settings = Settings(backend="ldmvfi")
    settings = replace(
        settings, model_jobs=replace(settings.model_jobs, max_frames=100, max_megapixels=2.5)
    )
    assert budget_for(settings, gpus=2) == Budget(max_frames=100, max_megapixels=2.5, parallel=2)
    flow = replace(settings, backend="flow")
    assert budget_for(flow, gpus=2).parallel == 1


def test_auto_is_the_default_batch_size():
    assert Settings().batch_size == "auto"
    assert Settings.from_mapping({"batch_size": 8}).batch_size == 8
