"""Every stage of the network matches the official code (goldens of commit b117bcaf).

Tolerances from the fixtures' README, section 8: features, masks, residuals and images
atol = rtol = 1e-4, flows (pixels) atol = 1e-3. The channels_last convolutions sum in another
order than the official NCHW ones: images differ by about 1e-5 at most.
"""

from __future__ import annotations

import pytest
import torch

from vfi.models.ifrnet.ops import resize, warp

CASES = [
    ("IFRNet", "case_a"),
    ("IFRNet", "case_b"),
    ("IFRNet", "case_c"),
    ("IFRNet", "case_d"),
    ("IFRNet", "case_e_nopad"),
    ("IFRNet_L", "case_a"),
    ("IFRNet_L", "case_b"),
    ("IFRNet_L", "case_c"),
    ("IFRNet_S", "case_a"),
    ("IFRNet_S", "case_b"),
    ("IFRNet_S", "case_c"),
]
FLOW_ATOL = 1e-3
TOL = {"atol": 1e-4, "rtol": 1e-4}


def assert_stage_close(name: str, mine: torch.Tensor, ref: torch.Tensor) -> None:
    """Flow tolerance for flows and for the flow channels of the decoder outputs."""
    assert mine.shape == ref.shape, name
    mine = mine.float()
    if name.startswith(("up_flow", "flow")):
        torch.testing.assert_close(mine, ref, atol=FLOW_ATOL, rtol=0, msg=name)
    elif name.startswith("out"):
        torch.testing.assert_close(mine[:, :4], ref[:, :4], atol=FLOW_ATOL, rtol=0, msg=name)
        torch.testing.assert_close(mine[:, 4:], ref[:, 4:], **TOL, msg=name)
    else:
        torch.testing.assert_close(mine, ref, **TOL, msg=name)


def run_network(model, case: dict) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    record: dict[str, torch.Tensor] = {}
    with torch.inference_mode():
        out = model.network.inference(
            case["img0"], case["img1"], case["embt"], float(case["scale_factor"]), record
        )
    return out, record


@pytest.mark.parametrize(("variant", "case"), CASES)
def test_every_stage_matches_the_official_code(models, inputs, outputs, variant, case):
    out, record = run_network(models[variant], inputs[case])
    golden = outputs[variant][case]
    for name, ref in golden.items():
        if name != "imgt_pred_unpadded":
            assert_stage_close(name, record[name], ref)
    assert_stage_close("imgt_pred", out, golden["imgt_pred"])


def test_unpadded_size_runs_and_comes_back_stretched_like_the_official(models, inputs, outputs):
    case = inputs["case_e_nopad"]
    assert case["img0"].shape[-2:] == (70, 100)
    out, _ = run_network(models["IFRNet"], case)
    assert out.shape[-2:] == (80, 112)
    assert_stage_close("imgt_pred", out, outputs["IFRNet"]["case_e_nopad"]["imgt_pred"])


def test_time_enters_only_as_the_last_channel_of_decoder4(models, inputs, test_device):
    case = dict(inputs["case_a"], embt=torch.full((1, 1, 1, 1), 0.25, device=test_device))
    _, record = run_network(models["IFRNet"], case)
    decoder4_in = record["decoder4_in"]
    assert decoder4_in.shape[1] == 2 * 96 + 1
    assert torch.equal(decoder4_in[:, -1], torch.full_like(decoder4_in[:, -1], 0.25))


def test_output_depends_on_time_for_the_fixture_weights(models, inputs, test_device):
    early, late = (
        run_network(
            models["IFRNet"],
            dict(inputs["case_a"], embt=torch.full((1, 1, 1, 1), t, device=test_device)),
        )[0]
        for t in (0.25, 0.75)
    )
    assert (early - late).abs().max() > 0.05


def test_warp_matches_the_official_including_the_border_clamp(units):
    unit = units["warp"]
    assert unit["flow"].abs().max() >= 33  # some samples fall outside the image
    torch.testing.assert_close(warp(unit["img"], unit["flow"]), unit["out"], **TOL)


def test_warp_output_takes_the_flow_size(units):
    img = units["warp"]["img"]
    flow = torch.zeros(2, 2, 24, 32, device=img.device)
    assert warp(img, flow).shape == (2, 5, 24, 32)


@pytest.mark.parametrize(
    ("source", "scale", "name"),
    [
        ("x", 2.0, "up2"),
        ("x", 4.0, "up4"),
        ("x", 8.0, "up8"),
        ("x20", 0.8, "down0p8"),
        ("x16", 1.0 / 0.8, "up1p25"),
    ],
)
def test_resize_matches_the_official(units, source, scale, name):
    unit = units["resize"]
    torch.testing.assert_close(resize(unit[source], scale), unit[name], **TOL)


def test_resize_by_one_is_the_identity(units):
    x = units["resize"]["x20"]
    assert torch.equal(resize(x, 1.0), x)
