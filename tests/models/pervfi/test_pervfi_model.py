"""The whole PerVFI generator against the official outputs, its loading, and its seeded noise."""

from __future__ import annotations

import pytest
import torch
from support import (
    load_pervfi_fixture,
    pervfi_state_dict,
    write_pervfi_checkpoint,
    write_raft_weights,
)

from vfi.models.pervfi import PerVFI
from vfi.models.pervfi.model import seeded_noise
from vfi.models.weights_file import CheckpointError

# The fixtures' README: final frames of two thread counts differ by <= 2e-6.
ATOL = 1e-4
CASES = ("a", "b", "c")


@pytest.fixture(scope="module")
def models(test_device) -> dict[str, PerVFI]:
    return {v: PerVFI.from_state_dict(pervfi_state_dict(v), v, test_device) for v in ("v00", "vb")}


def noise_of(case: dict) -> list[torch.Tensor]:
    return [case["z/0"], case["z/1"], case["z/2"]]


def frames_and_golden(letter: str, golden: str) -> tuple[dict, torch.Tensor, torch.Tensor, str]:
    """Case c goes through the wrapper's pad/crop path: unpadded frames, padded flows."""
    case = load_pervfi_fixture(f"case_{letter}.pt")
    if letter == "c":
        return case, case["img0_unpadded"], case["img1_unpadded"], f"{golden}_cropped"
    return case, case["img0"], case["img1"], golden


@pytest.mark.parametrize("letter", CASES)
def test_v00_makes_the_official_frame(models, letter):
    case, img0, img1, golden = frames_and_golden(letter, "pred")
    t = float(case["time"])
    out = models["v00"].synthesize(img0, img1, t, case["fflow"], case["bflow"], noise_of(case))
    assert out.shape == case[golden].shape
    torch.testing.assert_close(out, case[golden], atol=ATOL, rtol=0)


@pytest.mark.parametrize("letter", CASES)
def test_vb_makes_the_official_frame(models, letter):
    case, img0, img1, golden = frames_and_golden(letter, "vb/pred")
    t = float(case["time"])
    out = models["vb"].synthesize(img0, img1, t, case["fflow"], case["bflow"], None)
    torch.testing.assert_close(out, case[golden], atol=ATOL, rtol=0)


def test_raw_output_is_recorded_before_the_clamp(models, to_test_device):
    case = to_test_device(load_pervfi_fixture("case_a.pt"))
    record: dict[str, torch.Tensor] = {}
    models["v00"].synthesize(
        case["img0"], case["img1"], 0.5, case["fflow"], case["bflow"], noise_of(case), record
    )
    torch.testing.assert_close(record["pred_raw"], case["pred_raw"], atol=ATOL, rtol=0)
    assert record["pred_raw"].max() > 1 or record["pred_raw"].min() < 0  # the clamp matters


def test_per_pair_times_give_each_pair_its_own_frame(models):
    a, c = load_pervfi_fixture("case_a.pt"), load_pervfi_fixture("case_c.pt")
    # case c's frames cropped to case a's size cannot be stacked; use case a twice instead
    batch = {k: torch.cat([a[k], a[k]]) for k in ("img0", "img1", "fflow", "bflow")}
    out = models["vb"].synthesize(
        batch["img0"], batch["img1"], [0.5, 0.3], batch["fflow"], batch["bflow"], None
    )
    torch.testing.assert_close(out[:1], a["vb/pred"], atol=ATOL, rtol=0)
    assert (out[1] - out[0]).abs().max() > 1e-3
    assert c["time"] == pytest.approx(0.3)


def test_seeded_noise_is_the_official_draw_for_that_seed():
    case = load_pervfi_fixture("case_a.pt")
    noise = seeded_noise([20240611 + 200 + ord("a")], 64, 96, 0.3)
    for level, z in enumerate(noise):
        assert torch.equal(z, case[f"z/{level}"])


def test_noise_of_a_pair_does_not_depend_on_its_batch_mates():
    alone = seeded_noise([7], 16, 24, 0.3)
    together = seeded_noise([3, 7], 16, 24, 0.3)
    assert all(torch.equal(a[0], b[1]) for a, b in zip(alone, together, strict=True))


def test_v00_refuses_to_run_without_noise_and_vb_with_noise(models):
    case = load_pervfi_fixture("case_a.pt")
    args = (case["img0"], case["img1"], 0.5, case["fflow"], case["bflow"])
    with pytest.raises(ValueError, match="needs its three noise"):
        models["v00"].synthesize(*args, None)
    with pytest.raises(ValueError, match="draws no noise"):
        models["vb"].synthesize(*args, noise_of(case))


@pytest.mark.parametrize("variant", ["v00", "vb"])
def test_checkpoint_variant_is_read_from_the_file(tmp_path, variant):
    path = write_pervfi_checkpoint(tmp_path / f"{variant}.pth", variant, prefix="module.")
    model = PerVFI.from_checkpoint(path)
    assert model.variant == variant
    assert next(model.parameters()).dtype == torch.float32


def test_checkpoint_of_another_model_is_refused_with_the_keys(tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"encoder.weight": torch.zeros(3)}, path)
    with pytest.raises(CheckpointError, match="not a PerVFI checkpoint") as err:
        PerVFI.from_checkpoint(path)
    assert "encoder.weight" in str(err.value) and str(path) in str(err.value)


def test_checkpoint_with_a_wrong_shape_names_the_key(tmp_path):
    weights = pervfi_state_dict("vb")
    weights["generator.tail.bias"] = torch.zeros(4)
    path = tmp_path / "vb.pth"
    torch.save(weights, path)
    with pytest.raises(CheckpointError, match=r"generator\.tail\.bias: file \[4\]"):
        PerVFI.from_checkpoint(path)


def test_missing_checkpoint_names_the_path(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        PerVFI.from_checkpoint(tmp_path / "v00.pth")


def test_interpolate_is_reproducible_from_its_seeds(tmp_path):
    model = PerVFI.from_checkpoint(
        write_pervfi_checkpoint(tmp_path / "v00.pth"),
        flow_weights=write_raft_weights(tmp_path / "raft.pth"),
        raft_iterations=2,
    )
    generator = torch.Generator().manual_seed(0)
    prev, next = torch.rand(2, 1, 3, 50, 61, generator=generator)
    first = model.interpolate(prev, next, 0.4, seeds=[11])
    again = model.interpolate(prev, next, 0.4, seeds=[11])
    other = model.interpolate(prev, next, 0.4, seeds=[12])
    assert first.shape == (1, 3, 50, 61) and first.min() >= 0 and first.max() <= 1
    assert torch.equal(first, again)
    assert (first - other).abs().max() > 1e-4


def test_interpolate_needs_a_flow_estimator(models):
    frames = torch.zeros(1, 3, 16, 16)
    with pytest.raises(RuntimeError, match="flow_weights"):
        models["vb"].interpolate(frames, frames, 0.5, seeds=[0])


def test_bf16_autocast_rounds_only_a_little_against_fp32(models):
    """Measured on case a: at most 0.014 of full scale (benchmarks/pervfi_speed.py --only
    fidelity gives the table). The deformable sampling and the decoder stay float32."""
    case = load_pervfi_fixture("case_a.pt")
    args = (case["img0"], case["img1"], 0.5, case["fflow"], case["bflow"], noise_of(case))
    with torch.autocast(models["v00"].device.type, dtype=torch.bfloat16):
        rounded = models["v00"].synthesize(*args)
    difference = (rounded - case["pred"]).abs()
    assert rounded.dtype == torch.float32 and 0 < difference.max() < 0.05


def test_an_overflow_under_autocast_is_made_again_in_float32(caplog):
    """Weights scaled so that the encoder's activations exceed float16's range (65504)."""
    weights = pervfi_state_dict("vb")
    weights = {k: v.float() for k, v in weights.items()}
    key = next(k for k in weights if k.startswith("featurePyramid.netEncode") and "weight" in k)
    weights[key] = weights[key] * 1e6
    model = PerVFI.from_state_dict(weights, "vb")
    case = load_pervfi_fixture("case_a.pt")
    args = (case["img0"], case["img1"], 0.5, case["fflow"], case["bflow"], None)
    exact = model.synthesize(*args)
    with torch.autocast("cpu", dtype=torch.float16):
        fast = model.synthesize(*args)
    assert "overflowed" in caplog.text
    torch.testing.assert_close(fast, exact, atol=ATOL, rtol=0)
