"""IFRNet as a `Trainable`: the official training losses (reconstruction, geometry, and flow
distillation where a teacher flow is given)."""

from __future__ import annotations

from torch import Tensor

from vfi.models.ifrnet.losses import training_losses
from vfi.models.ifrnet.network import IFRNetNetwork
from vfi.training.trainer import Batch, Metrics


class IFRNetTrainable:
    def __init__(self, network: IFRNetNetwork) -> None:
        self.module = network

    def loss(self, batch: Batch) -> tuple[Tensor, Metrics]:
        prev, middle, next = batch.frames[:, 0], batch.frames[:, 1], batch.frames[:, 2]
        embt = batch.times.view(-1, 1, 1, 1)
        _, rec, geo, dis = training_losses(self.module, prev, next, embt, middle, batch.flows)
        terms = {"rec": rec.item(), "geo": geo.item()}
        if batch.flows is not None:
            terms["dis"] = dis.item()
        return rec + geo + dis, terms
