"""LDMVFI: interpolate the middle frame of two frames with latent diffusion.

Pipeline of `LDMVFI.interpolate` (frames B x 3 x H x W in [-1, 1]):
pad (per call) -> encode both frames (latent + phi features) -> c = cat(z_prev, z_next) ->
sample a latent with the U-Net (input cat([x_t, c])) -> decode with the padded frames and phi ->
crop to H x W -> clamp to [-1, 1].
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vfi.models.weights_file import is_aligned

from .checkpoint import build_networks, compact_config, is_compact, read_weights
from .config import LDMVFIConfig, load_config
from .precision import Precision
from .sampler import (
    Denoiser,
    ddim_schedule,
    gaussian_like,
    sample_ddim,
    sample_ddpm,
    seeded_generators,
)
from .schedule import DiffusionSchedule

# Padded sizes must be multiples of this: latent (1/32) divisible by the 8 x 8 MaxViT windows.
PAD_MULTIPLE = 256
# Channels of the diffusion latent x_t.
LATENT_CHANNELS = 3


@dataclass(frozen=True)
class Padding:
    """Bottom/right padding of one frame size, and how the border is filled.

    `official` tells whether this is the official rule (results agree with the official code) or
    the fallback for frames the official code cannot process (see `plan_padding`).
    """

    height: int
    width: int
    bottom: int
    right: int
    mode_h: str = "reflect"
    mode_w: str = "reflect"
    official: bool = True

    def apply(self, frames: Tensor) -> Tensor:
        """B x C x H x W -> B x C x (H + bottom) x (W + right), height first (as official)."""
        if self.bottom:
            frames = F.pad(frames, (0, 0, 0, self.bottom), mode=self.mode_h)
        if self.right:
            frames = F.pad(frames, (0, self.right, 0, 0), mode=self.mode_w)
        return frames

    def crop(self, frames: Tensor) -> Tensor:
        return frames[..., : self.height, : self.width]


def plan_padding(height: int, width: int) -> Padding:
    """Padding for an H x W frame, computed per call (the official module kept stale state).

    Official rule (used whenever the official code can run, so results agree): min_side = 256
    if H <= 256 else 512 (for both dimensions); each dimension is reflection-padded at the
    bottom/right by min_side - size % min_side, except that no padding is applied when that
    equals the size. The official code fails when a pad is >= the size (reflection impossible:
    H < 128, W < 128 for H <= 256, W < 256 for H > 256) or when a padded size is not a multiple
    of 256 (H = 128, or W = 128 for H <= 256; MaxViT windows do not fit).
    Fallback for those frames (a deviation, the official code gives no result to agree with):
    both dimensions are padded to the next multiple of 256 (at least 256), by reflection where
    the pad is smaller than the size and by edge replication otherwise.
    """
    if height < 1 or width < 1:
        raise ValueError(f"frame size must be positive (got {height} x {width})")
    min_side = 256 if height <= 256 else 512
    pads = [_official_pad(size, min_side) for size in (height, width)]
    if all(
        pad < size and (size + pad) % PAD_MULTIPLE == 0
        for size, pad in zip((height, width), pads, strict=True)
    ):
        return Padding(height, width, pads[0], pads[1])
    bottom, right = (-height) % PAD_MULTIPLE, (-width) % PAD_MULTIPLE
    return Padding(
        height,
        width,
        bottom,
        right,
        mode_h="reflect" if bottom < height else "replicate",
        mode_w="reflect" if right < width else "replicate",
        official=False,
    )


def _official_pad(size: int, min_side: int) -> int:
    pad = (min_side - size % min_side) % min_side
    return 0 if pad == size else pad


@dataclass(frozen=True)
class EncodedFrames:
    """Encoder outputs of B frames of one size: what sampling and decoding need of neighbours.

    frames: the padded frames B x 3 x Hp x Wp (float32, the decoder resamples them); latent:
    B x 3 x Hp/32 x Wp/32 float32, not quantised (the U-Net's conditioning); phi: the five
    encoder feature maps (in the precision they were computed in; the decoder attends to them).
    """

    padding: Padding
    frames: Tensor
    latent: Tensor
    phi: list[Tensor]

    def __len__(self) -> int:
        return self.frames.shape[0]

    def __getitem__(self, index: int) -> EncodedFrames:
        """Frame `index` alone, as a batch of one (views, no copies)."""
        part = slice(index, index + 1)
        return EncodedFrames(
            self.padding, self.frames[part], self.latent[part], [f[part] for f in self.phi]
        )

    @staticmethod
    def cat(parts: Sequence[EncodedFrames]) -> EncodedFrames:
        """One batch from several encodings of frames of the same size."""
        if not parts or any(p.padding != parts[0].padding for p in parts):
            raise ValueError("EncodedFrames.cat needs one or more encodings of one frame size")
        if len(parts) == 1:
            return parts[0]
        return EncodedFrames(
            parts[0].padding,
            torch.cat([p.frames for p in parts]),
            torch.cat([p.latent for p in parts]),
            [torch.cat(level) for level in zip(*(p.phi for p in parts), strict=True)],
        )


def _as_precision(precision: Precision | str) -> Precision:
    return precision if isinstance(precision, Precision) else Precision(precision)


class LDMVFI(nn.Module):
    """The LDMVFI model for inference: `unet` (denoiser), `first_stage` (VQ-FIGAN autoencoder).

    Stateless between calls: padding is planned per call, so frame sizes can change freely.
    Everything runs on the device of the module's parameters; inputs are moved there and results
    come back on the inputs' device.
    """

    def __init__(self, config: LDMVFIConfig | None = None) -> None:
        super().__init__()
        self.config = config if config is not None else load_config(None)
        self.unet, self.first_stage = build_networks(self.config)
        self.schedule = DiffusionSchedule.linear(
            self.config.timesteps, self.config.linear_start, self.config.linear_end
        )

    @classmethod
    def from_checkpoint(
        cls,
        path: str | Path,
        config: str | Path | None = None,
        device: str | torch.device = "cpu",
    ) -> LDMVFI:
        """Build the model and load an official `.ckpt` or a compact `.safetensors` file.

        config: official-format YAML; None means the config stored in a compact file, or the
        published config for a `.ckpt`. Returns the model in eval mode on `device`.
        Raises `CheckpointError` / `ConfigError` with a readable message.

        Fast: the networks are built without random initialisation (their CPU memory is
        allocated, never written, so it costs nothing), then the file's tensors, loaded onto
        `device`, become the parameters (`assign=True`), cast to the model's dtype (float32)
        where the file stores another. On the CPU, a float32 compact file of format version 2
        is used in place: the parameters are views of the memory-mapped file (read from disk or
        the page cache when first used, shared by all jobs on the machine), with the same bits
        and the same results as a copy. The file must therefore be replaced (a new file renamed
        over it, as `convert_checkpoint` and the workflow do), never rewritten in place while a
        job runs: rewritten bytes would show in the job's weights, a truncated file crash it.
        """
        from_file = config is None and is_compact(path)
        cfg = compact_config(path) if from_file else load_config(config)
        device = torch.device(device)
        with torch.device("cpu"), _SkipRandomInit():
            model = cls(cfg)
        weights = read_weights(path, model.unet, model.first_stage, device=device)
        _assign_weights(model.unet, weights.unet, device)
        _assign_weights(model.first_stage, weights.first_stage, device)
        # Moves what no checkpoint holds (non-persistent buffers such as MaxViT's
        # rel_pos_indices, built on the CPU); the assigned tensors are already on `device`.
        return model.to(device).eval()

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @torch.inference_mode()
    def encode(self, frames: Tensor) -> tuple[Tensor, list[Tensor]]:
        """Frames B x 3 x H x W in [-1, 1] -> (latent B x 3 x Hp/32 x Wp/32, phi features).

        The frames are padded with `plan_padding(H, W)` first; latent and phi are those of the
        padded frames (Hp x Wp), the latent is not quantised.
        """
        encoded = self.encode_frames(frames)
        return encoded.latent, encoded.phi

    @torch.inference_mode()
    def encode_frames(self, frames: Tensor, precision: Precision | str = "fp32") -> EncodedFrames:
        """Everything the sampler and the decoder need of B neighbour frames (B x 3 x H x W).

        Encode each known frame once and reuse the result for every pair it belongs to (see
        `interpolate_encoded`); `EncodedFrames.cat` / `[i]` batch and split them.
        """
        precision = _as_precision(precision)
        padding = plan_padding(*frames.shape[-2:])
        padded = padding.apply(self._to_model(frames))
        with precision.context(self.device):
            latent, phi = self.first_stage.encode(padded)
        return EncodedFrames(padding, padded, latent.float(), list(phi))

    @torch.inference_mode()
    def interpolate(
        self,
        prev: Tensor,
        next: Tensor,
        steps: int = 200,
        eta: float = 1.0,
        x_T: Tensor | None = None,
        seeds: Sequence[int] | None = None,
        sampler: str = "ddim",
        progress: Callable[[int, int], None] | None = None,
        precision: Precision | str = "fp32",
    ) -> Tensor:
        """The middle frame of prev and next (B x 3 x H x W in [-1, 1]), clamped to [-1, 1].

        steps, eta: DDIM steps and stochasticity (the paper uses 200 and 1.0); ignored by
        `sampler="ddpm"` (1000-step ancestral sampling). x_T: start noise B x 3 x Hp/32 x Wp/32,
        used as is. seeds: one int per sample; sample i then draws its start noise (unless x_T is
        given) and all step noise from its own generator, independent of the batch. Without
        either, the global RNG is used. progress(k, n) is called after sampling step k of n
        (progress is also logged at INFO on the `vfi.models.ldmvfi` logger). precision: see
        `vfi.models.ldmvfi.precision` (fp32 reproduces the official model).
        """
        if prev.shape != next.shape or prev.dim() != 4 or prev.shape[1] != 3:
            raise ValueError(
                f"prev and next must both be B x 3 x H x W (got {list(prev.shape)} and "
                f"{list(next.shape)})"
            )
        out = self.interpolate_encoded(
            self.encode_frames(prev, precision),
            self.encode_frames(next, precision),
            steps=steps,
            eta=eta,
            x_T=x_T,
            seeds=seeds,
            sampler=sampler,
            progress=progress,
            precision=precision,
        )
        return out.to(prev.device)

    @torch.inference_mode()
    def interpolate_encoded(
        self,
        prev: EncodedFrames,
        next: EncodedFrames,
        steps: int = 200,
        eta: float = 1.0,
        x_T: Tensor | None = None,
        seeds: Sequence[int] | None = None,
        sampler: str = "ddim",
        progress: Callable[[int, int], None] | None = None,
        precision: Precision | str = "fp32",
    ) -> Tensor:
        """`interpolate` from encoded neighbours; the result stays on the model's device."""
        if prev.padding != next.padding or len(prev) != len(next):
            raise ValueError(
                f"prev and next must be encodings of equally many frames of one size (got "
                f"{len(prev)} of {prev.padding.height} x {prev.padding.width} and {len(next)} "
                f"of {next.padding.height} x {next.padding.width})"
            )
        if sampler not in ("ddim", "ddpm"):
            raise ValueError(f"sampler must be 'ddim' or 'ddpm' (got {sampler!r})")
        precision = _as_precision(precision)
        batch, padding = len(prev), prev.padding
        if seeds is not None and len(seeds) != batch:
            raise ValueError(f"need one seed per sample: {len(seeds)} seeds for {batch} frames")
        c = torch.cat([prev.latent, next.latent], dim=1)
        latent_shape = (batch, LATENT_CHANNELS, *c.shape[-2:])
        generators = seeded_generators(seeds) if seeds is not None else None
        if x_T is None:
            x_T = gaussian_like(c.new_empty(latent_shape), generators)
        elif tuple(x_T.shape) != latent_shape:
            raise ValueError(
                f"x_T must be {list(latent_shape)} for {padding.height} x {padding.width} frames "
                f"(got {list(x_T.shape)})"
            )
        x_T = self._to_model(x_T)
        denoise = self.denoiser(c, precision)
        if sampler == "ddim":
            schedule = ddim_schedule(self.schedule.alphas_cumprod, steps, eta)
            latent = sample_ddim(denoise, x_T, schedule, generators, progress)
        else:
            latent = sample_ddpm(denoise, x_T, self.schedule, generators, progress)

        return self.decode(latent, prev, next, precision)

    @torch.inference_mode()
    def decode(
        self,
        latent: Tensor,
        prev: EncodedFrames,
        next: EncodedFrames,
        precision: Precision | str = "fp32",
    ) -> Tensor:
        """Sampled latent B x 3 x h x w -> middle frames B x 3 x H x W, cropped, in [-1, 1].

        The latent is quantised to the codebook first (in float32, see
        `vfi.models.ldmvfi.precision`).
        """
        with _as_precision(precision).context(self.device):
            frames = self.first_stage.decode(latent, prev.frames, next.frames, prev.phi, next.phi)
        return prev.padding.crop(frames.float()).clamp(-1.0, 1.0)

    def denoiser(self, c: Tensor, precision: Precision | str = "fp32") -> Denoiser:
        """eps(x_t, t) of the U-Net conditioned on c (the caller-side concatenation).

        Only the U-Net runs in `precision`; the sampler's update sees float32 eps.
        """
        device, precision = self.device, _as_precision(precision)

        def denoise(x: Tensor, t: Tensor) -> Tensor:
            with precision.context(device):
                eps = self.unet(torch.cat([x, c], dim=1), t)
            return eps.float()

        return denoise

    def _to_model(self, tensor: Tensor) -> Tensor:
        parameter = next(self.parameters())
        return tensor.to(device=parameter.device, dtype=parameter.dtype)


def _assign_weights(module: nn.Module, weights: dict[str, Tensor], device: torch.device) -> None:
    """Make the checked `weights` the tensors of `module`, on `device`.

    Each tensor is cast to the dtype the module gives it (a bfloat16/float16 file becomes
    float32, integer buffers stay integer). Tensors already right are used as they are, also
    the memory-mapped tensors of a compact file on the CPU, as long as they are 64-byte aligned
    like torch's own allocations (format version 2). Less aligned ones (version 1: 4 bytes) get
    memory of their own: some CPU kernels round differently for differently aligned weights
    (batch-1 `Linear`: ~1e-7), so results would depend on the file layout and differ from a
    `.ckpt` load. Parameters keep `requires_grad=True` as built (`load_state_dict` keeps the
    module's flag); the file is mapped copy-on-write, so writing to a weight never changes it.
    """
    dtypes = {name: tensor.dtype for name, tensor in module.state_dict().items()}
    placed = {name: t.to(device=device, dtype=dtypes[name]) for name, t in weights.items()}
    module.load_state_dict(
        {
            name: tensor if tensor.device.type != "cpu" or is_aligned(tensor) else tensor.clone()
            for name, tensor in placed.items()
        },
        assign=True,
    )


class _SkipRandomInit(torch.overrides.TorchFunctionMode):
    """Build modules without their random initialisation, for weights that are loaded next.

    `torch.nn.init` initialisers and `Tensor.uniform_` / `normal_` return the tensor
    untouched, so parameters keep the uninitialised memory `torch.empty` gave them: on the CPU
    its pages are never written, so building costs neither time nor resident memory. Everything
    else runs: deterministic buffers (fills, index tables) get their real values. Not the meta
    device: in this torch, the first elementwise operation on a meta tensor (the MaxViT
    relative-position table, `nn.Embedding`'s init) imports torch._dynamo, about 1.5 s.
    """

    _RANDOM_FILLS = frozenset({torch.Tensor.uniform_, torch.Tensor.normal_})

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in self._RANDOM_FILLS or (
            getattr(func, "__module__", None) == "torch.nn.init" and func.__name__.endswith("_")
        ):
            return args[0] if args else kwargs["tensor"]
        return func(*args, **kwargs)
