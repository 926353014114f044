from pathlib import Path

import pytest
from support import add_sequence, make_frame

from vfi.data.naming import FramePatterns
from vfi.data.sequences import DataError, discover
from vfi.io.frames import write_frame


def problems_text(data_dir: Path, **kwargs) -> str:
    return "\n".join(str(p) for p in discover(data_dir, **kwargs).problems)


def test_demo_data_has_both_modes(demo_data):
    found = discover(demo_data)
    assert not found.problems
    modes = {s.name: s.mode for s in found.sequences}
    assert modes["gen_gray8-A1"] == "generate"
    assert modes["eval_gray8-D4"] == "evaluate"
    assert [s.name for s in found.sequences] == sorted(modes)


def test_generation_sequence_targets_and_ground_truth(tmp_path):
    add_sequence(tmp_path, "s-1_a", [1, 19], gt=[10, 5])
    (seq,) = discover(tmp_path).sequences
    assert seq.targets[:3] == [10, 5, 14]
    assert sorted(seq.targets) == list(range(2, 19))
    assert sorted(seq.scored) == [5, 10]
    assert seq.naming.filename(7) == "frame_007.png"


def test_several_keyframes_are_generalised(tmp_path):
    add_sequence(tmp_path, "s", [1, 19, 37])
    (seq,) = discover(tmp_path).sequences
    assert sorted(seq.targets) == [i for i in range(2, 37) if i != 19]


def test_longer_odd_run_is_evaluated(tmp_path):
    add_sequence(tmp_path, "e", [1, 3, 5, 7], generate=False, gt=[2, 4, 6])
    (seq,) = discover(tmp_path).sequences
    assert seq.mode == "evaluate"
    assert seq.targets == [2, 4, 6] and seq.scored == [2, 4, 6]
    assert seq.naming.filename(4) == "4.png"


def test_stray_files_are_ignored(tmp_path):
    folder = add_sequence(tmp_path, "s", [1, 5])
    (folder / ".DS_Store").write_bytes(b"\0\1")
    (folder / "Thumbs.db").write_bytes(b"\0")
    (folder / "notes.txt").write_text("imaged on Tuesday")
    found = discover(tmp_path)
    assert not found.problems and len(found.sequences) == 1


def test_missing_data_folder_is_reported(tmp_path):
    assert "does not exist" in problems_text(tmp_path / "nope")


def test_empty_input_folder_is_reported(tmp_path):
    (tmp_path / "input").mkdir()
    assert "no sequence folders" in problems_text(tmp_path)


def test_one_keyframe_is_reported(tmp_path):
    add_sequence(tmp_path, "lonely", [1])
    text = problems_text(tmp_path)
    assert "lonely" in text and "only one known frame" in text and "frame_001.png" in text


def test_folder_without_frames_is_reported(tmp_path):
    folder = tmp_path / "input" / "empty-seq"
    folder.mkdir(parents=True)
    (folder / "readme.txt").write_text("x")
    assert "'empty-seq'" in problems_text(tmp_path) and "no frame files" in problems_text(tmp_path)


def test_unrecognised_frame_name_is_reported(tmp_path):
    folder = add_sequence(tmp_path, "s", [1, 5])
    write_frame(folder / "preview.png", make_frame())
    assert "preview.png" in problems_text(tmp_path)


def test_mixed_naming_is_reported(tmp_path):
    folder = add_sequence(tmp_path, "s", [1, 5])
    write_frame(folder / "3.png", make_frame())
    assert "mixes generation names" in problems_text(tmp_path)


def test_neighbours_of_different_size_mode_or_depth_are_reported(tmp_path):
    folder = add_sequence(tmp_path, "size", [1, 19])
    write_frame(folder / "frame_019.png", make_frame(height=20))
    folder = add_sequence(tmp_path, "mode", [1, 19])
    write_frame(folder / "frame_019.png", make_frame("RGB"))
    folder = add_sequence(tmp_path, "depth", [1, 19])
    write_frame(folder / "frame_019.png", make_frame(bit_depth=16))
    problems = discover(tmp_path).problems
    assert {p.sequence for p in problems} == {"size", "mode", "depth"}
    assert all("all frames of a sequence must match" in p.message for p in problems)


def test_every_problem_of_every_sequence_is_reported_at_once(tmp_path):
    add_sequence(tmp_path, "good", [1, 3])
    add_sequence(tmp_path, "lonely", [1])
    folder = add_sequence(tmp_path, "broken", [1, 3, 5])
    (folder / "frame_003.png").write_bytes(b"")
    data = (folder / "frame_005.png").read_bytes()
    (folder / "frame_005.png").write_bytes(data[:40])
    add_sequence(tmp_path, "nogt", [1, 3], generate=False)
    found = discover(tmp_path)
    text = "\n".join(map(str, found.problems))
    assert [s.name for s in found.sequences] == ["good"]
    assert found.skipped == ["broken", "lonely", "nogt"]
    assert "frame_003.png: the file is empty" in text
    assert "frame_005.png: PNG is truncated" in text
    assert "ground truth for frame 2 is missing" in text
    with pytest.raises(DataError, match="4 problem"):
        found.raise_if_problems()


def test_ground_truth_of_different_size_is_reported(tmp_path):
    add_sequence(tmp_path, "e", [1, 3], generate=False)
    write_frame(tmp_path / "gt" / "e" / "2.png", make_frame(height=10))
    assert "ground truth is 32x10" in problems_text(tmp_path)


def test_forced_mode_that_does_not_match_is_reported(tmp_path):
    add_sequence(tmp_path, "s", [1, 5])
    assert "mode is set to 'evaluate'" in problems_text(tmp_path, mode="evaluate")


def test_only_restricts_discovery_and_reports_unknown_names(tmp_path):
    add_sequence(tmp_path, "a", [1, 3])
    add_sequence(tmp_path, "b", [1, 3])
    found = discover(tmp_path, only=["b", "zz"])
    assert [s.name for s in found.sequences] == ["b"]
    assert "'zz'" in str(found.problems[0])


def test_tiff_sequences_keep_their_suffix(tmp_path):
    add_sequence(tmp_path, "t", [1, 3], suffix=".tif")
    (seq,) = discover(tmp_path).sequences
    assert seq.naming.filename(2) == "frame_002.tif"


def test_unpadded_generation_names_stay_unpadded(tmp_path):
    folder = tmp_path / "input" / "u"
    for i in (1, 12):
        write_frame(folder / f"frame_{i}.png", make_frame())
    (seq,) = discover(tmp_path).sequences
    assert seq.naming.filename(5) == "frame_5.png"


def write_named(data_dir: Path, seq: str, names: list[str], subdir: str = "input") -> None:
    for number, name in enumerate(names):
        write_frame(data_dir / subdir / seq / name, make_frame(seed=number))


@pytest.mark.parametrize(
    ("names", "pattern", "made"),
    [
        (["t001.tif", "t019.tif"], r"t(\d+)", "t010.tif"),
        (["Pos0_T003.png", "Pos0_T019.png"], r"Pos0_T(\d+)", "Pos0_T011.png"),
        (["img_000000012.tif", "img_000000020.tif"], r"img_(\d+)", "img_000000016.tif"),
        (["cells_1_ch00.png", "cells_5_ch00.png"], r"cells_(\d+)_ch00", "cells_3_ch00.png"),
    ],
)
def test_lab_exports_are_recognised_by_a_pattern_and_made_frames_keep_their_names(
    tmp_path, names, pattern, made
):
    write_named(tmp_path, "s", names)
    assert "unrecognised frame name" in problems_text(tmp_path)  # not with the defaults
    (seq,) = discover(tmp_path, patterns=FramePatterns(generate=pattern)).sequences
    assert seq.mode == "generate" and len(seq.known) == 2
    assert seq.naming.filename(seq.targets[0]) == made


def test_ground_truth_follows_the_same_pattern(tmp_path):
    write_named(tmp_path, "s", ["t01.png", "t05.png"])
    write_named(tmp_path, "s", ["t03.png"], subdir="gt")
    (seq,) = discover(tmp_path, patterns=FramePatterns(generate=r"t(\d+)")).sequences
    assert seq.scored == [3]


def test_evaluation_pattern_recognises_odd_frames_and_their_ground_truth(tmp_path):
    write_named(tmp_path, "e", ["z1_c0.png", "z3_c0.png"])
    write_named(tmp_path, "e", ["z2_c0.png"], subdir="gt")
    patterns = FramePatterns(evaluate=r"z(\d+)_c0")
    (seq,) = discover(tmp_path, patterns=patterns).sequences
    assert seq.mode == "evaluate" and seq.naming.filename(2) == "z2_c0.png"


def test_a_name_both_patterns_match_is_reported_with_what_to_do(tmp_path):
    write_named(tmp_path, "s", ["1.png", "3.png"])
    text = problems_text(tmp_path, patterns=FramePatterns(generate=r"(\d+)"))
    assert "matches both frame_pattern.generate and frame_pattern.evaluate" in text
    assert "mode: generate" in text


def test_a_set_mode_uses_only_its_own_pattern(tmp_path):
    write_named(tmp_path, "s", ["1.png", "3.png"])
    (seq,) = discover(
        tmp_path, mode="generate", patterns=FramePatterns(generate=r"(\d+)")
    ).sequences
    assert seq.mode == "generate" and seq.targets == [2]


@pytest.mark.parametrize(
    ("pattern", "why"), [(r"t\d+", "has 0 groups"), (r"(t)(\d+)", "has 2 groups"), ("t(", "not a")]
)
def test_a_pattern_without_exactly_one_group_is_reported(tmp_path, pattern, why):
    write_named(tmp_path, "s", ["t1.png", "t3.png"])
    text = problems_text(tmp_path, patterns=FramePatterns(generate=pattern))
    assert f"frame_pattern.generate {pattern!r}" in text and why in text


def test_frames_named_in_two_ways_are_reported(tmp_path):
    write_named(tmp_path, "s", ["a1.png", "b3.png"])
    text = problems_text(tmp_path, patterns=FramePatterns(generate=r"[ab](\d+)"))
    assert "named in more than one way" in text


def test_a_multi_page_tiff_is_reported_before_any_job(tmp_path):
    import numpy as np
    import tifffile

    add_sequence(tmp_path, "s", [1], suffix=".tif")
    stack = np.zeros((4, 24, 32), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "input" / "s" / "frame_003.tif", stack, photometric="minisblack")
    text = problems_text(tmp_path)
    assert "frame_003.tif" in text and "4 pages" in text and "sequence 's'" in text


def test_missing_relative_data_folder_names_where_it_was_looked_for(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (problem,) = discover(Path("customdata")).problems
    assert f"(looked for {tmp_path / 'customdata'})" in str(problem)


def test_advice_without_any_runnable_sequence_does_not_suggest_skipping(tmp_path):
    advice = discover(tmp_path / "nope").what_to_do()
    assert "on_invalid: skip would not help" in advice and "data_dir" in advice


def test_advice_with_runnable_sequences_suggests_skipping_the_broken_ones(tmp_path):
    add_sequence(tmp_path, "good", [1, 3])
    add_sequence(tmp_path, "broken", [1])
    found = discover(tmp_path)
    assert [s.name for s in found.sequences] == ["good"]
    assert "set on_invalid: skip to run the other sequences" in found.what_to_do()
