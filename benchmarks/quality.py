"""Frame quality of interpolators on real time-lapse microscopy (a benchmark, not a test).

    .venv/bin/python benchmarks/quality.py --data DIR [--scale 0.5] \\
        --candidates blend flow flow:timing=midpoint tvl1:timing=midpoint --reference blend

DIR holds real sequences as <DIR>/<dataset>/<sequence>/<frames> (any names that sort in time
order; PNG or TIFF, 8 or 16 bit, grey or RGB); `docs/quality_data.md` says where the data used in
`docs/performance.md` come from and how to lay them out. Two test sets are built from them,
exactly as the workflow sees such data (vfi.data.sequences.discover on a temporary data folder):

    triplets    odd/even: every even frame predicted from its two odd neighbours;
    hierarchy   windows of 19 consecutive frames (1, 19, 37, ... start them): frames 2..18
                generated level by level from 1 and 19 (each level reads the frames written
                by the level before, rounded to the file's bit depth), every true frame scored.

`--disturb flicker=0.7,drift=10,photons=2000` makes the recordings harder before the sets are
built, as the issue's lab data were: each frame's exposure drawn from [0.7, 1], the stage moved
10 pixels in a random direction from frame to frame, Poisson shot noise at 2000 photons for the
file's full scale (`Disturbance`; seeded, so reruns give the same frames).

A candidate is `name[:option=value,...]`: a backend of `vfi.backends` with its options (flow:
the fields of `vfi.models.opticalflow.FlowMethod`), `timing=exact|midpoint` (default: what
`timing: auto` gives), or `tvl1`, the classical reference: scikit-image's TV-L1 flow from frame 0
to frame 1 and both frames warped along it to t and averaged with equal weights.

Printed per set: frames, mean PSNR and SSIM (on the sequence's bit depth, as the workflow
scores; LPIPS where its backbone weights are installed), the paired difference to the reference
candidate with a 95% bootstrap interval that resamples whole sequences (frames of one sequence
are not independent), seconds per frame pair, and the temporal consistency of the workflow's
report (`vfi.evaluation.temporal`: PSNR between consecutive output frames minus that between
consecutive true frames, mean over sequences; above 0: smoother than reality). `--csv` writes
every frame's scores.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import inspect
import json
import math
import sys
import tempfile
import time
from collections.abc import Sequence as Seq
from dataclasses import dataclass, fields
from pathlib import Path

import cv2
import numpy as np
import torch
import yaml

from vfi.backends import create_backend, resolve_timing
from vfi.backends.base import Backend
from vfi.data.plan import Timing
from vfi.data.sequences import discover
from vfi.evaluation.comparison import bootstrap_ci
from vfi.evaluation.metrics import score
from vfi.evaluation.scoring import sequence_data_range
from vfi.evaluation.temporal import temporal_consistency
from vfi.io.frames import read_frame, write_frame
from vfi.io.tensors import from_model_tensor, to_model_tensor
from vfi.models.opticalflow.estimate import FlowMethod
from vfi.models.opticalflow.warp import backward_warp
from vfi.pipeline.interpolate import normalisation_of

IMAGE_SUFFIXES = {".png", ".tif", ".tiff"}
WINDOW = 19  # keyframes 1 and 19, as the workflow's generation sequences
SETS = ("triplets", "hierarchy")
BOOTSTRAP_SAMPLES = 2000
ROOT = Path(__file__).resolve().parents[1]


class TVL1Backend(Backend):
    """The classical reference: TV-L1 flow 0 -> 1, both frames warped to t along it (the flow
    at t taken as the flow at the same pixel), averaged with equal weights."""

    name = "tvl1"
    max_batch = 1

    def interpolate(self, prev, next, times, seeds):  # noqa: A002 - the interface's names
        from skimage.registration import optical_flow_tvl1

        out = []
        for a, b, t in zip(prev, next, times.tolist(), strict=True):
            a_np = a.float().mean(0).numpy()
            b_np = b.float().mean(0).numpy()
            rows, cols = optical_flow_tvl1(a_np, b_np)  # a(p) ~ b(p + flow(p))
            flow = np.stack([cols, rows], axis=2).astype(np.float32)
            image0 = a.float().permute(1, 2, 0).numpy()
            image1 = b.float().permute(1, 2, 0).numpy()
            warped0 = backward_warp(np.ascontiguousarray(image0), -t * flow)
            warped1 = backward_warp(np.ascontiguousarray(image1), (1 - t) * flow)
            out.append(torch.from_numpy(0.5 * (warped0 + warped1)).permute(2, 0, 1))
        return torch.stack(out)


@dataclass(frozen=True)
class Candidate:
    spec: str
    name: str
    options: dict[str, object]
    timing: str  # auto, exact or midpoint

    @classmethod
    def parse(cls, spec: str) -> Candidate:
        name, _, rest = spec.partition(":")
        options: dict[str, object] = {}
        for item in filter(None, rest.split(",")):
            key, _, value = item.partition("=")
            options[key] = yaml.safe_load(value)
        timing = str(options.pop("timing", "auto"))
        return cls(spec, name, options, timing)

    def backend(self) -> Backend:
        cpu = torch.device("cpu")
        if self.name == "tvl1":
            return TVL1Backend(cpu)
        if self.name == "flow":
            known = {f.name for f in fields(FlowMethod)}
            method = {k: v for k, v in self.options.items() if k in known}
            extra = {k: v for k, v in self.options.items() if k not in known}
            return create_backend("flow", cpu, method=FlowMethod(**method), **extra)
        return create_backend(self.name, cpu, **self.options)

    def resolved_timing(self) -> Timing:
        if self.name == "tvl1":
            return "midpoint" if self.timing == "midpoint" else "exact"
        return resolve_timing(self.timing, self.name)

    def fingerprint(self) -> str:
        """Changes with the code that makes and scores this candidate's frames (for --cache)."""
        common = ["vfi/backends/base.py", "vfi/evaluation/metrics.py", "vfi/data/plan.py"]
        common += [str(p.relative_to(ROOT)) for p in sorted((ROOT / "vfi/io").glob("*.py"))]
        model = {"flow": "opticalflow"}.get(self.name, self.name)
        own = [f"vfi/backends/{self.name}.py", "vfi/imaging.py"]
        own += [
            str(p.relative_to(ROOT)) for p in sorted((ROOT / "vfi/models" / model).rglob("*.py"))
        ]
        if self.name == "tvl1":
            own = ["vfi/models/opticalflow/warp.py"]
        digest = hashlib.sha256(self.spec.encode())
        if self.name == "tvl1":
            digest.update(inspect.getsource(TVL1Backend).encode())
        digest.update(inspect.getsource(run_candidate).encode())  # how frames are made, scored
        for path in common + own:
            digest.update((ROOT / path).read_bytes())
        return digest.hexdigest()[:16]


def source_sequences(data: Path) -> dict[str, list[Path]]:
    """<dataset>__<sequence> -> its frames in time order (folders holding images)."""
    found = {}
    for folder in sorted(p for p in data.rglob("*") if p.is_dir()):
        frames = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if len(frames) >= 3:
            found["__".join(folder.relative_to(data).parts)] = frames
    if not found:
        raise SystemExit(f"no folder with three or more frames under {data}")
    return found


def _scaled(frame: np.ndarray, scale: float) -> np.ndarray:
    if scale == 1.0:
        return frame
    height, width = frame.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA).astype(frame.dtype)


@dataclass(frozen=True)
class Disturbance:
    """What a harder recording adds to every frame of a real sequence, before any scaling:
    exposure flicker (each frame's gain drawn from [flicker, 1]), stage drift (each frame moved
    `drift` pixels in a random direction from the one before; edges mirrored) and shot noise
    (Poisson, `photons` at the file's full scale; 0: none). Seeded by the sequence's name."""

    flicker: float = 1.0
    drift: float = 0.0
    photons: float = 0.0

    @classmethod
    def parse(cls, spec: str) -> Disturbance:
        """`flicker=0.7,drift=10,photons=2000` (any subset)."""
        values = {}
        for item in filter(None, spec.split(",")):
            key, _, value = item.partition("=")
            if key not in {f.name for f in fields(cls)}:
                raise SystemExit(f"--disturb: unknown {key!r}; use flicker, drift, photons")
            values[key] = float(value)
        return cls(**values)

    def apply(self, name: str, images: list[np.ndarray]) -> list[np.ndarray]:
        rng = np.random.default_rng(int(hashlib.sha256(name.encode()).hexdigest()[:8], 16))
        peak = float(np.iinfo(images[0].dtype).max)
        position = np.zeros(2)
        out = []
        for image in images:
            angle = rng.uniform(0, 2 * np.pi)
            position += self.drift * np.array([np.cos(angle), np.sin(angle)])
            pixels = image.astype(np.float32) * rng.uniform(self.flicker, 1.0)
            shift = np.float32([[1, 0, position[0]], [0, 1, position[1]]])
            size = (image.shape[1], image.shape[0])
            pixels = cv2.warpAffine(pixels, shift, size, borderMode=cv2.BORDER_REFLECT)
            pixels = pixels.reshape(image.shape)
            if self.photons > 0:
                counts = rng.poisson(np.clip(pixels, 0, None) * (self.photons / peak))
                pixels = counts * (peak / self.photons)
            out.append(np.clip(np.rint(pixels), 0, peak).astype(image.dtype))
        return out


def build_sets(
    sources: dict[str, list[Path]],
    root: Path,
    scale: float,
    limit: int,
    disturbance: Disturbance | None = None,
) -> None:
    """Write both test sets as workflow data folders: <root>/<set>/{input,gt}/<seq>/."""
    for name, frames in list(sources.items())[: limit or None]:
        images = [read_frame(p) for p in frames]
        if disturbance is not None:
            images = disturbance.apply(name, images)
        images = [_scaled(image, scale) for image in images]
        for i, image in enumerate(images, start=1):  # odd frames known, even frames truth
            part = "input" if i % 2 else "gt"
            if i % 2 == 0 and i == len(images):
                continue  # a last even frame has no right neighbour
            write_frame(root / "triplets" / part / name / f"{i}.png", image)
        for start in range(0, len(images) - WINDOW + 1, WINDOW - 1):
            window = f"{name}__w{start + 1:03d}"
            for k, image in enumerate(images[start : start + WINDOW], start=1):
                part = "input" if k in (1, WINDOW) else "gt"
                write_frame(root / "hierarchy" / part / window / f"frame_{k:03d}.png", image)


def run_candidate(candidate: Candidate, data_dir: Path) -> list[dict[str, object]]:
    """Every frame of every sequence made as the workflow makes it, and scored."""
    backend = candidate.backend()
    timing = candidate.resolved_timing()
    rows = []
    for seq in discover(data_dir).sequences:
        frames = {i: read_frame(p) for i, p in seq.known.items()}
        truth = dict(frames)  # known frames and, as they are scored, the ground truth
        mapping = normalisation_of(seq, "auto")
        peak = float(sequence_data_range(seq, "auto")["value"])
        scored = []
        for level in sorted({f.level for f in seq.plan}):
            for frame in (f for f in seq.plan if f.level == level):
                prev = to_model_tensor(frames[frame.prev], mapping)[None]
                nxt = to_model_tensor(frames[frame.next], mapping)[None]
                times = torch.tensor([frame.time(timing)], dtype=torch.float32)
                start = time.perf_counter()
                with torch.inference_mode():
                    out = backend.interpolate(prev, nxt, times, [0])[0]
                seconds = time.perf_counter() - start
                frames[frame.index] = from_model_tensor(out, seq.info, mapping)
                if frame.index in seq.ground_truth:
                    truth[frame.index] = read_frame(seq.ground_truth[frame.index])
                    scores = score(frames[frame.index], truth[frame.index], data_range=peak)
                    scored.append(
                        {"sequence": seq.name, "frame": frame.index, "level": frame.level,
                         "seconds": seconds, **scores}
                    )  # fmt: skip
        temporal = temporal_consistency(frames, truth, peak)["difference"]
        rows += [{**row, "temporal": temporal} for row in scored]
    return rows


def sequence_group(name: str) -> str:
    """Windows of one source sequence are not independent: bootstrap them together."""
    return name.split("__w")[0]


def paired_difference(
    rows: list[dict], reference: list[dict], metric: str, seed: int = 0
) -> tuple[float, float, float]:
    """Mean of (candidate - reference) over shared finite frames, with a 95% interval from a
    bootstrap over source sequences."""
    ref = {(r["sequence"], r["frame"]): r[metric] for r in reference}
    differences, groups = [], []
    for r in rows:
        other = ref.get((r["sequence"], r["frame"]))
        if other is not None and math.isfinite(r[metric]) and math.isfinite(other):
            differences.append(r[metric] - other)
            groups.append(sequence_group(r["sequence"]))
    if not differences:
        return math.nan, math.nan, math.nan
    low, high = bootstrap_ci(
        np.array(differences), 0.95, BOOTSTRAP_SAMPLES, seed, groups=np.array(groups)
    )
    return float(np.mean(differences)), low, high


def _mean(rows: list[dict], key: str) -> float:
    values = [r[key] for r in rows if math.isfinite(r[key])]
    return float(np.mean(values)) if values else math.nan


def _temporal(rows: list[dict]) -> float:
    """Mean over sequences of the temporal-consistency difference (dB; above 0: the made
    sequence changes less from frame to frame than the true one, e.g. less noise)."""
    per_sequence = {r["sequence"]: r.get("temporal", math.nan) for r in rows}
    values = [v for v in per_sequence.values() if math.isfinite(v)]
    return float(np.mean(values)) if values else math.nan


def print_table(
    set_name: str, results: dict[str, list[dict]], reference: str, by_level: bool
) -> None:
    ref_rows = results[reference]
    groups = len({sequence_group(r["sequence"]) for r in ref_rows})
    print(f"\n{set_name}: {len(ref_rows)} frames from {groups} source sequences")
    print(
        f"{'candidate':>34} {'PSNR':>7} {'SSIM':>7} {'LPIPS':>6}  "
        f"{'dPSNR vs ' + reference:>30} {'dSSIM':>24} {'s/pair':>7} {'temporal':>8}"
    )
    for spec, rows in results.items():
        d_psnr = paired_difference(rows, ref_rows, "psnr")
        d_ssim = paired_difference(rows, ref_rows, "ssim")
        lpips = _mean(rows, "lpips")
        print(
            f"{spec:>34} {_mean(rows, 'psnr'):>7.2f} {_mean(rows, 'ssim'):>7.4f} "
            f"{'n/a' if math.isnan(lpips) else f'{lpips:.3f}':>6}  "
            f"{d_psnr[0]:>+8.2f} [{d_psnr[1]:+6.2f}, {d_psnr[2]:+6.2f}] dB    "
            f"{d_ssim[0]:>+7.4f} [{d_ssim[1]:+.4f}, {d_ssim[2]:+.4f}] "
            f"{_mean(rows, 'seconds'):>7.2f} {_temporal(rows):>+8.2f}"
        )
    datasets = sorted({r["sequence"].split("__")[0] for r in ref_rows})
    if len(datasets) > 1:
        print(f"{'dPSNR by dataset':>34} " + " ".join(f"{d[:14]:>14}" for d in datasets))
        for spec, rows in results.items():
            cells = []
            for dataset in datasets:
                mine = [r for r in rows if r["sequence"].split("__")[0] == dataset]
                cells.append(paired_difference(mine, ref_rows, "psnr")[0])
            print(f"{spec:>34} " + " ".join(f"{c:>+14.2f}" for c in cells))
    if by_level:
        levels = sorted({r["level"] for r in ref_rows})
        print(f"{'PSNR by level':>34} " + " ".join(f"{'L' + str(v):>7}" for v in levels))
        for spec, rows in results.items():
            cells = [_mean([r for r in rows if r["level"] == v], "psnr") for v in levels]
            print(f"{spec:>34} " + " ".join(f"{c:>7.2f}" for c in cells))


def main(argv: Seq[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="<dataset>/<sequence>/frames")
    parser.add_argument("--candidates", nargs="+", default=["blend", "flow"], help="see above")
    parser.add_argument("--reference", help="candidate the differences are taken to (the first)")
    parser.add_argument("--sets", nargs="+", choices=SETS, default=list(SETS), help="test sets")
    parser.add_argument("--scale", type=float, default=1.0, help="resize frames first (area)")
    parser.add_argument("--limit", type=int, default=0, help="use the first N sequences (0: all)")
    parser.add_argument(
        "--disturb",
        default="",
        help="add to the real frames, e.g. flicker=0.7,drift=10,photons=2000",
    )
    parser.add_argument("--threads", type=int, default=2, help="torch and OpenCV threads")
    parser.add_argument("--csv", type=Path, help="write every scored frame here")
    parser.add_argument("--cache", type=Path, help="JSON file of results to reuse (by code hash)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    candidates = [Candidate.parse(spec) for spec in args.candidates]
    reference = args.reference or candidates[0].spec
    if reference not in args.candidates:
        raise SystemExit(f"--reference {reference!r} is not among --candidates")
    cache = json.loads(args.cache.read_text()) if args.cache and args.cache.exists() else {}
    sources = source_sequences(args.data)
    names = {k: [p.name for p in v] for k, v in sources.items()}
    data_key = hashlib.sha256(
        json.dumps([args.scale, args.limit, args.disturb, names]).encode()
    ).hexdigest()[:16]  # fmt: skip
    all_rows = []
    with tempfile.TemporaryDirectory() as tmp:
        disturbance = Disturbance.parse(args.disturb) if args.disturb else None
        build_sets(sources, Path(tmp), args.scale, args.limit, disturbance)
        for set_name in args.sets:
            results = {}
            for candidate in candidates:
                key = f"{set_name}|{data_key}|{candidate.fingerprint()}"
                if key not in cache:
                    start = time.perf_counter()
                    cache[key] = run_candidate(candidate, Path(tmp) / set_name)
                    took = time.perf_counter() - start
                    print(f"{set_name}: {candidate.spec} ({took:.0f} s)", file=sys.stderr)
                    if args.cache:
                        args.cache.write_text(json.dumps(cache))
                results[candidate.spec] = cache[key]
                all_rows += [
                    {"set": set_name, "candidate": candidate.spec, **r} for r in cache[key]
                ]
            print_table(set_name, results, reference, by_level=set_name == "hierarchy")
    if args.csv:
        with args.csv.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(all_rows[0]))
            writer.writeheader()
            writer.writerows(all_rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
