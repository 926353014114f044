"""The generator's front end (frames and flows -> decoder conditions) against the official
goldens, stage by stage, with the fixture weights loaded by their official names."""

from __future__ import annotations

import pytest
import torch
from support import PERVFI_V00_WEIGHTS, load_pervfi_fixture
from torch import nn

from vfi.models.pervfi.alignment import DeformableAlign
from vfi.models.pervfi.blending import AttentionMerge
from vfi.models.pervfi.conditioning import compute_conditions
from vfi.models.pervfi.features import FeaturePyramid
from vfi.models.pervfi.fusion import MultiscaleFuse

FRONT_END = ("featurePyramid", "deformableAlign", "attentionMerge", "multiscaleFuse")
TOL = {"atol": 1e-4, "rtol": 1e-4}


class FrontEnd(nn.Module):
    """The four front-end submodules under their official attribute names."""

    def __init__(self) -> None:
        super().__init__()
        self.featurePyramid = FeaturePyramid()
        self.deformableAlign = DeformableAlign()
        self.attentionMerge = AttentionMerge()
        self.multiscaleFuse = MultiscaleFuse()


@pytest.fixture(scope="module")
def front_end_weights() -> dict[str, torch.Tensor]:
    state = torch.load(PERVFI_V00_WEIGHTS, map_location="cpu", weights_only=True)
    return {k: v.float() for k, v in state.items() if k.split(".")[0] in FRONT_END}


@pytest.fixture(scope="module")
def model(front_end_weights, test_device) -> FrontEnd:
    front_end = FrontEnd()
    front_end.load_state_dict(front_end_weights, strict=True)
    return front_end.to(test_device).eval()


@pytest.fixture(scope="module")
def golden_c(to_test_device) -> dict[str, torch.Tensor]:
    return to_test_device(load_pervfi_fixture("case_c.pt"))


@pytest.fixture(scope="module")
def runs(model, to_test_device) -> dict[str, tuple[dict, dict, list]]:
    """Per case: (golden, recorded intermediates, returned conditions)."""
    out = {}
    for case in "abc":
        golden = to_test_device(load_pervfi_fixture(f"case_{case}.pt"))
        record: dict[str, torch.Tensor] = {}
        with torch.no_grad():
            conds = compute_conditions(
                model,
                golden["img0"],
                golden["img1"],
                golden["fflow"],
                golden["bflow"],
                float(golden["time"]),
                record,
            )
        out[case] = (golden, record, conds)
    return out


def _compare(runs, case: str, key: str, channels: slice | None = None) -> None:
    golden, record, _ = runs[case]
    got = record[key] if channels is None else record[key][:, channels]
    torch.testing.assert_close(
        got, golden[key if channels is None else _sliced(key, channels)], **TOL
    )


def _sliced(key: str, channels: slice) -> str:
    return f"{key}_ch{channels.start}-{channels.stop - 1}"


def test_front_end_keys_are_the_official_ones(front_end_weights):
    assert set(FrontEnd().state_dict()) == set(front_end_weights)
    assert "featurePyramid.netSoftmetric.0x0 - 0x1.netMain.0.weight" in front_end_weights


def test_case_c_uses_a_time_other_than_the_midpoint(runs):
    assert float(runs["c"][0]["time"]) == pytest.approx(0.3)


@pytest.mark.parametrize("key", ["softmetric/m0_raw", "softmetric/m1_raw"])
def test_softmetric_matches_golden(runs, key):
    _compare(runs, "a", key)


@pytest.mark.parametrize("key", ["encode/img0/1", "encode/img0/2", "encode/img1/2"])
def test_encoder_matches_golden(runs, key):
    _compare(runs, "a", key)


@pytest.mark.parametrize("case", "abc")
@pytest.mark.parametrize("level", [0, 1, 2])
def test_hole_masks_match_golden_exactly(runs, case, level):
    golden, record, _ = runs[case]
    assert torch.equal(record[f"pyramid/bmasks/{level}"], golden[f"pyramid/bmasks/{level}"])


def test_hole_masks_have_holes_to_compare(runs):
    golden = runs["a"][0]
    assert all(golden[f"pyramid/bmasks/{level}"].sum() > 0 for level in range(3))


@pytest.mark.parametrize("case", "ab")
def test_flow_from_t_to_frame_1_matches_golden(runs, case):
    _compare(runs, case, "pyramid/Ft2")


def test_splatted_image_channels_match_golden(runs):
    _compare(runs, "a", "pyramid/warped0/0", slice(0, 3))


@pytest.mark.parametrize("level", [1, 2])
def test_splatted_features_match_golden(runs, level):
    _compare(runs, "a", f"pyramid/warped0/{level}")


def test_dcn_offset_conv_matches_golden(runs):
    _compare(runs, "a", "align/l2_offset_conv")


def test_aligned_full_size_features_match_golden(runs):
    _compare(runs, "a", "align/feaR/0", slice(0, 4))


@pytest.mark.parametrize("level", [1, 2])
def test_aligned_features_match_golden(runs, level):
    _compare(runs, "a", f"align/feaR/{level}")


@pytest.mark.parametrize("case", "abc")
@pytest.mark.parametrize("level", [0, 1, 2])
def test_soft_masks_match_golden(runs, case, level):
    _compare(runs, case, f"merge/smasks/{level}")


def test_soft_mask_is_exactly_zero_on_a_level_without_holes(runs):
    golden, record, _ = runs["b"]
    assert not golden["pyramid/bmasks/2"].any()
    assert not record["merge/smasks/2"].any()


@pytest.mark.parametrize("level", [0, 1, 2])
def test_soft_mask_is_exactly_zero_beyond_the_reach_of_holes(runs, level):
    _, record, _ = runs["a"]
    holes = record[f"pyramid/bmasks/{level}"]
    # The hole-mask convs (9x9 then 3x3, no bias) reach 5 pixels from a hole.
    near = nn.functional.max_pool2d(holes, 11, stride=1, padding=5) > 0
    mask = record[f"merge/smasks/{level}"]
    assert (~near).any()
    assert not mask[~near].any()


def test_blended_full_size_features_match_golden(runs):
    _compare(runs, "a", "merge/feas/0", slice(0, 4))


def test_blended_features_match_golden(runs):
    _compare(runs, "a", "merge/feas/2")


@pytest.mark.parametrize(
    ("case", "level"), [("a", 0), ("a", 1), ("a", 2), ("b", 2), ("c", 0), ("c", 1), ("c", 2)]
)
def test_conditions_match_golden(runs, case, level):
    golden, record, conds = runs[case]
    assert conds[level] is record[f"conds/{level}"]
    torch.testing.assert_close(conds[level], golden[f"conds/{level}"], **TOL)


def test_per_sample_times_match_single_runs(model, golden_c):
    inputs = [golden_c[k] for k in ("img0", "img1", "fflow", "bflow")]
    batched = [torch.cat([x, x.flip(0).roll(5, dims=-1)]) for x in inputs]
    times = [0.5, 0.3]
    with torch.no_grad():
        together = compute_conditions(
            model, *batched, torch.tensor(times, device=batched[0].device)
        )
        for i, t in enumerate(times):
            alone = compute_conditions(model, *(x[i : i + 1] for x in batched), t)
            for level in range(3):
                torch.testing.assert_close(together[level][i : i + 1], alone[level], **TOL)


def test_time_changes_the_conditions(model, golden_c):
    inputs = [golden_c[k] for k in ("img0", "img1", "fflow", "bflow")]
    with torch.no_grad():
        mid = compute_conditions(model, *inputs, 0.5)
        early = compute_conditions(model, *inputs, 0.2)
    assert (mid[0] - early[0]).abs().max() > 1e-2


def test_recording_leaves_no_hooks_behind(model, runs):
    for pack in model.deformableAlign.deform_conv.values():
        assert not pack.conv_offset._forward_hooks


def test_inference_consumes_no_random_numbers(model, golden_c):
    inputs = [golden_c[k] for k in ("img0", "img1", "fflow", "bflow")]
    state = torch.random.get_rng_state()
    with torch.no_grad():
        compute_conditions(model, *inputs, 0.3)
    assert torch.equal(torch.random.get_rng_state(), state)


def test_frame_size_not_a_multiple_of_8_is_rejected(model, golden_c):
    img0, img1 = golden_c["img0_unpadded"], golden_c["img1_unpadded"]
    flow = torch.zeros(1, 2, *img0.shape[2:], device=img0.device)
    with pytest.raises(ValueError, match="multiple of 8"):
        compute_conditions(model, img0, img1, flow, flow, 0.5)


def test_per_sample_times_must_match_the_batch(model, golden_c):
    inputs = [golden_c[k] for k in ("img0", "img1", "fflow", "bflow")]
    with pytest.raises(ValueError, match="shape"):
        compute_conditions(model, *inputs, torch.tensor([0.5, 0.5], device=inputs[0].device))
