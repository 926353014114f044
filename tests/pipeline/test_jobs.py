from pathlib import Path

from support import add_sequence

from vfi.data.layout import OutputLayout
from vfi.data.sequences import discover
from vfi.pipeline.jobs import Made, copy_jobs, job_name, level_jobs, make_batches

NOTHING_EXISTS = lambda path: False  # noqa: E731


def test_batches_follow_sorted_names(tmp_path):
    for name in ["c", "a", "b"]:
        add_sequence(tmp_path, name, [1, 3])
    batches = make_batches(discover(tmp_path).sequences, 2)
    assert [[s.name for s in b] for b in batches] == [["a", "b"], ["c"]]


def test_level_job_inputs_are_exactly_the_parents(tmp_path):
    add_sequence(tmp_path, "g", [1, 19])
    (seq,) = discover(tmp_path).sequences
    jobs = level_jobs([seq], 8, OutputLayout(Path("out")), NOTHING_EXISTS)
    assert [j.level for j in jobs] == [1, 2, 3, 4, 5]
    level2 = jobs[1]
    assert set(level2.outputs) == {
        Path("out/g/frame_005.png"),
        Path("out/g/frame_014.png"),
        Path("out/g/.provenance/level_2.json"),
    }
    assert set(level2.inputs) == {seq.known[1], Path("out/g/frame_010.png"), seq.known[19]}
    level5 = jobs[4]
    assert set(level5.inputs) == {Path(f"out/g/frame_{i:03d}.png") for i in (8, 10, 17)} | {
        seq.known[19]
    }


def test_evaluation_frames_go_to_their_subfolder(tmp_path):
    add_sequence(tmp_path, "e", [1, 3], generate=False, gt=[2])
    (seq,) = discover(tmp_path).sequences
    layout = OutputLayout(Path("out"))
    (job,) = level_jobs([seq], 8, layout, NOTHING_EXISTS)
    assert job.outputs == (
        Path("out/e/interpolated_frames/2.png"),
        Path("out/e/.provenance/level_1.json"),
    )
    assert layout.copied_keyframes(seq) == []
    assert copy_jobs([seq], 8, layout, NOTHING_EXISTS) == []


def records_of(jobs) -> dict:
    """What the job records of finished jobs would say: (sequence, level) -> Made."""
    return {
        (name, job.level): Made(job.name, job.sequences) for job in jobs for name in job.sequences
    }


def after(jobs, sequences, layout, plan=level_jobs):
    """The jobs planned once `jobs` have finished (all their outputs exist)."""
    finished = {path for job in jobs for path in job.outputs}
    made = records_of(jobs)
    return plan(
        sequences,
        2,
        layout,
        finished.__contains__,
        lambda seq, level: made.get((seq.name, level)),
    )


def test_a_new_sequence_never_joins_a_job_of_finished_ones(tmp_path):
    for name in ["a", "c", "e"]:
        add_sequence(tmp_path, name, [1, 3])
    layout = OutputLayout(Path("out"))
    before = level_jobs(discover(tmp_path).sequences, 2, layout, NOTHING_EXISTS)
    add_sequence(tmp_path, "b", [1, 3])
    planned = after(before, discover(tmp_path).sequences, layout)
    assert [job.sequences for job in before] == [("a", "c"), ("e",)]
    assert [job.sequences for job in planned] == [("a", "c"), ("e",), ("b",)]
    assert planned[:2] == before  # same names (so logs and benchmarks), inputs and outputs
    assert planned[2].name == job_name(1, "b")


def test_a_removed_sequence_leaves_its_batch_mates_in_their_job(tmp_path):
    for name in ["a", "c", "e"]:
        add_sequence(tmp_path, name, [1, 3])
    layout = OutputLayout(Path("out"))
    before = level_jobs(discover(tmp_path).sequences, 2, layout, NOTHING_EXISTS)
    remaining = [s for s in discover(tmp_path).sequences if s.name != "c"]
    planned = after(before, remaining, layout)
    assert [(job.name, job.sequences) for job in planned] == [
        (before[0].name, ("a",)),
        (before[1].name, ("e",)),
    ]
    assert set(planned[0].outputs) < set(before[0].outputs)


def test_sequences_with_work_left_are_batched_anew(tmp_path):
    for name in ["a", "b", "c", "d"]:
        add_sequence(tmp_path, name, [1, 3])
    layout = OutputLayout(Path("out"))
    sequences = discover(tmp_path).sequences
    before = level_jobs(sequences, 2, layout, NOTHING_EXISTS)  # [a, b], [c, d]
    half = [job for job in before if "a" in job.sequences]
    finished = {p for p in half[0].outputs if "/b/" not in str(p)}  # b's frame got lost
    made = records_of(half)
    planned = level_jobs(
        sequences, 2, layout, finished.__contains__, lambda seq, level: made.get((seq.name, level))
    )
    assert [job.sequences for job in planned] == [("a",), ("b", "c"), ("d",)]


def test_job_names_are_identifiers_that_depend_on_the_first_sequence_only():
    assert job_name(3, "gen_gray8-A1").startswith("interpolate_level3_gen_gray8_A1_")
    assert job_name(0, "pos 0/ü").startswith("copy_keyframes_pos_0_")
    assert job_name(1, "a-b") != job_name(1, "a_b")
    assert all(job_name(1, name).isidentifier() for name in ("007", "é", "--"))


def test_keyframe_copies_of_finished_sequences_keep_their_job(tmp_path):
    for name in ["a", "c"]:
        add_sequence(tmp_path, name, [1, 3])
    layout = OutputLayout(Path("out"))
    before = copy_jobs(discover(tmp_path).sequences, 8, layout, NOTHING_EXISTS)
    add_sequence(tmp_path, "b", [1, 3])
    finished = {path for job in before for path in job.outputs}
    made = records_of(before)
    planned = copy_jobs(
        discover(tmp_path).sequences,
        8,
        layout,
        finished.__contains__,
        lambda seq, level: made.get((seq.name, level)),
    )
    assert [job.sequences for job in planned] == [("a", "c"), ("b",)]
    assert planned[0] == before[0]
    assert Path("out/b/.provenance/level_0.json") in planned[1].outputs


def test_compare_jobs_carry_their_prefix_and_keep_their_job_when_resumed(tmp_path):
    for name in ["a", "c"]:
        add_sequence(tmp_path, name, [1, 3])
    layout = OutputLayout(Path("results/compare/blend"))
    sequences = discover(tmp_path).sequences
    before = level_jobs(sequences, 8, layout, NOTHING_EXISTS, name_prefix="compare_blend_")
    assert [job.name for job in before] == [job_name(1, "a", "compare_blend_")]
    assert before[0].name.startswith("compare_blend_interpolate_level1_a_")
    finished = {path for job in before for path in job.outputs}
    made = records_of(before)
    add_sequence(tmp_path, "b", [1, 3])
    planned = level_jobs(
        discover(tmp_path).sequences,
        8,
        layout,
        finished.__contains__,
        lambda seq, level: made.get((seq.name, level)),
        name_prefix="compare_blend_",
    )
    assert planned[0] == before[0] and planned[1].sequences == ("b",)
