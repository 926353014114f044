"""Where every output of a sequence goes, in the users' layout.

    <output_dir>/<seq>/frame_001.png ... frame_019.png     generation (keyframes copied through)
    <output_dir>/<seq>/interpolated_frames/2.png           evaluation
    <output_dir>/<seq>/metrics.txt, metrics.csv            where ground truth exists
    <output_dir>/<seq>/temporal.csv                        temporal consistency (always)
    <output_dir>/<seq>/provenance.json                     always
    <output_dir>/<seq>/.provenance/level_1.json ...        what each model job used (0: copies)

One place computes these paths, so the workflow (which declares them) and the jobs (which write
them) cannot disagree.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from vfi.data.sequences import Sequence

# The level of keyframe copy jobs in job records (model jobs make levels 1 and up).
COPY_LEVEL = 0


@dataclass(frozen=True)
class OutputLayout:
    output_dir: Path
    evaluate_subdir: str = "interpolated_frames"

    def sequence_dir(self, seq: Sequence) -> Path:
        return Path(self.output_dir) / seq.name

    def frame(self, seq: Sequence, index: int) -> Path:
        """The output file of a generated (or, for generation, copied) frame."""
        folder = self.sequence_dir(seq)
        if seq.mode == "evaluate":
            folder = folder / self.evaluate_subdir
        return folder / seq.naming.filename(index)

    def debug_files(self, seq: Sequence, index: int) -> dict[str, Path]:
        """Where a backend's debug images of a made frame go (`flow.debug`), by image name."""
        stem = Path(seq.naming.filename(index)).stem
        folder = self.sequence_dir(seq) / "debug"
        return {
            "motion": folder / f"{stem}_motion.tif",
            "occlusion": folder / f"{stem}_occlusion.png",
        }

    def source(self, seq: Sequence, index: int) -> Path:
        """Where a job reads frame `index` from: the input for known frames, else the output."""
        return seq.known[index] if index in seq.known else self.frame(seq, index)

    def copied_keyframes(self, seq: Sequence) -> list[Path]:
        return [self.frame(seq, i) for i in sorted(seq.known)] if seq.mode == "generate" else []

    def copy_outputs(self, seq: Sequence) -> list[Path]:
        """Everything the keyframe copy job writes for this sequence: the copies, then its job
        record (none for evaluation sequences, whose inputs are not copied)."""
        copies = self.copied_keyframes(seq)
        return [*copies, self.job_record(seq, COPY_LEVEL)] if copies else []

    def metrics_txt(self, seq: Sequence) -> Path:
        return self.sequence_dir(seq) / "metrics.txt"

    def metrics_csv(self, seq: Sequence) -> Path:
        return self.sequence_dir(seq) / "metrics.csv"

    def temporal_csv(self, seq: Sequence) -> Path:
        return self.sequence_dir(seq) / "temporal.csv"

    def provenance(self, seq: Sequence) -> Path:
        return self.sequence_dir(seq) / "provenance.json"

    def job_record(self, seq: Sequence, level: int) -> Path:
        """What the model job of `level` used for this sequence (device, precision, software,
        intensity mapping); the finish job merges these into provenance.json. Level 0: the
        keyframe copy job."""
        return self.sequence_dir(seq) / ".provenance" / f"level_{level}.json"

    def job_records(self, seq: Sequence) -> list[Path]:
        """The records of the model jobs (levels 1 and up)."""
        return [self.job_record(seq, level) for level in sorted({f.level for f in seq.plan})]

    def level_outputs(self, seq: Sequence, level: int) -> list[Path]:
        """Everything the model job of `level` writes for this sequence: frames, then record."""
        frames = [self.frame(seq, f.index) for f in seq.plan if f.level == level]
        return [*frames, self.job_record(seq, level)]

    def stale_folders(self, sequences: Iterable[str]) -> list[Path]:
        """Output folders of sequences that are not among `sequences`: skipped this time, or
        removed from the data. Their scores are in no table of this run (their folder holds a
        provenance record, so it is a sequence's output and not the user's own folder)."""
        root, names = Path(self.output_dir), set(sequences)
        if not root.is_dir():
            return []
        return sorted(
            folder
            for folder in root.iterdir()
            if folder.is_dir()
            and folder.name not in names
            and ((folder / "provenance.json").is_file() or (folder / ".provenance").is_dir())
        )

    def sequence_of(self, path: Path) -> str:
        """The sequence an output file belongs to (its folder under output_dir)."""
        relative = Path(os.path.normpath(path)).relative_to(os.path.normpath(self.output_dir))
        return relative.parts[0]
