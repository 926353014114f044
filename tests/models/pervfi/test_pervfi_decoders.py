"""The two PerVFI decoders against the official goldens (tests/fixtures/pervfi/README.md).

Both start from the golden `conds/*` (the multi-scale fusion outputs) so they are checked
independently of the front end. Tolerances from the README: atol 1e-4 on `pred_raw`,
atol = rtol = 1e-4 on intermediates. Case b stores only `conds/2`, enough for the top flow block.
"""

from __future__ import annotations

import inspect

import pytest
import torch
from support import PERVFI_V00_WEIGHTS, PERVFI_VB_GENERATOR_WEIGHTS, load_pervfi_fixture

from vfi.models.pervfi.normalizing_flow import (
    ConditionalFlowDecoder,
    InvConv2d,
    draw_noise,
    noise_shapes,
)
from vfi.models.pervfi.vb_decoder import CNNDecoder

TOL = {"atol": 1e-4, "rtol": 1e-4}
FULL_CASES = ["case_a", "case_c"]
# Seed of the official `get_z` call that drew each case's noise (README, keys section).
NOISE_SEED = 20240611 + 200


def strip_prefix(state_dict: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) :]: v for k, v in state_dict.items() if k.startswith(prefix)}


@pytest.fixture(scope="module")
def flow_state_dict() -> dict[str, torch.Tensor]:
    full = torch.load(PERVFI_V00_WEIGHTS, map_location="cpu", weights_only=True)
    return strip_prefix(full, "condFLownet.")


@pytest.fixture(scope="module")
def vb_state_dict() -> dict[str, torch.Tensor]:
    full = torch.load(PERVFI_VB_GENERATOR_WEIGHTS, map_location="cpu", weights_only=True)
    return strip_prefix(full, "generator.")


@pytest.fixture(scope="module")
def flow_decoder(flow_state_dict, test_device) -> ConditionalFlowDecoder:
    decoder = ConditionalFlowDecoder()
    decoder.load_state_dict(flow_state_dict)
    return decoder.to(test_device).eval()


@pytest.fixture(scope="module")
def vb_decoder(vb_state_dict, test_device) -> CNNDecoder:
    decoder = CNNDecoder()
    decoder.load_state_dict(vb_state_dict)
    return decoder.to(test_device).eval()


@pytest.fixture(scope="module")
def cases(to_test_device) -> dict[str, dict[str, torch.Tensor]]:
    names = ["case_a", "case_b", "case_c"]
    return {name: to_test_device(load_pervfi_fixture(f"{name}.pt")) for name in names}


def levels(case: dict[str, torch.Tensor], kind: str) -> list[torch.Tensor]:
    return [case[f"{kind}/{level}"] for level in range(3)]


def test_flow_decoder_has_exactly_the_checkpoint_entries(flow_state_dict):
    decoder = ConditionalFlowDecoder()
    assert len(flow_state_dict) == 645
    result = decoder.load_state_dict(flow_state_dict, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert decoder.state_dict().keys() == flow_state_dict.keys()


def test_flow_blocks_match_the_official_block_outputs(flow_decoder, cases):
    case = cases["case_a"]
    record: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        flow_decoder.decode(levels(case, "conds"), levels(case, "z"), record)
    assert set(record) == {"flow/block2_out", "flow/block1_out", "flow/block0_out"}
    for name, mine in record.items():
        torch.testing.assert_close(mine, case[name], **TOL, msg=name)


def test_top_flow_block_matches_case_b(flow_decoder, cases):
    case = cases["case_b"]
    with torch.no_grad():
        out = flow_decoder.blocks[2].reverse(None, case["conds/2"], case["z/2"])
    torch.testing.assert_close(out, case["flow/block2_out"], **TOL)


@pytest.mark.parametrize("name", FULL_CASES)
def test_flow_decoder_reproduces_pred_raw(flow_decoder, cases, name):
    case = cases[name]
    with torch.no_grad():
        pred = flow_decoder.decode(levels(case, "conds"), levels(case, "z"))
    torch.testing.assert_close(pred, case["pred_raw"], atol=1e-4, rtol=0)


def test_noise_changes_the_flow_decoder_output(flow_decoder, cases):
    case = cases["case_a"]
    conds, noise = levels(case, "conds"), levels(case, "z")
    with torch.no_grad():
        pred = flow_decoder.decode(conds, noise)
        other = flow_decoder.decode(conds, [-z for z in noise])
    assert (pred - other).abs().max() > 1e-2


def test_uninitialised_actnorm_is_rejected_at_load(flow_state_dict):
    broken = dict(flow_state_dict)
    broken["blocks.1.flows.3.actnorm.initialized"] = torch.tensor(0, dtype=torch.uint8)
    with pytest.raises(RuntimeError, match=r"blocks\.1\.flows\.3\.actnorm\.initialized is 0"):
        ConditionalFlowDecoder().load_state_dict(broken)


def test_inverse_conv_weight_inverts_every_checkpoint_matrix(flow_decoder):
    convs = [m for m in flow_decoder.modules() if isinstance(m, InvConv2d)]
    assert len(convs) == 3 * 17
    for conv in convs:
        matrix = conv.weight[:, :, 0, 0].double()
        product = conv.inverse_weight()[:, :, 0, 0].double() @ matrix
        identity = torch.eye(len(matrix), dtype=torch.float64)
        torch.testing.assert_close(product, identity, atol=1e-6, rtol=0)


def test_cached_inverse_follows_in_place_weight_changes():
    conv = InvConv2d(4)
    with torch.no_grad():
        conv.weight.mul_(2.0)
        first = conv.inverse_weight()
        conv.weight.mul_(2.0)
        second = conv.inverse_weight()
    torch.testing.assert_close(first[:, :, 0, 0], torch.eye(4) / 2)
    torch.testing.assert_close(second[:, :, 0, 0], torch.eye(4) / 4)


def test_top_block_prior_on_zeros_equals_the_prior_conv(flow_decoder):
    prior = flow_decoder.blocks[2].prior
    with torch.no_grad():
        by_conv = prior(torch.zeros(1, 48, 3, 5, device=prior.conv.weight.device))
        constant = prior.output_on_zeros()
    assert torch.equal(by_conv, constant.expand_as(by_conv))


@pytest.mark.parametrize("letter", ["a", "b", "c"])
def test_draw_noise_reproduces_the_official_noise(cases, letter):
    case = cases[f"case_{letter}"]
    _, _, height, width = case["img0"].shape
    torch.manual_seed(NOISE_SEED + ord(letter))
    noise = draw_noise(1, height, width, float(case["heat"]))
    for level in range(3):
        # Drawn on the CPU as the official code did; the goldens may be on the test device.
        assert torch.equal(noise[level].to(case[f"z/{level}"].device), case[f"z/{level}"])


def test_noise_shapes_reject_sizes_not_divisible_by_8():
    with pytest.raises(ValueError, match="divisible by 8"):
        noise_shapes(36, 48)


def test_vb_decoder_has_exactly_the_generator_entries(vb_state_dict):
    decoder = CNNDecoder()
    assert len(vb_state_dict) == 14
    result = decoder.load_state_dict(vb_state_dict, strict=True)
    assert not result.missing_keys and not result.unexpected_keys


@pytest.mark.parametrize("name", FULL_CASES)
def test_vb_decoder_reproduces_vb_pred_raw(vb_decoder, cases, name):
    case = cases[name]
    with torch.no_grad():
        pred = vb_decoder.decode(levels(case, "conds"))
    torch.testing.assert_close(pred, case["vb/pred_raw"], atol=1e-4, rtol=0)


def test_vb_decoder_takes_no_noise():
    assert list(inspect.signature(CNNDecoder.decode).parameters) == ["self", "conds"]
