"""Speed, memory and precision of the full published LDMVFI architecture, with random weights.

What `vfi bench` prints. Timings are per stage, because the stages scale differently: the encoder
runs once per known frame (each is reused by every pair that has it as a neighbour), the U-Net
once per DDIM step for a whole batch of pairs, the decoder once per batch. Seconds per generated
frame at S steps and batch B follow as (encode + S * unet_step + decode) / B, with one encoded
frame per generated frame (the steady state of midpoint generation: every known frame is shared
by two pairs; the official code encodes two per generated frame).

Random weights give the real cost (the arithmetic does not depend on the values) but not the
real pictures; fidelity of the fast precisions is reported as the relative error of each stage's
output against float32 on the same inputs.
"""

from __future__ import annotations

import contextlib
import resource
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch import Tensor

from .config import load_config
from .model import LATENT_CHANNELS, LDMVFI, EncodedFrames
from .precision import Precision

# Timings are the median of this many runs after one warm-up run.
DEFAULT_REPEATS = 3


@dataclass(frozen=True)
class StageTimes:
    """Seconds of each stage at one size, batch and precision; peak memory in bytes."""

    height: int
    width: int
    batch: int
    precision: str
    encode_per_frame: float
    unet_step: float  # one DDIM step of the whole batch
    decode: float  # the whole batch
    peak_memory: int | None  # device memory (CUDA) or process resident peak (CPU)

    def seconds_per_frame(self, steps: int, encodes_per_frame: float = 1.0) -> float:
        batch_cost = self.encode_per_frame * encodes_per_frame * self.batch
        batch_cost += steps * self.unet_step + self.decode
        return batch_cost / self.batch


def random_model(device: torch.device, config: str | None = None, seed: int = 0) -> LDMVFI:
    """The architecture of `config` (None: the published one) with PyTorch's default random
    initialisation, in eval mode."""
    torch.manual_seed(seed)
    with torch.device(device):
        model = LDMVFI(load_config(config))
    return model.eval().requires_grad_(False)


def random_frames(batch: int, height: int, width: int, seed: int = 1) -> Tensor:
    """B x 3 x H x W in [-1, 1]: smooth random images (noise would be an unusual input)."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.rand(batch, 3, max(1, height // 16), max(1, width // 16), generator=generator)
    smooth = torch.nn.functional.interpolate(coarse, size=(height, width), mode="bilinear")
    return smooth * 2 - 1


def time_stages(
    model: LDMVFI,
    height: int,
    width: int,
    batch: int,
    precision: Precision,
    repeats: int = DEFAULT_REPEATS,
    channels_last: bool = False,
) -> StageTimes:
    """Median seconds of encode, one U-Net step and decode at this size, batch and precision."""
    device = model.device
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    model.to(memory_format=memory_format)
    frames = random_frames(batch, height, width).to(device).contiguous(memory_format=memory_format)
    _reset_peak_memory(device)
    with torch.inference_mode():
        encoded = model.encode_frames(frames, precision)
        encode = _median_seconds(lambda: model.encode_frames(frames, precision), repeats, device)
        x, t, c = _unet_inputs(encoded, batch)
        denoise = model.denoiser(c, precision)
        step = _median_seconds(lambda: denoise(x, t), repeats, device)
        decode = _median_seconds(
            lambda: model.decode(x, encoded, encoded, precision), repeats, device
        )
    return StageTimes(
        height,
        width,
        batch,
        precision.name,
        encode / batch,
        step,
        decode,
        _peak_memory(device),
    )


@dataclass(frozen=True)
class StageError:
    """How far one stage's output in a fast precision is from float32 on the same inputs."""

    stage: str
    precision: str
    relative: float  # ||fast - fp32|| / ||fp32||
    max_abs: float
    reference_rms: float


def stage_errors(
    model: LDMVFI,
    height: int,
    width: int,
    precision: Precision,
    timesteps: tuple[int, ...],
    autoencoder: bool = True,
) -> list[StageError]:
    """Relative error of the encoder latent, the U-Net eps (at each t) and the decoder output.

    Every stage gets the same float32 inputs in both precisions, so errors do not compound: this
    is the error each stage adds, not that of a whole sampling run. autoencoder=False measures
    the U-Net only (CPUs without native bf16/fp16 take minutes for a low-precision decode).
    """
    fp32 = Precision("fp32")
    frames = random_frames(1, height, width).to(model.device)
    errors = []
    with torch.inference_mode():
        reference = model.encode_frames(frames, fp32)
        if autoencoder:
            fast = model.encode_frames(frames, precision)
            errors.append(_error("encoder latent", precision, fast.latent, reference.latent))
        x, _, c = _unet_inputs(reference, 1)
        for step in timesteps:
            t = torch.full((1,), step, dtype=torch.int64, device=model.device)
            errors.append(
                _error(
                    f"U-Net eps (t={step})",
                    precision,
                    model.denoiser(c, precision)(x, t),
                    model.denoiser(c, fp32)(x, t),
                )
            )
        if not autoencoder:
            return errors
        errors.append(
            _error(
                "decoder frame",
                precision,
                model.decode(x, reference, reference, precision),
                model.decode(x, reference, reference, fp32),
            )
        )
    return errors


def _error(stage: str, precision: Precision, fast: Tensor, reference: Tensor) -> StageError:
    fast, reference = fast.double(), reference.double()
    return StageError(
        stage,
        precision.name,
        float((fast - reference).norm() / reference.norm()),
        float((fast - reference).abs().max()),
        float(reference.pow(2).mean().sqrt()),
    )


def _unet_inputs(encoded: EncodedFrames, batch: int) -> tuple[Tensor, Tensor, Tensor]:
    """A start latent x, a mid-schedule t and the conditioning c of `batch` pairs."""
    c = torch.cat([encoded.latent, encoded.latent], dim=1)[:batch]
    generator = torch.Generator().manual_seed(2)
    x = torch.randn(batch, LATENT_CHANNELS, *c.shape[-2:], generator=generator).to(c.device)
    t = torch.full((batch,), 501, dtype=torch.int64, device=c.device)
    return x, t, c


def _median_seconds(fn: Callable[[], object], repeats: int, device: torch.device) -> float:
    fn()  # warm-up: allocator, kernel selection, lazy initialisation
    times = []
    for _ in range(repeats):
        _synchronize(device)
        start = time.perf_counter()
        fn()
        _synchronize(device)
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _reset_peak_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def _peak_memory(device: torch.device) -> int:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device)
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@contextlib.contextmanager
def out_of_memory_as_none() -> Iterator[list[bool]]:
    """Yields a flag list; [True] after a CUDA out-of-memory error, which is swallowed."""
    flag: list[bool] = []
    try:
        yield flag
    except torch.cuda.OutOfMemoryError:
        flag.append(True)
        torch.cuda.empty_cache()


def parse_size(text: str) -> tuple[int, int]:
    """'1024x752' (width x height, as image sizes are written) -> (height, width)."""
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError as err:
        raise ValueError(f"size must be WIDTHxHEIGHT, e.g. 2048x1504 (got {text!r})") from err
    return height, width


def gib(size: int | None) -> str:
    return "n/a" if size is None else f"{size / 2**30:.2f}"


def format_seconds(seconds: float) -> str:
    return f"{seconds:.4f}" if seconds < 10 else f"{seconds:.1f}"


# --------------------------------------------------------------------------------------------
# The `vfi bench` report

CPU_DEFAULTS = {"sizes": ["256x256"], "batches": [1], "precisions": ["fp32"]}
CUDA_DEFAULTS = {
    "sizes": ["256x256", "1024x752", "2048x1504"],
    "batches": [1, 4, 8],
    "precisions": ["fp32", "tf32", "bf16", "fp16"],
}
FIDELITY_TIMESTEPS = (1, 501, 981)


@dataclass(frozen=True)
class BenchOptions:
    device: torch.device
    sizes: list[str]
    batches: list[int]
    precisions: list[str]
    steps: int = 200
    repeats: int = DEFAULT_REPEATS
    channels_last: bool = False
    speed: bool = True
    fidelity: bool = False
    fidelity_size: str = "256x256"
    config: str | None = None  # official-format model YAML; None: the published architecture


def run_bench(options: BenchOptions, write: Callable[[str], None] = print) -> list[StageTimes]:
    """Print the speed table (and the fidelity table); returns the measured stage times."""
    device = options.device
    architecture = options.config or "full published architecture"
    write(f"# LDMVFI, {architecture}, random weights, on {_device_name(device)}")
    write(
        f"# torch {torch.__version__}; {options.steps} DDIM steps; channels_last="
        f"{options.channels_last}; median of {options.repeats} runs"
    )
    started = time.perf_counter()
    model = random_model(device, options.config)
    _synchronize(device)
    write(f"# model built in {time.perf_counter() - started:.1f} s")
    results = _speed_table(model, options, write) if options.speed else []
    if options.fidelity:
        _fidelity_table(model, options, write)
    return results


def _speed_table(
    model: LDMVFI, options: BenchOptions, write: Callable[[str], None]
) -> list[StageTimes]:
    device = options.device
    header = (
        f"{'size':>10} {'batch':>5} {'prec':>5} {'encode/frame':>12} {'unet/step':>10} "
        f"{'decode/batch':>12} {'s/frame':>9} {'frames/s':>9} {'peak GiB':>9}"
    )
    write(header)
    results = []
    for size in options.sizes:
        height, width = parse_size(size)
        for precision_name in options.precisions:
            precision = Precision(precision_name)
            if precision.name == "tf32" and device.type != "cuda":
                continue
            for batch in options.batches:
                with out_of_memory_as_none() as oom:
                    times = time_stages(
                        model,
                        height,
                        width,
                        batch,
                        precision,
                        options.repeats,
                        options.channels_last,
                    )
                if oom:
                    write(f"{size:>10} {batch:>5} {precision.name:>5}  out of memory")
                    continue
                results.append(times)
                per_frame = times.seconds_per_frame(options.steps)
                write(
                    f"{size:>10} {batch:>5} {precision.name:>5} "
                    f"{format_seconds(times.encode_per_frame):>12} "
                    f"{format_seconds(times.unet_step):>10} {format_seconds(times.decode):>12} "
                    f"{format_seconds(per_frame):>9} {1 / per_frame:>9.3f} "
                    f"{gib(times.peak_memory):>9}"
                )
    return results


def _fidelity_table(model: LDMVFI, options: BenchOptions, write: Callable[[str], None]) -> None:
    height, width = parse_size(options.fidelity_size)
    # Low-precision convolutions at frame resolution take minutes on CPUs without native
    # bf16/fp16 instructions: there the table holds the U-Net only.
    autoencoder = model.device.type == "cuda"
    scope = "each stage" if autoencoder else "the U-Net (autoencoder on GPUs only)"
    write(f"# fidelity at {options.fidelity_size}, {scope}, on the same float32 inputs")
    write(f"{'stage':<20} {'prec':>5} {'rel. error':>11} {'max abs':>10} {'ref. rms':>9}")
    for precision_name in options.precisions:
        if precision_name == "fp32" or (precision_name == "tf32" and model.device.type != "cuda"):
            continue
        for error in stage_errors(
            model, height, width, Precision(precision_name), FIDELITY_TIMESTEPS, autoencoder
        ):
            write(
                f"{error.stage:<20} {error.precision:>5} {error.relative:>11.2e} "
                f"{error.max_abs:>10.2e} {error.reference_rms:>9.3f}"
            )


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return f"cpu ({torch.get_num_threads()} threads)"
