"""The Python steps of benchmarks/gpu_check.sh, one subcommand each; each prints numbers.

    python benchmarks/gpu_check.py pack-deps .gpu_deps            # here: wheels the GPU lacks
    python3 benchmarks/gpu_check.py install-deps .gpu_deps /tmp/vfi-gpu   # there
    python benchmarks/gpu_check.py weights /tmp/w [--tiny]        # random official .ckpt + compact
    python benchmarks/gpu_check.py lpips --device cuda --size 2048x1504
    python benchmarks/gpu_check.py throughput --device cuda --weights W --steps 10 40
    python benchmarks/gpu_check.py official --official DIR --ckpt W.ckpt --device cuda

`pack-deps` runs where the project's virtual environment is (the GPU machine has no package
index): it zips every pure-Python distribution that `vfi` needs, Snakemake's closure included,
from this environment's site-packages into a wheel of its own (the installed files and their
.dist-info are a wheel's contents). `install-deps` runs on the GPU machine: a virtual environment
over the system packages (torch, CUDA), into which it installs only the wheels whose
distribution the system lacks, and a `vfi` command for this checkout.

`official` times the official LDMVFI code (github.com/danier97/LDMVFI, a checkout given with
--official; never part of this repository) against ours in fp32 on the same random weights, in
fresh processes, one frame pair at a time as the official code works: the ratio is the
throughput target of issue 18 (ours at least 5x).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib.metadata as metadata
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
TINY_CKPT = ROOT / "tests" / "fixtures" / "ldmvfi" / "tiny.ckpt"  # stored packed: fixture_file
TINY_CONFIG = ROOT / "tests" / "fixtures" / "ldmvfi" / "tiny_config.yaml"
# Never packed: what the GPU machine's image brings compiled for its CUDA, PuLP (16 MB of solver
# binaries; Snakemake falls back to its greedy scheduler without it) and greenlet (only
# SQLAlchemy's asyncio support imports it).
NEVER_PACK = {"torch", "torchvision", "triton", "numpy", "pulp", "greenlet"}
# What this project needs that the GPU machine's image already has (the device tool's KINDS.md,
# package list read 2026-11-17; tzdata is not listed there but pandas requires it): not packed
# unless --skip says otherwise.
ON_GPU_IMAGE = [
    "attrs",
    "certifi",
    "charset-normalizer",
    "contourpy",
    "cycler",
    "einops",
    "fonttools",
    "idna",
    "imageio",
    "jinja2",
    "kiwisolver",
    "lazy-loader",
    "markupsafe",
    "matplotlib",
    "networkx",
    "opencv-python-headless",
    "packaging",
    "pandas",
    "pillow",
    "psutil",
    "pyparsing",
    "python-dateutil",
    "pyyaml",
    "requests",
    "safetensors",
    "scikit-image",
    "scipy",
    "tabulate",
    "tifffile",
    "tqdm",
    "typing-extensions",
    "tzdata",
    "urllib3",
    "wrapt",
]
# Compiled, with a pure-Python fallback they use when their extension modules are missing:
# packed without those (smaller, and right for any Python).
PURE_FALLBACK = {"sqlalchemy", "immutables"}
# Compiled and without a fallback, missing on the GPU image (Snakemake's sqlmodel and
# jsonschema need them): downloaded as wheels for the GPU machine's Python.
DOWNLOAD_COMPILED = ["pydantic-core", "rpds-py"]
# The working tree and everything carried travel to the GPU machine within this (device tool).
TRAVEL_LIMIT = 64 * 2**20


# --------------------------------------------------------------------------------------------
# Dependencies for a machine without a package index


def _name(requirement: str) -> str:
    return re.split(r"[\s;<>=!~\[(]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def closure(roots: list[str]) -> list[metadata.Distribution]:
    """The installed distributions `roots` need (extras and environment markers left out)."""
    seen: dict[str, metadata.Distribution] = {}
    todo = list(roots)
    while todo:
        name = _name(todo.pop())
        if name in seen or name in NEVER_PACK:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen[name] = dist
        todo += [r for r in dist.requires or [] if "extra ==" not in r]
    return sorted(seen.values(), key=lambda d: d.metadata["Name"].lower())


_COMPILED_SUFFIXES = (".so", ".pyd", ".dylib")
# Sources of extension modules: of no use without a compiler.
_SOURCE_SUFFIXES = (".pyx", ".pxd", ".c", ".cpp", ".h")


def _is_pure(dist: metadata.Distribution) -> bool:
    return not any(str(f).endswith(_COMPILED_SUFFIXES) for f in dist.files or [])


def wheel_of(dist: metadata.Distribution, folder: Path) -> Path:
    """A py3-none-any wheel made of an installed distribution's Python files (extension modules
    and their sources left out: only for pure distributions and those in PURE_FALLBACK)."""
    name = re.sub(r"[-.]+", "_", dist.metadata["Name"])
    path = folder / f"{name}-{dist.version}-py3-none-any.whl"
    site = Path(dist.locate_file(""))
    files = [f for f in dist.files or [] if not str(f).startswith("..")]
    files = [f for f in files if "__pycache__" not in f.parts and f.name != "RECORD"]
    files = [f for f in files if not str(f).endswith(_COMPILED_SUFFIXES + _SOURCE_SUFFIXES)]
    info = next(f.parts[0] for f in dist.files if f.parts[0].endswith(".dist-info"))
    records = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(files, key=str):
            if not (site / file).is_file():
                continue
            data = (site / file).read_bytes()
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            archive.writestr(file.as_posix(), data)
            records.append(f"{file.as_posix()},sha256={digest.decode()},{len(data)}")
        records.append(f"{info}/RECORD,,")
        archive.writestr(f"{info}/RECORD", "\n".join(records) + "\n")
    return path


def cmd_pack_deps(args: argparse.Namespace) -> None:
    """Wheels of what the GPU machine lacks, and what the whole trip there would weigh."""
    args.dest.mkdir(parents=True, exist_ok=True)
    packed, compiled = [], []
    skip = {_name(n) for n in args.skip} | {"vfi"}
    for dist in closure(["vfi", "snakemake", "lpips", *args.extra]):
        name = _name(dist.metadata["Name"])
        if name in skip:
            continue
        if _is_pure(dist) or name in PURE_FALLBACK:
            packed.append(wheel_of(dist, args.dest))
        else:
            compiled.append(dist.metadata["Name"])
    size = sum(p.stat().st_size for p in packed) / 2**20
    print(
        f"packed {len(packed)} distributions as Python-only wheels into {args.dest} "
        f"({size:.1f} MiB)"
    )
    pip = [sys.executable, "-m", "pip"]
    # Wheels for the GPU machine's Python (install-deps installs only the missing ones).
    wanted = [f"{n}=={metadata.version(n)}" for n in compiled if _name(n) in args.compiled]
    if wanted:
        platforms = [f"--platform=manylinux_2_{n}_x86_64" for n in (17, 27, 28, 34)]
        command = [*pip, "download", "-q", "--no-deps", "--only-binary=:all:"]
        command += [f"--python-version={args.python_version}", "--implementation=cp", *platforms]
        subprocess.run([*command, "-d", str(args.dest), *wanted], check=True)
        print(f"downloaded wheels of {', '.join(wanted)}")
    others = [n for n in compiled if _name(n) not in args.compiled]
    if others:
        print(f"compiled, expected on the GPU machine: {', '.join(others)}")
    if args.download:
        # Pure-Python packages from the index (built into wheels where only sources exist).
        subprocess.run(
            [*pip, "wheel", "-q", "--no-deps", "-w", str(args.dest), *args.download], check=True
        )
        print(f"fetched {', '.join(args.download)}")
    report_travel_size([args.dest, *args.carry])


def _tree_files() -> list[Path]:
    """The files that travel with the working tree: tracked, and untracked but not ignored."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    return [ROOT / name for name in listed if name and (ROOT / name).is_file()]


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def report_travel_size(carried: list[Path]) -> int:
    """Print the working tree's size plus the carried folders' against the travel limit."""
    tree = sum(f.stat().st_size for f in _tree_files())
    extra = {str(p): _size(p) for p in carried if p.exists()}
    total = tree + sum(extra.values())
    parts = ", ".join(f"{name} {size / 2**20:.1f}" for name, size in extra.items())
    verdict = "fits" if total <= TRAVEL_LIMIT else "DOES NOT FIT: carry less or shrink the tree"
    print(
        f"travel size: working tree {tree / 2**20:.1f} MiB + {parts} = "
        f"{total / 2**20:.1f} MiB of {TRAVEL_LIMIT / 2**20:.0f} MiB ({verdict})"
    )
    return total


def cmd_install_deps(args: argparse.Namespace) -> None:
    """A venv over the system packages with the missing wheels and a `vfi` command."""
    python = args.venv / "bin" / "python"
    if not python.exists():
        subprocess.run(
            [sys.executable, "-m", "venv", "--system-site-packages", str(args.venv)], check=True
        )
    missing = []
    for wheel in sorted(args.wheels.glob("*.whl")):
        name = wheel.name.split("-")[0]
        found = subprocess.run(
            [str(python), "-c", f"import importlib.metadata as m; m.distribution({name!r})"],
            capture_output=True,
        )
        if found.returncode:
            missing.append(str(wheel))
    if missing:
        pip = [str(python), "-m", "pip", "install", "-q", "--no-index", "--no-deps"]
        subprocess.run([*pip, "--no-compile", *missing], check=True)
    # This checkout's `vfi`, without building it (the image may lack the build tools' network).
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(site) / "vfi-checkout.pth").write_text(f"{ROOT}\n")
    script = args.venv / "bin" / "vfi"
    script.write_text(f"#!{python}\nimport sys\nfrom vfi.cli import main\nsys.exit(main())\n")
    script.chmod(0o755)
    print(f"installed {len(missing)} missing wheel(s) into {args.venv}; vfi from {ROOT}")


# --------------------------------------------------------------------------------------------
# Weights


def cmd_weights(args: argparse.Namespace) -> None:
    """official.ckpt (random weights of the published layout, or the tiny test model) and the
    compact full.safetensors made from it."""
    from vfi.models.ldmvfi.checkpoint import convert_checkpoint

    args.folder.mkdir(parents=True, exist_ok=True)
    ckpt, compact = args.folder / "official.ckpt", args.folder / "full.safetensors"
    start = time.perf_counter()
    if args.tiny:
        sys.path.insert(0, str(ROOT / "tests"))
        from support import fixture_file

        shutil.copyfile(fixture_file(TINY_CKPT), ckpt)
        convert_checkpoint(ckpt, compact, config=TINY_CONFIG)
    else:
        from ldmvfi_full_size import random_official_checkpoint

        random_official_checkpoint(ckpt)
        convert_checkpoint(ckpt, compact)
    print(
        f"weights: {'tiny test model' if args.tiny else 'published architecture'}, random; "
        f".ckpt {ckpt.stat().st_size / 1e9:.2f} GB, compact {compact.stat().st_size / 1e9:.2f} GB,"
        f" made in {time.perf_counter() - start:.1f} s"
    )


# --------------------------------------------------------------------------------------------
# LPIPS


def cmd_lpips(args: argparse.Namespace) -> None:
    """Seconds per frame of LPIPS (AlexNet, random backbone: same cost) alone and in a batch,
    and how far the device's distances are from the CPU's."""
    import numpy as np
    import torch
    import torchvision

    from vfi.evaluation.lpips_scorer import LPIPSScorer
    from vfi.models.ldmvfi.speed import parse_size

    height, width = parse_size(args.size)
    rng = np.random.default_rng(0)
    truth = [rng.integers(1000, 3000, (height, width)).astype(np.uint16) for _ in range(args.batch)]
    made = [np.clip(t + rng.normal(0, 80, t.shape), 0, 4095).astype(np.uint16) for t in truth]
    sync = torch.device(args.device).type == "cuda"
    with tempfile.TemporaryDirectory() as tmp:
        backbone = Path(tmp) / "alexnet-random.pth"
        torch.manual_seed(0)
        torch.save(torchvision.models.alexnet(weights=None).state_dict(), backbone)
        scorer = LPIPSScorer("alex", backbone, args.device)
        for label, count in (("1 frame", 1), (f"batch of {args.batch}", args.batch)):
            times = []
            for _ in range(args.repeats + 1):  # the first is a warm-up
                if sync:
                    torch.cuda.synchronize()
                start = time.perf_counter()
                scorer.distances(made[:count], truth[:count], 4095.0)
                if sync:
                    torch.cuda.synchronize()
                times.append(time.perf_counter() - start)
            per_frame = statistics.median(times[1:]) / count
            print(
                f"LPIPS alex {width}x{height} gray16, {label}, {args.device}: "
                f"{per_frame:.4f} s/frame"
            )
        crop = [m[:256, :256] for m in made], [t[:256, :256] for t in truth]
        here = scorer.distances(*crop, 4095.0)
        cpu = LPIPSScorer("alex", backbone, "cpu").distances(*crop, 4095.0)
        difference = float(np.max(np.abs(np.subtract(here, cpu))))
        print(f"LPIPS {args.device} against cpu, 256x256 crops: max difference {difference:.2e}")


# --------------------------------------------------------------------------------------------
# Whole-workflow throughput, extrapolated to more DDIM steps

_WALL = re.compile(r"whole run: ([\d.]+) s wall, (\d+) frames made by (\d+) model jobs")
_STARTUP = re.compile(r"of which start-up ([\d.]+) s")


def cmd_throughput(args: argparse.Namespace) -> None:
    """Two runs at different step counts: the cost per step is their difference, so
    seconds per frame at --target steps = run(a) + (target - a) * per-step cost. One step
    count gives that run's figure alone."""
    runs = {}
    for steps in args.steps:
        # Beside the weights: the hard link below needs one file system.
        with tempfile.TemporaryDirectory(dir=args.tmpdir or args.weights.parent) as tmp:
            os.link(args.weights, Path(tmp) / "full.safetensors")  # workflow_fps reuses it
            command = [
                sys.executable,
                str(ROOT / "benchmarks" / "workflow_fps.py"),
                f"--backend={args.backend}",
                f"--device={args.device}",
                f"--size={args.size}",
                f"--steps={steps}",
                f"--precision={args.precision}",
                f"--cores={args.cores}",
                f"--workdir={tmp}",
            ]
            done = subprocess.run(command, capture_output=True, text=True)
            print(done.stdout, end="")
            if done.returncode:
                sys.exit(f"workflow_fps.py failed at {steps} steps:\n{done.stderr[-3000:]}")
            wall, frames, jobs = _WALL.search(done.stdout).groups()
            startup = float(_STARTUP.search(done.stdout).group(1))
            runs[steps] = (float(wall), int(frames), int(jobs), startup)
            print(f"{steps} steps: {float(wall) / int(frames):.3f} s/frame (whole run, wall)")
    if len(runs) < 2:
        return
    (low, (wall_low, frames, _, _)), (high, (wall_high, _, _, _)) = sorted(runs.items())[:2]
    per_step = (wall_high - wall_low) / (high - low) / frames
    at_target = wall_low / frames + (args.target - low) * per_step
    print(
        f"extrapolated: {per_step * 1000:.2f} ms per DDIM step per frame; "
        f"{at_target:.3f} s/frame at {args.target} steps, {args.size} {args.precision} "
        f"(whole run, {frames} frames; target <= 0.3 s on an H100-class GPU)"
    )


# --------------------------------------------------------------------------------------------
# The official LDMVFI code against ours, same weights

# The end of both child scripts below: time `one()`, print the median as JSON.
_MEDIAN_OF_REPEATS = r"""
if args["repeats"] > 1:  # a warm-up call; one call alone times the first call too
    one()
times = []
for _ in range(args["repeats"]):
    start = time.perf_counter(); one(); times.append(time.perf_counter() - start)
print(json.dumps({"seconds": sorted(times)[len(times) // 2]}))
"""

# Runs in a fresh process with the official checkout first on sys.path. pytorch_lightning 2
# moved rank_zero_only out of utilities.distributed, which the official ddpm.py imports.
OFFICIAL = (
    r"""
import importlib, json, sys, time, types
args = json.loads(sys.argv[1])
sys.path.insert(0, args["official"])
import torch
try:
    import pytorch_lightning.utilities.distributed  # noqa: F401
except ImportError:
    import pytorch_lightning.utilities as utilities
    shim = types.ModuleType("pytorch_lightning.utilities.distributed")
    shim.rank_zero_only = utilities.rank_zero_only
    sys.modules["pytorch_lightning.utilities.distributed"] = shim
from omegaconf import OmegaConf
from ldm.models.diffusion.ddim import DDIMSampler
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
def build(node):
    module, name = node["target"].rsplit(".", 1)
    return getattr(importlib.import_module(module), name)(**node.get("params", {}))
config = OmegaConf.load(args["config"])
model = build(config.model)
model.load_state_dict(torch.load(args["ckpt"], map_location="cpu")["state_dict"])
device = torch.device(args["device"])
model = model.to(device).eval()
sampler = DDIMSampler(model)
gen = torch.Generator().manual_seed(1)
h, w = args["height"], args["width"]
frames = [(torch.rand(1, 3, h, w, generator=gen) * 2 - 1).to(device) for _ in range(2)]
def one():
    with torch.no_grad(), model.ema_scope():
        xc = {"prev_frame": frames[0], "next_frame": frames[1]}
        c, phi_prev, phi_next = model.get_learned_conditioning(xc)
        shape = (model.channels, c.shape[2], c.shape[3])
        out, _ = sampler.sample(S=args["steps"], conditioning=c, batch_size=c.shape[0],
                                shape=shape, eta=1.0, verbose=False)
        out = model.decode_first_stage(out, xc, phi_prev, phi_next).clamp(-1, 1)
    torch.cuda.synchronize(device)
    return out
"""
    + _MEDIAN_OF_REPEATS
)

OURS = (
    r"""
import json, sys, time
args = json.loads(sys.argv[1])
import torch
from vfi.models.ldmvfi import LDMVFI
device = torch.device(args["device"])
model = LDMVFI.from_checkpoint(args["ckpt"], device=device, config=args.get("model_config"))
gen = torch.Generator().manual_seed(1)
h, w = args["height"], args["width"]
prev, next_ = ((torch.rand(1, 3, h, w, generator=gen) * 2 - 1).to(device) for _ in range(2))
def one():
    out = model.interpolate(prev, next_, steps=args["steps"], eta=1.0, seeds=[0], precision="fp32")
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return out
"""
    + _MEDIAN_OF_REPEATS
)


def _child(code: str, settings: dict, extra_path: str | None = None) -> float:
    env = dict(os.environ)
    if extra_path:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [extra_path, env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(settings)], capture_output=True, text=True, env=env
    )
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])["seconds"]


def cmd_official(args: argparse.Namespace) -> None:
    from vfi.models.ldmvfi.speed import parse_size

    height, width = parse_size(args.size)
    settings = {
        "ckpt": str(args.ckpt),
        "device": args.device,
        "height": height,
        "width": width,
        "steps": args.steps,
        "repeats": args.repeats,
        "model_config": str(args.model_config) if args.model_config else None,
    }
    ours = _child(OURS, settings)
    print(f"ours, fp32, 1 pair {args.size}, {args.steps} DDIM steps: {ours:.3f} s/frame")
    if not args.official:
        print("official: not run (no --official checkout of github.com/danier97/LDMVFI given)")
        return
    config = args.official / "configs" / "ldm" / "ldmvfi-vqflow-f32-c256-concat_max.yaml"
    settings |= {"official": str(args.official), "config": str(args.model_config or config)}
    official = _child(OFFICIAL, settings, str(args.official))
    print(f"official, fp32, 1 pair {args.size}, {args.steps} DDIM steps: {official:.3f} s/frame")
    print(f"throughput ratio ours / official (fp32): {official / ours:.2f}x (target >= 5x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    pack = commands.add_parser("pack-deps", help="wheels of the pure-Python dependencies")
    pack.add_argument("dest", type=Path)
    pack.add_argument("--extra", nargs="*", default=[], help="more installed distributions")
    pack.add_argument(
        "--compiled",
        nargs="*",
        default=DOWNLOAD_COMPILED,
        type=_name,
        help="compiled distributions to download as wheels for the GPU machine's Python "
        f"(default: {' '.join(DOWNLOAD_COMPILED)})",
    )
    pack.add_argument("--python-version", default="3.12", help="the GPU machine's Python")
    pack.add_argument(
        "--skip",
        nargs="*",
        default=ON_GPU_IMAGE,
        help="distributions the GPU machine already has (default: those its image lists)",
    )
    pack.add_argument(
        "--download",
        nargs="*",
        default=[],
        metavar="REQ",
        help="pure-Python packages to fetch from the index, e.g. what the official LDMVFI code "
        "needs: omegaconf==2.3.0 antlr4-python3-runtime==4.9.3 taming-transformers==0.0.1",
    )
    pack.add_argument(
        "--carry",
        nargs="*",
        type=Path,
        default=[],
        help="other folders that will travel (the official checkout), for the size report",
    )
    pack.set_defaults(func=cmd_pack_deps)
    install = commands.add_parser("install-deps", help="venv with the missing wheels and vfi")
    install.add_argument("wheels", type=Path)
    install.add_argument("venv", type=Path)
    install.set_defaults(func=cmd_install_deps)
    weights = commands.add_parser("weights", help="random official .ckpt and compact weights")
    weights.add_argument("folder", type=Path)
    weights.add_argument("--tiny", action="store_true", help="the tiny test model instead")
    weights.set_defaults(func=cmd_weights)
    lpips = commands.add_parser("lpips", help="LPIPS seconds per frame on a device")
    lpips.add_argument("--device", default="cuda")
    lpips.add_argument("--size", default="2048x1504")
    lpips.add_argument("--batch", type=int, default=4)
    lpips.add_argument("--repeats", type=int, default=3)
    lpips.set_defaults(func=cmd_lpips)
    throughput = commands.add_parser("throughput", help="whole workflow, extrapolated steps")
    throughput.add_argument("--weights", type=Path, required=True, help="compact .safetensors")
    throughput.add_argument("--backend", default="ldmvfi", choices=["ldmvfi", "blend"])
    throughput.add_argument("--device", default="cuda")
    throughput.add_argument("--size", default="2048x1504")
    throughput.add_argument("--precision", default="bf16")
    throughput.add_argument("--steps", type=int, nargs="+", default=[10, 40])
    throughput.add_argument("--target", type=int, default=200)
    throughput.add_argument("--cores", type=int, default=8)
    throughput.add_argument("--tmpdir", type=Path, help="folder of the runs (weights' disk)")
    throughput.set_defaults(func=cmd_throughput)
    official = commands.add_parser("official", help="official LDMVFI against ours, fp32")
    official.add_argument("--ckpt", type=Path, required=True, help="official-format .ckpt")
    official.add_argument("--official", type=Path, help="checkout of danier97/LDMVFI")
    official.add_argument("--model-config", type=Path, help="model YAML (default: published)")
    official.add_argument("--device", default="cuda")
    official.add_argument("--size", default="1024x752")
    official.add_argument("--steps", type=int, default=20)
    official.add_argument(
        "--repeats", type=int, default=2, help="timed calls (after a warm-up call when > 1)"
    )
    official.set_defaults(func=cmd_official)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
