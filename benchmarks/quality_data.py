"""Lay out the public microscopy time-lapse data of `benchmarks/quality.py` (not a test).

    git clone https://github.com/peng-lab/BaSiCPy            SRC/BaSiCPy
    git clone https://github.com/oist/Usiigaci               SRC/Usiigaci
    git clone https://github.com/soft-matter/trackpy-examples SRC/trackpy-examples
    .venv/bin/python benchmarks/quality_data.py SRC OUT
    .venv/bin/python benchmarks/quality.py --data OUT --scale 0.5

Writes OUT/<dataset>/seqNN/frame_001.png ... (consecutive frames of one field of view, pixel
values and bit depth unchanged; only the constant alpha channel of the bulk-water PNGs is
dropped) and OUT/<dataset>/manifest.tsv (each frame's source file). `docs/quality_data.md` says
what each dataset is, its licence and the commits used.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image

from vfi.io.frames import read_frame, write_frame


@dataclass(frozen=True)
class Dataset:
    pattern: str  # glob under SRC; sorted names are in time order
    frames_per_sequence: int
    max_sequences: int


TRACKPY = "trackpy-examples/sample_data"
DATASETS = {
    "basic_hsc_brightfield": Dataset("BaSiCPy/data/Timelapse_brightfield/*.png", 25, 8),
    "basic_nanog_fluo": Dataset("BaSiCPy/data/Timelapse_nanog/*.tif", 25, 8),
    "usiigaci_t98g_phase": Dataset("Usiigaci/ExampleData/T98G_sample/*.tif", 37, 1),
    "trackpy_bulk_water": Dataset(f"{TRACKPY}/bulk_water/bulk_water_*.png", 25, 8),
    "trackpy_brightfield_colloids": Dataset(f"{TRACKPY}/brightfield/bf_*.png", 25, 8),
}


def read_source(path: Path) -> np.ndarray:
    """The frame's pixels; a constant, opaque alpha channel (bulk water) is dropped."""
    if path.suffix.lower() in (".tif", ".tiff"):
        return tifffile.imread(path)
    with Image.open(path) as image:
        pixels = np.asarray(image)
    if pixels.ndim == 3 and pixels.shape[2] == 4:
        if not (pixels[..., 3] == 255).all():
            raise ValueError(f"{path}: alpha channel is not constant; cannot drop it")
        pixels = np.ascontiguousarray(pixels[..., :3])
    return pixels


def prepare(source: Path, out: Path) -> None:
    for name, dataset in DATASETS.items():
        files = sorted(source.glob(dataset.pattern))
        if not files:
            raise SystemExit(f"{name}: no files match {source / dataset.pattern}; clone it first")
        count = min(len(files) // dataset.frames_per_sequence, dataset.max_sequences)
        manifest = ["output\tsource"]
        for s in range(count):
            first = s * dataset.frames_per_sequence
            for k, path in enumerate(files[first : first + dataset.frames_per_sequence], 1):
                target = out / name / f"seq{s + 1:02d}" / f"frame_{k:03d}.png"
                pixels = read_source(path)
                write_frame(target, pixels)
                if not np.array_equal(read_frame(target), pixels):
                    raise SystemExit(f"{target}: does not read back as {path}")
                manifest.append(f"{target.relative_to(out)}\t{path.relative_to(source)}")
        (out / name / "manifest.tsv").write_text("\n".join(manifest) + "\n")
        print(f"{name}: {len(files)} frames -> {count} sequences of {dataset.frames_per_sequence}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    prepare(Path(sys.argv[1]), Path(sys.argv[2]))
