from pathlib import Path

from support import add_sequence

from vfi.data.layout import OutputLayout
from vfi.data.sequences import discover
from vfi.pipeline.jobs import level_jobs, make_batches


def test_batches_follow_sorted_names(tmp_path):
    for name in ["c", "a", "b"]:
        add_sequence(tmp_path, name, [1, 3])
    batches = make_batches(discover(tmp_path).sequences, 2)
    assert [[s.name for s in b.sequences] for b in batches] == [["a", "b"], ["c"]]


def test_level_job_inputs_are_exactly_the_parents(tmp_path):
    add_sequence(tmp_path, "g", [1, 19])
    (seq,) = discover(tmp_path).sequences
    layout = OutputLayout(Path("out"))
    jobs = level_jobs(make_batches([seq], 8)[0], layout)
    assert [j.level for j in jobs] == [1, 2, 3, 4, 5]
    level2 = jobs[1]
    assert set(level2.outputs) == {Path("out/g/frame_005.png"), Path("out/g/frame_014.png")}
    assert set(level2.inputs) == {seq.known[1], Path("out/g/frame_010.png"), seq.known[19]}
    level5 = jobs[4]
    assert set(level5.inputs) == {Path(f"out/g/frame_{i:03d}.png") for i in (8, 10, 17)} | {
        seq.known[19]
    }


def test_evaluation_frames_go_to_their_subfolder(tmp_path):
    add_sequence(tmp_path, "e", [1, 3], generate=False, gt=[2])
    (seq,) = discover(tmp_path).sequences
    layout = OutputLayout(Path("out"))
    (job,) = level_jobs(make_batches([seq], 8)[0], layout)
    assert job.outputs == (Path("out/e/interpolated_frames/2.png"),)
    assert layout.copied_keyframes(seq) == []
