"""Training losses and gradients match the official training `forward()`.

Tolerances from the fixtures' README, section 8: scalar losses rtol 1e-5; gradients compared
per tensor by relative L2 distance (< 1e-2), since single elements can jump where a sample
point crosses a pixel boundary.
"""

from __future__ import annotations

import pytest
import torch

from vfi.models.ifrnet import IFRNet
from vfi.models.ifrnet.losses import (
    Geometry,
    Ternary,
    charbonnier_ada,
    charbonnier_l1,
    robust_weight,
    training_losses,
)

LOSS_RTOL = 1e-5
GRAD_RTOL = 1e-2
TOL = {"atol": 1e-4, "rtol": 1e-4}


@pytest.fixture(scope="module")
def trained(weights, train_golden, test_device):
    """One training forward with teacher flow and one backward of the summed loss."""
    model = IFRNet.from_state_dict(weights["IFRNet"], test_device).train()
    data = train_golden["inputs"]
    record: dict[str, torch.Tensor] = {}
    _, loss_rec, loss_geo, loss_dis = training_losses(
        model.network, data["img0"], data["img1"], data["embt"], data["imgt"], data["flow"], record
    )
    record["loss_total"] = loss_rec + loss_geo + loss_dis
    model.zero_grad()
    record["loss_total"].backward()
    grads = {name: p.grad for name, p in model.network.named_parameters()}
    return record, grads


def test_ternary_matches_the_official(units):
    unit = units["ternary"]
    torch.testing.assert_close(Ternary(7).transform(unit["x"]), unit["transform_x"], **TOL)
    torch.testing.assert_close(
        Ternary(7)(unit["x"], unit["y"]), unit["value"], rtol=LOSS_RTOL, atol=0
    )


def test_geometry_matches_the_official(units):
    unit = units["geometry"]
    torch.testing.assert_close(Geometry(3).transform(unit["x"]), unit["transform_x"], **TOL)
    torch.testing.assert_close(
        Geometry(3)(unit["x"], unit["y"]), unit["value"], rtol=LOSS_RTOL, atol=0
    )


def test_charbonnier_l1_matches_the_official(units):
    unit = units["charbonnier_l1"]
    torch.testing.assert_close(charbonnier_l1(unit["diff"]), unit["value"], rtol=LOSS_RTOL, atol=0)


def test_robust_weight_matches_the_official(units):
    unit = units["robust_weight"]
    weight = robust_weight(unit["flow_pred"], unit["flow_gt"], float(unit["beta"]))
    torch.testing.assert_close(weight, unit["weight"], **TOL)


def test_charbonnier_ada_matches_the_official(units):
    unit = units["charbonnier_ada"]
    value = charbonnier_ada(unit["diff"], unit["weight"])
    torch.testing.assert_close(value, unit["value"], rtol=LOSS_RTOL, atol=0)


def test_every_loss_term_matches_the_official(trained, train_golden):
    record, _ = trained
    for name, ref in train_golden["values"].items():
        if name.startswith("noflow_"):
            continue
        if ref.dim() == 0:
            torch.testing.assert_close(record[name].detach(), ref, rtol=LOSS_RTOL, atol=0, msg=name)
        else:
            torch.testing.assert_close(record[name].detach(), ref, **TOL, msg=name)


def test_gradients_match_the_official(trained, train_golden):
    _, grads = trained
    for name, ref in train_golden["grads"].items():
        distance = (grads[name] - ref).norm() / ref.norm()
        assert distance < GRAD_RTOL, (name, distance.item())


def test_gradient_norms_of_all_parameters_match_the_official(trained, train_golden):
    _, grads = trained
    assert set(grads) == set(train_golden["grad_norms"])
    for name, ref in train_golden["grad_norms"].items():
        torch.testing.assert_close(
            grads[name].double().norm(), ref, rtol=GRAD_RTOL, atol=0, msg=name
        )


def test_geometry_loss_trains_the_encoder_through_the_ground_truth_too(models, train_golden):
    """Neither side of the geometry loss is detached (official behaviour)."""
    data = {k: v[:1, :, :32, :32] for k, v in train_golden["inputs"].items()}
    imgt = data["imgt"].clone().requires_grad_(True)
    network = models["IFRNet_S"].network
    _, _, loss_geo, _ = training_losses(network, data["img0"], data["img1"], data["embt"], imgt)
    (gradient,) = torch.autograd.grad(loss_geo, imgt)
    assert gradient.abs().sum() > 0


def test_without_teacher_flow_the_distillation_loss_is_zero(weights, train_golden, test_device):
    model = IFRNet.from_state_dict(weights["IFRNet"], test_device)
    data = train_golden["inputs"]
    with torch.no_grad():
        _, loss_rec, loss_geo, loss_dis = training_losses(
            model.network, data["img0"], data["img1"], data["embt"], data["imgt"]
        )
    values = train_golden["values"]
    torch.testing.assert_close(loss_rec, values["noflow_loss_rec"], rtol=LOSS_RTOL, atol=0)
    torch.testing.assert_close(loss_geo, values["noflow_loss_geo"], rtol=LOSS_RTOL, atol=0)
    assert loss_dis.dim() == 0 and loss_dis.item() == 0.0
