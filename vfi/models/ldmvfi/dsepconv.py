"""Deformable separable convolution (DSepConv) in plain vectorised PyTorch.

LDMVFI synthesises the middle frame by resampling each neighbour with a 5 x 5 separable kernel
whose 25 taps each get their own learned sub-pixel offset and mask weight. The official code runs
this as a CuPy CUDA kernel; this module reproduces that kernel's forward pass exactly (including
its quirks) so that official checkpoints give the same pictures, on any device and without CuPy.

Semantics of the official kernel that are kept on purpose (they change the output):

* the offset names are swapped: ``offset_y`` moves samples horizontally, ``offset_x`` vertically;
* the 5 x 5 window is off-centre: tap ``(fy, fx)`` of output pixel ``(Y, X)`` reads input position
  ``(Y + fy - 1 + dy, X + fx - 1 + dx)``, i.e. padded rows/columns ``Y-1 .. Y+3``;
* bilinear corners come from the *unclamped* floor and are then clamped to the image, while the
  weights use the *clamped* position: outside the image (and exactly on the last row/column) both
  corner weights are 1, so the edge pixel is counted twice per direction (no zero padding, no
  renormalisation);
* float32 arithmetic in the kernel's operation order, accumulated from 0 over the taps in the
  order fy (outer), fx (inner), which makes the CPU result bit-identical to a scalar transcription.
"""

from __future__ import annotations

import torch
from torch import Tensor

KERNEL_SIZE = 5
_HALF = (KERNEL_SIZE - 1) // 2


def _corner_weights(pos: Tensor, size: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Low/high integer corners and their weights along one axis, as the official kernel does.

    ``pos`` is the unclamped float32 sample position; returns (low, high) as int64 indices in
    [0, size - 1] and (w_low, w_high) float32 weights computed from the clamped position.
    """
    low = torch.floor(pos)
    high = low + 1
    low = low.clamp(0, size - 1)
    high = high.clamp(0, size - 1)
    clamped = pos.clamp(0, size - 1)
    w_low = 1 + (low - clamped)
    w_high = 1 - (high - clamped)
    return low.long(), high.long(), w_low, w_high


def dsepconv(
    input: Tensor,
    vertical: Tensor,
    horizontal: Tensor,
    offset_x: Tensor,
    offset_y: Tensor,
    mask: Tensor,
) -> Tensor:
    """Deformable separable 5 x 5 convolution with the official kernel's forward semantics.

    Args:
        input: B x C x (H+4) x (W+4) image, already padded by 2 on every side.
        vertical: B x 5 x H x W vertical kernel (index fy).
        horizontal: B x 5 x H x W horizontal kernel (index fx).
        offset_x: B x 25 x H x W per-tap **vertical** displacement in pixels (official naming).
        offset_y: B x 25 x H x W per-tap **horizontal** displacement in pixels.
        mask: B x 25 x H x W per-tap weight; tap index is ``fy * 5 + fx``.

    Returns:
        B x C x H x W, in ``input.dtype``; computed in float32.
    """
    batch, channels, in_h, in_w = input.shape
    out_h, out_w = vertical.shape[-2:]
    if (in_h, in_w) != (out_h + 2 * _HALF, out_w + 2 * _HALF):
        raise ValueError(
            f"dsepconv needs input of size (H + 4) x (W + 4) for kernels of size H x W; got input "
            f"{in_h} x {in_w} and kernels {out_h} x {out_w}"
        )
    for name, tensor, taps in (
        ("vertical", vertical, KERNEL_SIZE),
        ("horizontal", horizontal, KERNEL_SIZE),
        ("offset_x", offset_x, KERNEL_SIZE**2),
        ("offset_y", offset_y, KERNEL_SIZE**2),
        ("mask", mask, KERNEL_SIZE**2),
    ):
        if tuple(tensor.shape) != (batch, taps, out_h, out_w):
            raise ValueError(
                f"dsepconv: {name} must be {(batch, taps, out_h, out_w)}, got {tuple(tensor.shape)}"
            )

    f32 = torch.float32
    image = input.to(f32).reshape(batch, channels, in_h * in_w)
    vertical, horizontal = vertical.to(f32), horizontal.to(f32)
    offset_x, offset_y, mask = offset_x.to(f32), offset_y.to(f32), mask.to(f32)
    rows = torch.arange(out_h, device=input.device, dtype=f32).view(out_h, 1)
    cols = torch.arange(out_w, device=input.device, dtype=f32).view(1, out_w)

    def gather(row: Tensor, col: Tensor) -> Tensor:
        index = (row * in_w + col).view(batch, 1, out_h * out_w).expand(-1, channels, -1)
        return torch.gather(image, 2, index).view(batch, channels, out_h, out_w)

    output = torch.zeros(batch, channels, out_h, out_w, device=input.device, dtype=f32)
    for fy in range(KERNEL_SIZE):
        for fx in range(KERNEL_SIZE):
            tap = fy * KERNEL_SIZE + fx
            # Same float32 evaluation order as the kernel: ((d + X) + f) - 2 + 1.
            pos_x = offset_y[:, tap] + cols + fx - _HALF + 1
            pos_y = offset_x[:, tap] + rows + fy - _HALF + 1
            left, right, w_left, w_right = _corner_weights(pos_x, in_w)
            top, bottom, w_top, w_bottom = _corner_weights(pos_y, in_h)
            w_left, w_right = w_left.unsqueeze(1), w_right.unsqueeze(1)
            w_top, w_bottom = w_top.unsqueeze(1), w_bottom.unsqueeze(1)
            value = (
                gather(top, left) * w_left * w_top
                + gather(top, right) * w_right * w_top
                + gather(bottom, left) * w_left * w_bottom
                + gather(bottom, right) * w_right * w_bottom
            )
            weight_v = vertical[:, fy].unsqueeze(1)
            weight_h = horizontal[:, fx].unsqueeze(1)
            output = output + value * weight_v * weight_h * mask[:, tap].unsqueeze(1)
    return output.to(input.dtype)
