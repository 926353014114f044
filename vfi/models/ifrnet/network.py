"""The IFRNet network (Kong et al., CVPR 2022) with the official parameter names.

One class serves the three published variants (IFRNet, IFRNet_L, IFRNet_S): the forward code is
identical, only the widths (and the first encoder kernel of IFRNet_L) differ. The state_dict has
exactly the official 104 keys in the official order, so official checkpoints load strictly.

Precision: the convolutions run in the dtype of the weights (`network.to(torch.bfloat16)` with
inputs of any float dtype). Everything geometric stays float32 whatever that dtype: the
normalising mean, the flows and their accumulation, warping, the mask and the final merge. In
float32 this is the official computation, up to rounding: activations are kept channels_last
(NHWC), in which oneDNN's CPU convolutions run about 1.2x (3x3) to 4x (the transposed 4x4) faster
than in the official NCHW; the summation order then differs (outputs within about 1e-5 of the
official, see benchmarks/ifrnet_speed.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .ops import resize, warp

# Channels of the decoder1 head: 2 + 2 flow residuals, 1 mask logit, 3 RGB residual.
_HEAD_CHANNELS = 8


@dataclass(frozen=True)
class Variant:
    """Widths of one published variant.

    widths: encoder channels of levels 1..4; first_kernel: kernel of the first encoder conv
    (its padding is kernel // 2). The ResBlocks' side channels equal the level-1 width.
    """

    name: str
    widths: tuple[int, int, int, int]
    first_kernel: int = 3

    @property
    def side(self) -> int:
        return self.widths[0]


VARIANTS: dict[str, Variant] = {
    "IFRNet": Variant("IFRNet", (32, 48, 72, 96)),
    "IFRNet_L": Variant("IFRNet_L", (64, 96, 144, 192), first_kernel=7),
    "IFRNet_S": Variant("IFRNet_S", (24, 36, 54, 72)),
}


def get_variant(name: str) -> Variant:
    try:
        return VARIANTS[name]
    except KeyError:
        choices = ", ".join(VARIANTS)
        raise ValueError(f"unknown IFRNet variant {name!r} (choose {choices})") from None


def convrelu(
    cin: int, cout: int, kernel_size: int = 3, stride: int = 1, padding: int = 1
) -> nn.Sequential:
    """Conv2d with bias, then a per-channel PReLU (keys `.0.weight`, `.0.bias`, `.1.weight`)."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel_size, stride, padding, bias=True), nn.PReLU(cout)
    )


class ResBlock(nn.Module):
    """Residual block whose inner convs 2 and 4 refine only the last `side` channels.

    Under autograd (training) the side channels are joined back with `cat`, so no `.clone()`
    is needed; at inference they are overwritten in place. Both give the official values.
    """

    def __init__(self, channels: int, side: int) -> None:
        super().__init__()
        self.side = side
        self.conv1 = convrelu(channels, channels)
        self.conv2 = convrelu(side, side)
        self.conv3 = convrelu(channels, channels)
        self.conv4 = convrelu(side, side)
        self.conv5 = nn.Conv2d(channels, channels, 3, 1, 1, bias=True)
        self.prelu = nn.PReLU(channels)

    def _refine_side(self, out: Tensor, conv: nn.Module) -> Tensor:
        side = out[:, -self.side :]
        if torch.is_grad_enabled():
            return torch.cat([out[:, : -self.side], conv(side)], dim=1)
        # Without autograd, overwrite the side channels in place: copies `side` channels, not all.
        side.copy_(conv(side))
        return out

    def forward(self, x: Tensor) -> Tensor:
        out = self._refine_side(self.conv1(x), self.conv2)
        out = self._refine_side(self.conv3(out), self.conv4)
        # In place on the fresh conv output (saves one full-size tensor; autograd allows it).
        return self.prelu(self.conv5(out).add_(x))


class Encoder(nn.Module):
    """Four stride-2 levels (`pyramid1` .. `pyramid4`); level k has size ceil(H / 2^k)."""

    def __init__(self, variant: Variant) -> None:
        super().__init__()
        cin = 3
        for level, width in enumerate(variant.widths, start=1):
            kernel = variant.first_kernel if level == 1 else 3
            first = convrelu(cin, width, kernel, 2, kernel // 2)
            self.add_module(f"pyramid{level}", nn.Sequential(first, convrelu(width, width)))
            cin = width

    def forward(self, img: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        f1 = self.pyramid1(img)
        f2 = self.pyramid2(f1)
        f3 = self.pyramid3(f2)
        f4 = self.pyramid4(f3)
        return f1, f2, f3, f4


class Decoder(nn.Module):
    """convrelu -> ResBlock -> ConvTranspose2d(4, 2, 1): doubles the size, no final activation.

    Concatenating the inputs is left to the caller (the network records them as intermediates).
    """

    def __init__(self, cin: int, channels: int, cout: int, side: int) -> None:
        super().__init__()
        self.convblock = nn.Sequential(
            convrelu(cin, channels),
            ResBlock(channels, side),
            nn.ConvTranspose2d(channels, cout, 4, 2, 1, bias=True),
        )

    def forward(self, x: Tensor, record: dict[str, Tensor] | None = None, name: str = "") -> Tensor:
        """Decode `x`; with `record`, also store the ResBlock output as `<name>_resblock_out`."""
        if record is None:
            return self.convblock(x)
        hidden = self.convblock[1](self.convblock[0](x))
        record[f"{name}_resblock_out"] = hidden
        return self.convblock[2](hidden)


class IFRNetNetwork(nn.Module):
    """Encoder and the four decoders, named and ordered as the official model's state_dict."""

    def __init__(self, variant: str | Variant = "IFRNet") -> None:
        super().__init__()
        self.variant = get_variant(variant) if isinstance(variant, str) else variant
        c1, c2, c3, c4 = self.variant.widths
        side = self.variant.side
        self.encoder = Encoder(self.variant)
        # decoderN input: ft_ of the level below (absent at level 4), both warped (or, at level 4,
        # plain) features, both flows (level 4: the time channel instead).
        self.decoder4 = Decoder(2 * c4 + 1, 2 * c4, 4 + c3, side)
        self.decoder3 = Decoder(3 * c3 + 4, 3 * c3, 4 + c2, side)
        self.decoder2 = Decoder(3 * c2 + 4, 3 * c2, 4 + c1, side)
        self.decoder1 = Decoder(3 * c1 + 4, 3 * c1, _HEAD_CHANNELS, side)

    @property
    def compute_dtype(self) -> torch.dtype:
        """The dtype the convolutions run in: that of the weights."""
        return self.encoder.pyramid1[0][0].weight.dtype

    def inference(
        self,
        img0: Tensor,
        img1: Tensor,
        embt: Tensor,
        scale_factor: float = 1.0,
        intermediates: dict[str, Tensor] | None = None,
    ) -> Tensor:
        """The frame at time `embt` between img0 and img1, as the official `inference()`.

        img0, img1: B x 3 x H x W in [0, 1], H and W multiples of 16 (pad first, see
        `padding.py`; other sizes run as in the official code but come back stretched to
        16 * ceil(size / 16)). embt: B x 1 x 1 x 1 (or anything that broadcasts to it).
        scale_factor: the network runs on frames resized by it (pass a Python float: the
        output size is computed in double precision). Returns B x 3 x H x W in img0's dtype,
        clamped to [0, 1]. intermediates: if given, filled with the official variable names of
        every stage (see the fixtures' README) for comparison with the official code.
        """
        record = intermediates
        mean_, img0_, img1_ = normalise(img0, img1)
        if scale_factor != 1.0:
            img0_s, img1_s = resize(img0_, scale_factor), resize(img1_, scale_factor)
            if record is not None:
                record["img0_"], record["img1_"] = img0_s, img1_s
        else:
            img0_s, img1_s = img0_, img1_
        f0, f1 = self._encode_pair(img0_s, img1_s)
        flow0, flow1, mask, res = self.decode(f0, f1, embt, record)
        if scale_factor != 1.0:
            inverse = 1.0 / scale_factor
            flow0 = resize(flow0, inverse) * inverse
            flow1 = resize(flow1, inverse) * inverse
            mask, res = resize(mask, inverse), resize(res, inverse)
            if record is not None:
                record["flow0_full"], record["flow1_full"] = flow0, flow1
                record["mask_full"], record["res_full"] = mask, res
        imgt_pred = merge(img0_, img1_, mean_, flow0, flow1, mask, res, record)
        if record is not None:
            record["mean_"] = mean_
            record["f0_1"], record["f0_2"], record["f0_3"], record["f0_4"] = f0
            record["f1_1"], record["f1_2"], record["f1_3"], record["f1_4"] = f1
            record["imgt_pred"] = imgt_pred
        return imgt_pred.to(img0.dtype)

    # `torch.func.functional_call` (other weights for one call) runs `forward`.
    forward = inference

    def encode(self, img: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Encoder pyramid of a mean-subtracted frame, computed in the weights' dtype."""
        return self.encoder(img.to(self.compute_dtype, memory_format=torch.channels_last))

    def _encode_pair(self, img0: Tensor, img1: Tensor) -> tuple[tuple[Tensor, ...], ...]:
        """Both pyramids, from two encoder calls as in the official code.

        One batched call is no faster (CPU, 256 x 448) and differs by about 1e-6 (convolution
        blocking depends on the batch size); two calls keep results bit-identical.
        """
        return self.encode(img0), self.encode(img1)

    def decode(
        self,
        f0: tuple[Tensor, ...],
        f1: tuple[Tensor, ...],
        embt: Tensor,
        record: dict[str, Tensor] | None = None,
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Coarse-to-fine decoding: (flow0, flow1, mask, residual) at network resolution.

        Flows, mask (after the sigmoid) and residual are float32. `record`, if given, receives
        out4..out1, up_flow{0,1}_{4..1} and the decoder4/decoder3 inputs and ResBlock outputs.
        """
        dtype = self.compute_dtype
        f0_4, f1_4 = f0[3], f1[3]
        height, width = f0_4.shape[-2:]
        embt = embt.to(device=f0_4.device, dtype=dtype).expand(f0_4.shape[0], 1, 1, 1)
        embt_map = embt.repeat(1, 1, height, width)
        x = cat_channels_last([f0_4, f1_4, embt_map])
        if record is not None:
            record["decoder4_in"] = x
        out = self.decoder4(x, record, "decoder4")
        flow0, flow1 = out[:, 0:2].float(), out[:, 2:4].float()
        _record_level(record, 4, out, flow0, flow1)
        decoders = {3: self.decoder3, 2: self.decoder2, 1: self.decoder1}
        for level, decoder in decoders.items():
            ft_ = out[:, 4:]
            warped0 = warp(f0[level - 1], flow0)  # in the features' dtype
            warped1 = warp(f1[level - 1], flow1)
            x = cat_channels_last([ft_, warped0, warped1, flow0.to(dtype), flow1.to(dtype)])
            del ft_, warped0, warped1  # copied into x: free them while the decoder runs
            if record is not None and level == 3:
                record["decoder3_in"] = x
            out = decoder(x, record if level == 3 else None, f"decoder{level}")
            flow0 = out[:, 0:2].float() + 2.0 * resize(flow0, 2.0)
            flow1 = out[:, 2:4].float() + 2.0 * resize(flow1, 2.0)
            _record_level(record, level, out, flow0, flow1)
        mask = torch.sigmoid(out[:, 4:5].float())
        res = out[:, 5:].float()
        if record is not None:
            record["up_mask_1"], record["up_res_1"] = mask, res
        return flow0, flow1, mask, res


def cat_channels_last(parts: list[Tensor]) -> Tensor:
    """Concatenate along channels into a channels_last tensor, the layout the convolutions
    run fastest in on the CPU (oneDNN), whatever the layout of the parts."""
    if torch.is_grad_enabled() and any(part.requires_grad for part in parts):
        return torch.cat([p.contiguous(memory_format=torch.channels_last) for p in parts], 1)
    first = parts[0]
    shape = (first.shape[0], sum(part.shape[1] for part in parts), *first.shape[2:])
    out = torch.empty(
        shape, dtype=first.dtype, device=first.device, memory_format=torch.channels_last
    )
    return torch.cat(parts, dim=1, out=out)


def normalise(img0: Tensor, img1: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """(mean_, img0 - mean_, img1 - mean_): one scalar per sample over both frames, in float32."""
    img0, img1 = img0.float(), img1.float()
    mean_ = (
        torch.cat([img0, img1], dim=2)
        .mean(1, keepdim=True)
        .mean(2, keepdim=True)
        .mean(3, keepdim=True)
    )
    return mean_, img0 - mean_, img1 - mean_


def merge(
    img0_: Tensor,
    img1_: Tensor,
    mean_: Tensor,
    flow0: Tensor,
    flow1: Tensor,
    mask: Tensor,
    res: Tensor,
    record: dict[str, Tensor] | None = None,
) -> Tensor:
    """The clamped frame: mask-blend of both warped mean-subtracted frames, + mean, + residual."""
    img0_warp = warp(img0_, flow0)
    img1_warp = warp(img1_, flow1)
    imgt_merge = mask * img0_warp + (1 - mask) * img1_warp + mean_
    imgt_pred = torch.clamp(imgt_merge + res, 0, 1)
    if record is not None:
        record["img0_warp"], record["img1_warp"] = img0_warp, img1_warp
        record["imgt_merge"] = imgt_merge
    return imgt_pred


def _record_level(
    record: dict[str, Tensor] | None, level: int, out: Tensor, flow0: Tensor, flow1: Tensor
) -> None:
    if record is not None:
        record[f"out{level}"] = out
        record[f"up_flow0_{level}"], record[f"up_flow1_{level}"] = flow0, flow1
