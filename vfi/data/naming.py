"""How frames are named: the patterns that recognise a lab's file names, and the naming that
made frames inherit from their sequence.

Light on purpose (no image libraries): the settings import it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Mode = Literal["generate", "evaluate"]


@dataclass(frozen=True)
class FramePatterns:
    """One regular expression per mode, matched against whole file names without their suffix;
    its one group is the frame number (digits)."""

    generate: str = r"frame_(\d+)"
    evaluate: str = r"(\d+)"

    def compiled(self, mode: Mode) -> re.Pattern[str]:
        return re.compile(getattr(self, mode))

    def problems(self) -> list[str]:
        """What is wrong with the patterns (checked before anything is read)."""
        found = []
        for mode in ("generate", "evaluate"):
            text = getattr(self, mode)
            try:
                groups = re.compile(text).groups
            except re.error as err:
                found.append(f"frame_pattern.{mode} {text!r} is not a regular expression: {err}")
                continue
            if groups != 1:
                found.append(
                    f"frame_pattern.{mode} {text!r} has {groups} groups; it needs exactly one, "
                    r"around the frame number, e.g. 't(\d+)' for t001.tif"
                )
        return found

    def describe(self, mode: Mode) -> str:
        return getattr(self, mode)


@dataclass(frozen=True)
class FrameNaming:
    """How a sequence names its frames: prefix + index zero-padded to `width` (0: no padding)
    + tail + suffix, so that made frames are named like the lab's own."""

    prefix: str
    width: int
    suffix: str
    tail: str = ""

    def stem(self, index: int) -> str:
        number = f"{index:0{self.width}d}" if self.width else str(index)
        return f"{self.prefix}{number}{self.tail}"

    def filename(self, index: int) -> str:
        return self.stem(index) + self.suffix


DEFAULT_PATTERNS = FramePatterns()
