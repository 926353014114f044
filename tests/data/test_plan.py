import pytest

from vfi.data.plan import PlannedFrame, frame_seed, midpoint_plan

DESIGN_TABLE = {
    1: {10: (1, 19)},
    2: {5: (1, 10), 14: (10, 19)},
    3: {3: (1, 5), 7: (5, 10), 12: (10, 14), 16: (14, 19)},
    4: {
        2: (1, 3),
        4: (3, 5),
        6: (5, 7),
        8: (7, 10),
        11: (10, 12),
        13: (12, 14),
        15: (14, 16),
        17: (16, 19),
    },
    5: {9: (8, 10), 18: (17, 19)},
}


def test_plan_for_1_to_19_matches_the_design_table():
    plan = midpoint_plan([1, 19])
    got: dict[int, dict[int, tuple[int, int]]] = {}
    for f in plan:
        got.setdefault(f.level, {})[f.index] = (f.prev, f.next)
    assert got == DESIGN_TABLE


def test_plan_is_sorted_by_level_then_index():
    plan = midpoint_plan([1, 19])
    assert plan == sorted(plan, key=lambda f: (f.level, f.index))


@pytest.mark.parametrize("known", [[1, 19], [1, 19, 37], [1, 3, 5, 7], [2, 9], [0, 100], [5, 6]])
def test_every_missing_frame_is_made_once_from_frames_known_before(known):
    plan = midpoint_plan(known)
    made = [f.index for f in plan]
    assert sorted(made) == [i for i in range(min(known), max(known) + 1) if i not in known]
    available = set(known)
    for level in sorted({f.level for f in plan}):
        frames = [f for f in plan if f.level == level]
        assert all(f.prev in available and f.next in available for f in frames)
        available |= {f.index for f in frames}


def test_several_keyframes_fill_each_gap_independently():
    plan = midpoint_plan([1, 19, 37])
    assert {(f.index, f.prev, f.next) for f in plan if f.level == 1} == {(10, 1, 19), (28, 19, 37)}


def test_odd_even_run_is_one_level():
    plan = midpoint_plan([1, 3, 5, 7])
    assert [(f.index, f.level) for f in plan] == [(2, 1), (4, 1), (6, 1)]


def test_exact_time_and_effective_time():
    frame = PlannedFrame(index=5, prev=1, next=10, level=2)
    assert frame.exact_time == pytest.approx(4 / 9)
    assert frame.time("midpoint") == 0.5
    assert frame.effective_time("midpoint") == 5.5
    assert frame.effective_time("exact") == pytest.approx(5.0)


def test_frame_seed_depends_only_on_seed_sequence_and_index():
    assert frame_seed(0, "a", 5) == frame_seed(0, "a", 5)
    seeds = {frame_seed(s, q, i) for s in (0, 1) for q in ("a", "b") for i in (2, 3)}
    assert len(seeds) == 8
    assert 0 <= frame_seed(7, "x", 2) < 2**63
