"""Discovering and validating sequences in the users' data layout.

    <data_dir>/input/<seq>/frame_001.png, frame_019.png   generation: keyframes frame_NNN
    <data_dir>/input/<seq>/1.png, 3.png                   evaluation: odd frames
    <data_dir>/gt/<seq>/2.png (or frame_010.png)          ground truth, scored where present

A sequence's mode follows from its file names, matched (on the name without its suffix) against
one regular expression per mode whose one group is the frame number; `FramePatterns` holds the
defaults above and labs set their own (`frame_pattern:` in the config) for exports such as
`t001.tif` or `Pos0_T003.png`. Every missing index between the first and the last known frame is
a target, filled by the midpoint plan. Validation reads only file headers, so it
is cheap enough to run whenever the workflow's DAG is built, and it collects every problem of every
sequence instead of stopping at the first.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from vfi.data.naming import DEFAULT_PATTERNS, FrameNaming, FramePatterns, Mode
from vfi.data.plan import PlannedFrame, midpoint_plan
from vfi.io.frames import FRAME_SUFFIXES, FrameError, FrameInfo, probe_frame

ModeSetting = Literal["auto", "generate", "evaluate"]

INPUT_SUBDIR = "input"
GT_SUBDIR = "gt"
# Files that operating systems and tools leave in folders; never frames, never worth a word.
IGNORED_NAMES = {"thumbs.db", "desktop.ini", "icon\r"}


class DataError(ValueError):
    """The data folder cannot be used; the message lists every problem found."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, named so that a user can find and fix it."""

    message: str
    sequence: str | None = None
    path: Path | None = None

    def __str__(self) -> str:
        where = [f"sequence {self.sequence!r}"] if self.sequence else []
        if self.path is not None:
            where.append(str(self.path))
        return f"{': '.join(where)}: {self.message}" if where else self.message


@dataclass(frozen=True)
class Sequence:
    """A validated sequence: its known frames, the frames to make, and any ground truth."""

    name: str
    mode: Mode
    known: dict[int, Path]
    ground_truth: dict[int, Path]
    naming: FrameNaming
    info: FrameInfo
    plan: tuple[PlannedFrame, ...] = field(default=())

    @property
    def targets(self) -> list[int]:
        return [frame.index for frame in self.plan]

    @property
    def scored(self) -> list[int]:
        """Targets that have ground truth and are therefore scored."""
        return [i for i in self.targets if i in self.ground_truth]

    def planned(self, index: int) -> PlannedFrame:
        for frame in self.plan:
            if frame.index == index:
                return frame
        raise KeyError(f"frame {index} is not generated in sequence {self.name!r}")


@dataclass
class Discovery:
    """What discovery found: usable sequences, and every problem, by sequence."""

    sequences: list[Sequence]
    problems: list[Problem]

    @property
    def skipped(self) -> list[str]:
        """Sequences left out because of problems (in on_invalid: skip runs)."""
        return sorted({p.sequence for p in self.problems if p.sequence is not None})

    def report(self) -> str:
        lines = [f"{len(self.problems)} problem(s) in the input data:"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)

    def what_to_do(self) -> str:
        """The advice after `report()` when a run stops on these problems."""
        if self.sequences:
            return "Fix the files above, or set on_invalid: skip to run the other sequences."
        return (
            "No sequence can run, so on_invalid: skip would not help: fix the problems above "
            "(data_dir must be the folder that holds input/ and gt/; a relative data_dir starts "
            "in the folder snakemake runs in)."
        )

    def raise_if_problems(self) -> None:
        if self.problems:
            raise DataError(self.report())


def discover(
    data_dir: Path,
    mode: ModeSetting = "auto",
    only: Iterable[str] | None = None,
    patterns: FramePatterns = DEFAULT_PATTERNS,
) -> Discovery:
    """Find and validate every sequence under `data_dir/input` (sorted by name).

    `only` restricts the work to the named sequences (a job needs just its own); naming a
    sequence that does not exist is a problem.
    """
    if pattern_problems := patterns.problems():
        return Discovery([], [Problem(text) for text in pattern_problems])
    data_dir = Path(data_dir)
    input_dir = data_dir / INPUT_SUBDIR
    if not data_dir.is_dir():
        where = "" if data_dir.is_absolute() else f" (looked for {data_dir.absolute()})"
        return Discovery(
            [],
            [Problem(f"data folder {data_dir} does not exist{where}; set data_dir to your data")],
        )
    if not input_dir.is_dir():
        return Discovery(
            [],
            [Problem(f"{input_dir} does not exist; put one folder per sequence under it")],
        )
    folders = sorted(p for p in input_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        return Discovery([], [Problem(f"{input_dir} holds no sequence folders")])
    sequences: list[Sequence] = []
    problems: list[Problem] = []
    if only is not None:
        wanted = set(only)
        problems += [
            Problem("no such sequence folder", name, input_dir / name)
            for name in sorted(wanted - {f.name for f in folders})
        ]
        folders = [f for f in folders if f.name in wanted]
    for folder in folders:
        sequence, found = _load_sequence(folder, data_dir / GT_SUBDIR / folder.name, mode, patterns)
        problems += found
        if sequence is not None and not found:
            sequences.append(sequence)
    return Discovery(sequences, problems)


def _frame_files(folder: Path) -> tuple[list[Path], list[Path]]:
    """(candidate frame files, stray files) of a folder; hidden files and OS junk are skipped."""
    frames, strays = [], []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.name.lower() in IGNORED_NAMES or path.is_dir():
            continue
        (frames if path.suffix.lower() in FRAME_SUFFIXES else strays).append(path)
    return frames, strays


def _parse_names(
    seq: str, files: list[Path], pattern: re.Pattern[str], problems: list[Problem]
) -> tuple[dict[int, Path], FrameNaming | None]:
    """Index -> file for the files whose names match `pattern`; problems for clashes."""
    by_index: dict[int, Path] = {}
    digits: list[str] = []
    namings: set[tuple[str, str]] = set()
    for path in files:
        match = pattern.fullmatch(path.stem)
        if match is None or not match.group(1).isdigit():
            continue
        index = int(match.group(1))
        if index in by_index:
            problems.append(
                Problem(
                    f"two files for frame {index}: {by_index[index].name}, {path.name}",
                    seq,
                    path.parent,
                )
            )
            continue
        by_index[index] = path
        namings.add((path.stem[: match.start(1)], path.stem[match.end(1) :]))
        digits.append(match.group(1))
    if not by_index:
        return {}, None
    if len(namings) > 1:
        examples = ", ".join(sorted({p.name for p in by_index.values()})[:3])
        problems.append(
            Problem(
                f"frames are named in more than one way ({examples}, ...); one naming per "
                "sequence, so that made frames can be named like them",
                seq,
                files[0].parent,
            )
        )
    suffixes = Counter(p.suffix for p in by_index.values())
    if len(suffixes) > 1:
        problems.append(
            Problem(
                f"frames mix file types {sorted(suffixes)}; use one type per sequence",
                seq,
                files[0].parent,
            )
        )
    width = (
        len(digits[0])
        if len({len(d) for d in digits}) == 1 and any(d.startswith("0") for d in digits)
        else 0
    )
    prefix, tail = sorted(namings)[0]
    return by_index, FrameNaming(prefix, width, suffixes.most_common(1)[0][0], tail)


def _matches(pattern: re.Pattern[str], path: Path) -> bool:
    match = pattern.fullmatch(path.stem)
    return match is not None and match.group(1).isdigit()


def _load_sequence(
    folder: Path, gt_folder: Path, mode_setting: ModeSetting, patterns: FramePatterns
) -> tuple[Sequence | None, list[Problem]]:
    seq = folder.name
    problems: list[Problem] = []
    if any(ord(ch) < 32 for ch in seq):
        return None, [Problem("folder name contains control characters; rename it", seq, folder)]
    files, _strays = _frame_files(folder)
    if not files:
        return None, [Problem("no frame files (.png, .tif) found", seq, folder)]
    compiled = {mode: patterns.compiled(mode) for mode in ("generate", "evaluate")}
    matching = {mode: [p for p in files if _matches(compiled[mode], p)] for mode in compiled}
    if mode_setting != "auto":
        other = "evaluate" if mode_setting == "generate" else "generate"
        if not matching[mode_setting] and matching[other]:
            return None, [
                Problem(
                    f"mode is set to {mode_setting!r} but the files are named for {other!r} "
                    f"(frame_pattern.{other} {patterns.describe(other)!r}); set mode: auto",
                    seq,
                    folder,
                )
            ]
        # One convention is set: names of the other mode are not frames of this sequence.
        matching[other] = []
    generate, evaluate = matching["generate"], matching["evaluate"]
    named = " or ".join(
        f"frame_pattern.{mode} {patterns.describe(mode)!r}"
        for mode in ("generate", "evaluate")
        if mode_setting in ("auto", mode)
    )
    both = [p for p in generate if p in evaluate]
    for path in both:
        problems.append(
            Problem(
                "the name matches both frame_pattern.generate and frame_pattern.evaluate; set "
                "mode: generate or mode: evaluate, or make the patterns exclusive",
                seq,
                path,
            )
        )
    for path in (p for p in files if p not in generate and p not in evaluate):
        problems.append(
            Problem(
                f"unrecognised frame name; expected a name matching {named} (the group is the "
                f"frame number; .png/.tif suffix); move or rename {path.name!r}",
                seq,
                path,
            )
        )
    if both:
        return None, problems
    if generate and evaluate:
        problems.append(
            Problem(
                "mixes generation names and evaluation names "
                f"({generate[0].name}, {evaluate[0].name}); keep one convention per sequence",
                seq,
                folder,
            )
        )
        return None, problems
    found_mode: Mode | None = "generate" if generate else ("evaluate" if evaluate else None)
    if found_mode is None:
        return None, problems
    known, naming = _parse_names(seq, generate or evaluate, compiled[found_mode], problems)
    if naming is None:
        return None, problems
    if len(known) < 2:
        only = next(iter(known.values()))
        problems.append(
            Problem(
                "only one known frame; at least two are needed to interpolate between", seq, only
            )
        )
        return None, problems
    plan = tuple(midpoint_plan(known))
    if not plan:
        problems.append(
            Problem(
                f"no missing frames between {min(known)} and {max(known)}; nothing to do",
                seq,
                folder,
            )
        )
    info = _check_frames(seq, known, problems)
    ground_truth = _ground_truth(
        seq, gt_folder, found_mode, compiled[found_mode], naming, plan, info, problems
    )
    if problems or info is None:
        return None, problems
    sequence = Sequence(seq, found_mode, known, ground_truth, naming, info, plan)
    return sequence, problems


def _check_frames(seq: str, known: dict[int, Path], problems: list[Problem]) -> FrameInfo | None:
    """Probe every known frame; all must share size, mode and bit depth."""
    infos: dict[int, FrameInfo] = {}
    for index, path in sorted(known.items()):
        try:
            infos[index] = probe_frame(path)
        except FrameError as err:
            problems.append(Problem(_without_path(err, path), seq, path))
    if not infos:
        return None
    reference = Counter(infos.values()).most_common(1)[0][0]
    for index, info in sorted(infos.items()):
        if info != reference:
            problems.append(
                Problem(
                    f"frame is {info.describe()} but the other frames are "
                    f"{reference.describe()}; all frames of a sequence must match",
                    seq,
                    known[index],
                )
            )
    return reference


def _ground_truth(
    seq: str,
    gt_folder: Path,
    mode: Mode,
    pattern: re.Pattern[str],
    naming: FrameNaming,
    plan: tuple[PlannedFrame, ...],
    info: FrameInfo | None,
    problems: list[Problem],
) -> dict[int, Path]:
    """Ground truth for targets. Required for evaluation, optional (scored if present) otherwise."""
    truth: dict[int, Path] = {}
    if gt_folder.is_dir():
        files, _ = _frame_files(gt_folder)
        scratch: list[Problem] = []
        found, _ = _parse_names(seq, files, pattern, scratch)
        truth = {i: p for i, p in found.items() if i in {f.index for f in plan}}
    if mode == "evaluate":
        for frame in plan:
            if frame.index not in truth:
                problems.append(
                    Problem(
                        f"ground truth for frame {frame.index} is missing "
                        f"(expected {naming.filename(frame.index)})",
                        seq,
                        gt_folder / naming.filename(frame.index),
                    )
                )
    for _, path in sorted(truth.items()):
        try:
            gt_info = probe_frame(path)
        except FrameError as err:
            problems.append(Problem(_without_path(err, path), seq, path))
            continue
        if info is not None and gt_info != info:
            problems.append(
                Problem(
                    f"ground truth is {gt_info.describe()} but the input frames are "
                    f"{info.describe()}",
                    seq,
                    path,
                )
            )
    return truth


def _without_path(err: FrameError, path: Path) -> str:
    """FrameError messages start with the path; Problem prints the path itself."""
    text = str(err)
    prefix = f"{path}: "
    return text[len(prefix) :] if text.startswith(prefix) else text
