"""Training triplets from the users' layout, split by sequence."""

from __future__ import annotations

import pytest
from support import add_sequence

from vfi.data.sequences import discover
from vfi.data.triplets import find_triplets, split_sequences


def sequence(tmp_path, name, *args, **kwargs):
    add_sequence(tmp_path, name, *args, **kwargs)
    (seq,) = [s for s in discover(tmp_path).sequences if s.name == name]
    return seq


def test_evaluation_sequences_give_odd_frames_around_each_true_even_frame(tmp_path):
    seq = sequence(tmp_path, "e", [1, 3, 5], generate=False, gt=[2, 4])
    found = find_triplets(seq)
    assert [t.indices for t in found] == [(1, 2, 3), (3, 4, 5)]
    assert all(t.time == 0.5 for t in found)
    assert found[0].middle == seq.ground_truth[2] and found[0].prev == seq.known[1]


def test_generation_ground_truth_gives_uneven_spacing_up_to_the_widest_keyframe_gap(tmp_path):
    seq = sequence(tmp_path, "g", [1, 5], gt=[2, 3])
    found = {t.indices: t.time for t in find_triplets(seq)}
    assert found == {(1, 2, 3): 0.5, (1, 2, 5): 0.25, (1, 3, 5): 0.5, (2, 3, 5): 1 / 3}


def test_generation_sequences_without_ground_truth_give_no_triplets(tmp_path):
    assert find_triplets(sequence(tmp_path, "g", [1, 5])) == []


def test_a_fraction_holds_out_whole_sequences_reproducibly():
    names = [f"s{i}" for i in range(10)]
    training, validation = split_sequences(names, 0.2, seed=3)
    assert len(validation) == 2 and set(training) | set(validation) == set(names)
    assert not set(training) & set(validation)
    assert split_sequences(names, 0.2, seed=3) == (training, validation)


def test_two_sequences_keep_one_each_way():
    assert split_sequences(["a", "b"], 0.2) in ((["a"], ["b"]), (["b"], ["a"]))


def test_named_validation_sequences_must_have_triplets():
    with pytest.raises(ValueError, match="without training triplets: \\['zz'\\]"):
        split_sequences(["a", "b"], ["zz"])
