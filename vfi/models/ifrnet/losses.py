"""IFRNet's training losses, as the official `forward()` computes them (for fine-tuning).

`training_losses` returns (imgt_pred, loss_rec, loss_geo, loss_dis); the official scripts
minimise their sum:
* loss_rec: Charbonnier L1 + census (Ternary, 7 x 7) between the clamped prediction and the
  ground truth;
* loss_geo: 0.01 x the Geometry (3 x 3 census per channel) loss between each decoder's
  intermediate feature and the encoder feature of the ground truth at that level (neither side
  detached: gradients also reach the encoder through the ground-truth branch);
* loss_dis: 0.01 x robust, adaptively weighted distillation of the levels 2-4 flows towards a
  teacher flow (zero without one).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .network import IFRNetNetwork, merge, normalise
from .ops import resize

# Census normalisation d / sqrt(0.81 + d^2) and distance d^2 / (0.1 + d^2).
_CENSUS_SCALE = 0.81
_CENSUS_DISTANCE = 0.1
GEO_WEIGHT = 0.01
DIS_WEIGHT = 0.01
ROBUST_BETA = 0.3


def charbonnier_l1(diff: Tensor) -> Tensor:
    """mean(sqrt(diff^2 + 1e-6)) over all elements."""
    return torch.sqrt(diff**2 + 1e-6).mean()


def charbonnier_ada(diff: Tensor, weight: Tensor) -> Tensor:
    """mean((diff^2 + eps^2)^(w / 2)), eps = 10^(-(10 w - 1) / 3); w per pixel (B x 1 x H x W).

    Where the student agrees with the teacher (w near 1) this is close to a plain L2 loss with
    a tiny eps; where they disagree (w near 0) it flattens towards a constant.
    """
    alpha = weight / 2
    epsilon = 10 ** (-(10 * weight - 1) / 3)
    return ((diff**2 + epsilon**2) ** alpha).mean()


def robust_weight(flow_pred: Tensor, flow_gt: Tensor, beta: float = ROBUST_BETA) -> Tensor:
    """exp(-beta * end-point error) per pixel, B x 1 x H x W; flow_pred is detached."""
    epe = ((flow_pred.detach() - flow_gt) ** 2).sum(dim=1, keepdim=True) ** 0.5
    return torch.exp(-beta * epe)


def _one_hot_kernel(patch_size: int, device: torch.device, dtype: torch.dtype) -> Tensor:
    """patch^2 x 1 x patch x patch: output channel k picks window position k (row-major)."""
    taps = patch_size * patch_size
    return torch.eye(taps, device=device, dtype=dtype).reshape(taps, 1, patch_size, patch_size)


def _border_mask(x: Tensor, border: int) -> Tensor:
    """B x 1 x H x W: 1 inside, 0 on a `border`-pixel frame."""
    batch, _, height, width = x.shape
    inner = x.new_ones(batch, 1, height - 2 * border, width - 2 * border)
    return F.pad(inner, [border] * 4)


def _census_distance(tx: Tensor, ty: Tensor) -> Tensor:
    diff = tx - ty
    return (diff**2 / (_CENSUS_DISTANCE + diff**2)).mean(dim=1, keepdim=True)


class Ternary(nn.Module):
    """Census loss on the channel-mean grey image (no luma weights, values as given)."""

    def __init__(self, patch_size: int = 7) -> None:
        super().__init__()
        self.patch_size = patch_size

    def transform(self, x: Tensor) -> Tensor:
        """B x patch^2 x H x W: normalised differences neighbour - centre (zero padding)."""
        grey = x.mean(dim=1, keepdim=True)
        kernel = _one_hot_kernel(self.patch_size, x.device, x.dtype)
        patches = F.conv2d(grey, kernel, padding=self.patch_size // 2)
        diff = patches - grey
        return diff / torch.sqrt(_CENSUS_SCALE + diff**2)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        dist = _census_distance(self.transform(x), self.transform(y).detach())
        return (dist * _border_mask(x, self.patch_size // 2)).mean()


class Geometry(nn.Module):
    """Census loss of every channel separately (channel index c * patch^2 + window position)."""

    def __init__(self, patch_size: int = 3) -> None:
        super().__init__()
        self.patch_size = patch_size

    def transform(self, x: Tensor) -> Tensor:
        batch, channels, height, width = x.shape
        flat = x.reshape(batch * channels, 1, height, width)
        kernel = _one_hot_kernel(self.patch_size, x.device, x.dtype)
        diff = F.conv2d(flat, kernel, padding=self.patch_size // 2) - flat
        diff = diff.reshape(batch, channels * self.patch_size**2, height, width)
        return diff / torch.sqrt(_CENSUS_SCALE + diff**2)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        dist = _census_distance(self.transform(x), self.transform(y))
        return (dist * _border_mask(x, self.patch_size // 2)).mean()


_TERNARY = Ternary(7)
_GEOMETRY = Geometry(3)


def distillation_loss(
    flows: dict[str, Tensor], teacher: Tensor, record: dict[str, Tensor] | None = None
) -> Tensor:
    """0.01 x sum over i in {0, 1} and levels 2-4 of Charbonnier_Ada(upsampled flow - teacher).

    flows: the accumulated flows up_flow{0,1}_{1..4} (`IFRNetNetwork.decode`'s record);
    teacher: B x 4 x H x W (t->0 then t->1). The weights come from the final level-1 flow,
    which is itself not distilled. `record` receives robust_weight{0,1} and the unweighted
    terms dis_flow{i}_level{k}.
    """
    loss = None
    for level in (2, 3, 4):
        scale = float(2 ** (level - 1))
        pair = None
        for i in (0, 1):
            target = teacher[:, 2 * i : 2 * i + 2]
            weight = robust_weight(flows[f"up_flow{i}_1"], target)
            term = charbonnier_ada(
                scale * resize(flows[f"up_flow{i}_{level}"], scale) - target, weight
            )
            if record is not None:
                record[f"robust_weight{i}"] = weight
                record[f"dis_flow{i}_level{level}"] = term
            pair = term if pair is None else pair + term
        level_loss = DIS_WEIGHT * pair
        loss = level_loss if loss is None else loss + level_loss
    return loss


def training_losses(
    network: IFRNetNetwork,
    img0: Tensor,
    img1: Tensor,
    embt: Tensor,
    imgt: Tensor,
    flow: Tensor | None = None,
    record: dict[str, Tensor] | None = None,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """The official training `forward()`: (imgt_pred, loss_rec, loss_geo, loss_dis).

    img0, img1, imgt: B x 3 x H x W in [0, 1], H and W multiples of 16; embt: B x 1 x 1 x 1;
    flow: optional teacher flow B x 4 x H x W in full-resolution pixels. Without it loss_dis is
    a zero tensor (0 x loss_geo), as in the official GoPro training. `record` receives every
    stage and every loss term by the official names.
    """
    record = {} if record is None else record
    mean_, img0_, img1_ = normalise(img0, img1)
    imgt_ = imgt.float() - mean_  # the frames' mean, not the ground truth's
    f0 = network.encode(img0_)
    f1 = network.encode(img1_)
    ft_1, ft_2, ft_3, _ = network.encode(imgt_)
    flow0, flow1, mask, res = network.decode(f0, f1, embt, record)
    imgt_pred = merge(img0_, img1_, mean_, flow0, flow1, mask, res, record)

    record["charbonnier_l1"] = charbonnier_l1(imgt_pred - imgt)
    record["ternary"] = _TERNARY(imgt_pred, imgt)
    loss_rec = record["charbonnier_l1"] + record["ternary"]
    record["geometry_1"] = _GEOMETRY(record["out2"][:, 4:], ft_1)
    record["geometry_2"] = _GEOMETRY(record["out3"][:, 4:], ft_2)
    record["geometry_3"] = _GEOMETRY(record["out4"][:, 4:], ft_3)
    loss_geo = GEO_WEIGHT * (record["geometry_1"] + record["geometry_2"] + record["geometry_3"])
    loss_dis = distillation_loss(record, flow, record) if flow is not None else 0.0 * loss_geo
    record.update(imgt_pred=imgt_pred, loss_rec=loss_rec, loss_geo=loss_geo, loss_dis=loss_dis)
    return imgt_pred, loss_rec, loss_geo, loss_dis
