"""IFRNet for inference: frames of any size in, the frame at time t out.

`IFRNet.interpolate` pads the frames as the maintainer's `InputPadder` does (centred, replicated
borders, to a multiple of 16, or of 20 at scale_factor 0.8 as in the SNU-FILM benchmark), runs
the official `inference()` computation and crops back. With the same padding the results are
those of the official code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from vfi.models.times import pair_times

from .checkpoint import check_state_dict, detect_variant, read_weights
from .checkpoint import uses_time as _uses_time
from .network import IFRNetNetwork
from .padding import padder_for


class IFRNet(nn.Module):
    """One of the three published IFRNet variants, its weights in `network` (official names).

    Stateless between calls. Everything runs on the device of the parameters; inputs are moved
    there and results come back on the inputs' device.
    """

    def __init__(self, variant: str = "IFRNet") -> None:
        super().__init__()
        self.network = IFRNetNetwork(variant)

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str | torch.device = "cpu") -> IFRNet:
        """Load an official `.pth` or a compact `.safetensors` file (variant told by the file).

        Returns the model in eval mode on `device`, in float32 whatever the file stores.
        Raises `CheckpointError` with a readable message.
        """
        variant, state_dict = read_weights(path)
        return cls._build(variant, state_dict, torch.device(device))

    @classmethod
    def from_state_dict(
        cls,
        state_dict: Mapping[str, Tensor],
        device: str | torch.device = "cpu",
        source: str = "state dict",
    ) -> IFRNet:
        """Build from an official-format state dict (tensors are copied, never shared)."""
        variant = detect_variant(state_dict, source)
        check_state_dict(state_dict, variant, source)
        return cls._build(variant, state_dict, torch.device(device))

    @classmethod
    def _build(cls, variant: str, state_dict: Mapping[str, Tensor], device: torch.device) -> IFRNet:
        """Build without random initialisation (meta device) and assign copies of the weights.

        Copies: the tensors of a memory-mapped file (or a caller's dict) must not be shared with
        a model that may be fine-tuned, and fresh memory is aligned as torch allocates it.
        """
        with torch.device("meta"):
            model = cls(variant)
        weights = {
            k: v.to(device=device, dtype=torch.float32, copy=True) for k, v in state_dict.items()
        }
        model.network.load_state_dict(weights, strict=True, assign=True)
        return model.eval()

    @property
    def variant(self) -> str:
        """ "IFRNet", "IFRNet_L" or "IFRNet_S"."""
        return self.network.variant.name

    @property
    def uses_time(self) -> bool:
        """False when the output does not depend on t (the published Vimeo90K weights)."""
        return _uses_time(self.network.state_dict())

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @torch.inference_mode()
    def interpolate(
        self,
        prev: Tensor,
        next: Tensor,
        t: float | Sequence[float] | Tensor,
        scale_factor: float = 1.0,
        dtype: torch.dtype | None = None,
    ) -> Tensor:
        """The frames at time t between prev (t = 0) and next (t = 1).

        prev, next: N x 3 x H x W in [0, 1], any H and W. t: one time for all pairs, or one per
        pair (a sequence or 1-D tensor of N values in [0, 1]). scale_factor: run the network on
        frames resized by it (e.g. 0.8 for large motion, as the official SNU-FILM evaluation);
        the padding divisor is then the smallest d with d * scale_factor a multiple of 16
        (see `padding.divisor_for_scale`). dtype: the dtype the convolutions run in (None: the
        weights' own); another dtype (e.g. torch.bfloat16 on a GPU) uses cast copies of the
        weights for this call, while the mean, flows, warping and merge stay float32.
        Returns N x 3 x H x W float32 in [0, 1] on the inputs' device.
        """
        if prev.shape != next.shape or prev.dim() != 4 or prev.shape[1] != 3:
            raise ValueError(
                f"prev and next must both be N x 3 x H x W (got {list(prev.shape)} and "
                f"{list(next.shape)})"
            )
        batch, _, height, width = prev.shape
        padder = padder_for(height, width, scale_factor)
        device = self.device
        embt = time_embedding(t, batch).to(device)
        img0 = padder.pad(prev.to(device=device, dtype=torch.float32))
        img1 = padder.pad(next.to(device=device, dtype=torch.float32))
        args = (img0, img1, embt, float(scale_factor))
        network = self.network
        if dtype is None or dtype == network.compute_dtype:
            out = network(*args)
        else:
            weights = {name: p.to(dtype) for name, p in network.named_parameters()}
            out = torch.func.functional_call(network, weights, args)
        return padder.unpad(out).to(device=prev.device, dtype=torch.float32).contiguous()


def time_embedding(t: float | Sequence[float] | Tensor, batch: int) -> Tensor:
    """`embt` of the official code: B x 1 x 1 x 1 float32, one time per pair in [0, 1]."""
    return pair_times(t, batch).reshape(batch, 1, 1, 1)
