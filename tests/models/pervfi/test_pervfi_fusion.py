"""PerVFI multi-scale fusion: official keys and shapes, output geometry, official values."""

from __future__ import annotations

import pytest
import torch
from support import PERVFI_V00_WEIGHTS, load_pervfi_fixture

from vfi.models.pervfi.fusion import MultiscaleFuse

_PREFIX = "multiscaleFuse."
_LEVEL_CHANNELS = (35, 64, 96)

# Outputs of the official msfusion module (commit 89d90f1, float32, CPU, 1 thread) with the
# fixture weights on the 16x24 input of `_wave_features`: per level the float64 sum and absolute
# sum over all values, then y[0, :3, 1, 2] and the last value.
_OFFICIAL_16x24 = [
    ((1, 35, 8, 12), -707.5018038824201, 16236.77531234175, [2.8805425, -1.8730029, 7.6244874],
     4.0249214),
    ((1, 64, 4, 6), 170.7322554960847, 6863.66743247956, [9.5627956, 0.4961462, 2.5074859],
     3.5508509),
    ((1, 96, 2, 3), 195.65471057593822, 2366.307599887252, [-1.9916437, 16.0630074, 0.5329248],
     -8.3620529),
]  # fmt: skip


def _fixture_weights() -> dict[str, torch.Tensor]:
    """The `multiscaleFuse.*` entries of the v00 fixture, prefix stripped, as float32."""
    state = torch.load(PERVFI_V00_WEIGHTS, map_location="cpu", weights_only=True)
    return {k[len(_PREFIX) :]: v.float() for k, v in state.items() if k.startswith(_PREFIX)}


def _wave_features(height: int, width: int) -> list[torch.Tensor]:
    """RNG-free inputs in [-2, 2]: level k is sin(0.37 i + k) * 2 over its flat index i."""
    features = []
    for level, channels in enumerate(_LEVEL_CHANNELS):
        h, w = height >> level, width >> level
        x = torch.arange(channels * h * w, dtype=torch.float64)
        wave = torch.sin(0.37 * x + level).mul(2).float()
        features.append(wave.reshape(1, channels, h, w))
    return features


@pytest.fixture(scope="module")
def fusion() -> MultiscaleFuse:
    model = MultiscaleFuse()
    model.load_state_dict(_fixture_weights(), strict=True)
    return model.eval()


def test_default_module_has_exactly_the_official_keys_and_shapes():
    official = _fixture_weights()
    ours = MultiscaleFuse().state_dict()

    assert len(official) == 85
    assert list(ours) == list(official)
    assert {k: tuple(v.shape) for k, v in ours.items()} == {
        k: tuple(v.shape) for k, v in official.items()
    }


def test_fixture_weights_load_strictly_and_are_used(fusion: MultiscaleFuse):
    official = _fixture_weights()
    for name, value in fusion.state_dict().items():
        torch.testing.assert_close(value, official[name], rtol=0, atol=0)


def test_module_has_no_buffers():
    # No normalisation layers: nothing depends on running statistics or on train/eval mode.
    assert list(MultiscaleFuse().buffers()) == []


def test_outputs_halve_every_level_and_match_golden_condition_shapes(fusion: MultiscaleFuse):
    golden = load_pervfi_fixture("case_a.pt")
    features = [torch.zeros(1, c, 64 // 2**k, 96 // 2**k) for k, c in enumerate(_LEVEL_CHANNELS)]

    with torch.no_grad():
        conds = fusion(features)

    assert [tuple(c.shape) for c in conds] == [(1, 35, 32, 48), (1, 64, 16, 24), (1, 96, 8, 12)]
    assert [c.shape for c in conds] == [golden[f"conds/{k}"].shape for k in range(3)]


def test_outputs_match_the_official_module(fusion: MultiscaleFuse):
    with torch.no_grad():
        conds = fusion(_wave_features(16, 24))

    for cond, (shape, total, abs_total, head, last) in zip(conds, _OFFICIAL_16x24, strict=True):
        assert tuple(cond.shape) == shape
        assert cond.double().sum().item() == pytest.approx(total, abs=1e-2)
        assert cond.double().abs().sum().item() == pytest.approx(abs_total, rel=1e-5)
        torch.testing.assert_close(cond[0, :3, 1, 2], torch.tensor(head), atol=1e-4, rtol=1e-4)
        assert cond.flatten()[-1].item() == pytest.approx(last, abs=1e-4, rel=1e-4)


def test_each_input_level_reaches_every_condition(fusion: MultiscaleFuse):
    base = _wave_features(16, 24)
    with torch.no_grad():
        reference = fusion(base)
        for level in range(3):
            changed = [f.clone() for f in base]
            changed[level][:, :, 0, 0] += 1.0
            for out, ref in zip(fusion(changed), reference, strict=True):
                assert not torch.equal(out, ref)


def test_forward_leaves_inputs_unchanged(fusion: MultiscaleFuse):
    features = _wave_features(16, 24)
    copies = [f.clone() for f in features]

    with torch.no_grad():
        fusion(features)

    assert len(features) == 3
    for feature, copy in zip(features, copies, strict=True):
        assert torch.equal(feature, copy)
