"""Property-based tests: the midpoint plan for any keyframes, discovery for any sequence names."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from support import make_frame

from vfi.data.plan import midpoint_plan
from vfi.data.sequences import discover
from vfi.io.frames import write_frame

keyframe_sets = st.sets(st.integers(min_value=0, max_value=300), min_size=2, max_size=12)


@given(keyframe_sets)
def test_every_missing_frame_is_planned_exactly_once(known):
    made = [f.index for f in midpoint_plan(known)]
    assert sorted(made) == [i for i in range(min(known), max(known) + 1) if i not in known]
    assert len(made) == len(set(made))


@given(keyframe_sets)
def test_parents_are_known_before_their_child_and_levels_are_minimal(known):
    level_of = {i: 0 for i in known}
    for frame in midpoint_plan(known):  # sorted by level
        assert frame.prev in level_of and frame.next in level_of
        assert frame.prev < frame.index < frame.next
        # minimal: one level after the later of its parents, never more
        assert frame.level == 1 + max(level_of[frame.prev], level_of[frame.next])
        level_of[frame.index] = frame.level


@given(keyframe_sets)
def test_each_frame_is_the_midpoint_of_neighbouring_known_frames(known):
    available = sorted(known)
    for frame in midpoint_plan(known):
        assert frame.index == (frame.prev + frame.next) // 2
        below = [i for i in available if i < frame.index]
        above = [i for i in available if i > frame.index]
        # parents are the nearest frames known when the frame is made
        assert frame.prev == max(below) and frame.next == min(above)
        available = sorted({*available, frame.index})


names = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/\\\0"),
    min_size=1,
    max_size=40,
).filter(lambda s: not s.startswith(".") and s.strip() == s and s not in (".", ".."))


@settings(max_examples=40, deadline=None)
@given(st.lists(names, min_size=1, max_size=4, unique_by=str.lower))
def test_discovery_finds_sequences_of_any_name(sequence_names):
    frame = make_frame(height=8, width=8)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name in sequence_names:
            for i in (1, 3):
                write_frame(root / "input" / name / f"frame_{i:03d}.png", frame)
        found = discover(root)
        assert not found.problems
        assert [s.name for s in found.sequences] == sorted(sequence_names)
        assert all(s.targets == [2] for s in found.sequences)
