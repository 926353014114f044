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

from .checkpoint import build_networks, compact_config, is_compact, read_weights
from .config import LDMVFIConfig, load_config
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
        """
        from_file = config is None and is_compact(path)
        cfg = compact_config(path) if from_file else load_config(config)
        with torch.device(device):
            model = cls(cfg)
        weights = read_weights(path, model.unet, model.first_stage)
        model.unet.load_state_dict(weights.unet)
        model.first_stage.load_state_dict(weights.first_stage)
        return model.eval()

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @torch.inference_mode()
    def encode(self, frames: Tensor) -> tuple[Tensor, list[Tensor]]:
        """Frames B x 3 x H x W in [-1, 1] -> (latent B x 3 x Hp/32 x Wp/32, phi features).

        The frames are padded with `plan_padding(H, W)` first; latent and phi are those of the
        padded frames (Hp x Wp), the latent is not quantised.
        """
        padding = plan_padding(*frames.shape[-2:])
        return self.first_stage.encode(padding.apply(self._to_model(frames)))

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
    ) -> Tensor:
        """The middle frame of prev and next (B x 3 x H x W in [-1, 1]), clamped to [-1, 1].

        steps, eta: DDIM steps and stochasticity (the paper uses 200 and 1.0); ignored by
        `sampler="ddpm"` (1000-step ancestral sampling). x_T: start noise B x 3 x Hp/32 x Wp/32,
        used as is. seeds: one int per sample; sample i then draws its start noise (unless x_T is
        given) and all step noise from its own generator, independent of the batch. Without
        either, the global RNG is used. progress(k, n) is called after sampling step k of n
        (progress is also logged at INFO on the `vfi.ldmvfi` logger).
        """
        if prev.shape != next.shape or prev.dim() != 4 or prev.shape[1] != 3:
            raise ValueError(
                f"prev and next must both be B x 3 x H x W (got {list(prev.shape)} and "
                f"{list(next.shape)})"
            )
        if sampler not in ("ddim", "ddpm"):
            raise ValueError(f"sampler must be 'ddim' or 'ddpm' (got {sampler!r})")
        batch, _, height, width = prev.shape
        if seeds is not None and len(seeds) != batch:
            raise ValueError(f"need one seed per sample: {len(seeds)} seeds for {batch} frames")
        padding = plan_padding(height, width)
        prev_p = padding.apply(self._to_model(prev))
        next_p = padding.apply(self._to_model(next))
        z_prev, phi_prev = self.first_stage.encode(prev_p)
        z_next, phi_next = self.first_stage.encode(next_p)
        c = torch.cat([z_prev, z_next], dim=1)

        latent_shape = (batch, LATENT_CHANNELS, *c.shape[-2:])
        generators = seeded_generators(seeds) if seeds is not None else None
        if x_T is None:
            x_T = gaussian_like(c.new_empty(latent_shape), generators)
        elif tuple(x_T.shape) != latent_shape:
            raise ValueError(
                f"x_T must be {list(latent_shape)} for {height} x {width} frames "
                f"(got {list(x_T.shape)})"
            )
        x_T = self._to_model(x_T)
        denoise = self._denoiser(c)
        if sampler == "ddim":
            schedule = ddim_schedule(self.schedule.alphas_cumprod, steps, eta)
            latent = sample_ddim(denoise, x_T, schedule, generators, progress)
        else:
            latent = sample_ddpm(denoise, x_T, self.schedule, generators, progress)

        frames = self.first_stage.decode(latent, prev_p, next_p, phi_prev, phi_next)
        return padding.crop(frames).clamp(-1.0, 1.0).to(prev.device)

    def _denoiser(self, c: Tensor) -> Denoiser:
        """eps(x_t, t) of the U-Net conditioned on c (the caller-side concatenation)."""

        def denoise(x: Tensor, t: Tensor) -> Tensor:
            return self.unet(torch.cat([x, c], dim=1), t)

        return denoise

    def _to_model(self, tensor: Tensor) -> Tensor:
        parameter = next(self.parameters())
        return tensor.to(device=parameter.device, dtype=parameter.dtype)
