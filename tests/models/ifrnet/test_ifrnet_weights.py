"""The fixture weights regenerate bit-exactly and our network is keyed like the official one."""

from __future__ import annotations

import pytest
import torch

from vfi.models.ifrnet.network import IFRNetNetwork

VARIANTS = ["IFRNet", "IFRNet_L", "IFRNet_S"]
PARAMETERS = {"IFRNet": 4_959_692, "IFRNet_L": 19_699_460, "IFRNet_S": 2_803_610}


def checksums(tensor: torch.Tensor) -> torch.Tensor:
    t = tensor.double()
    return torch.stack([t.sum(), t.abs().sum(), (t * t).sum()])


@pytest.mark.parametrize("variant", VARIANTS)
def test_fixture_weights_regenerate_exactly(weights, manifest, variant):
    entry = manifest["variants"][variant]
    assert list(weights[variant]) == list(entry["shapes"])
    for key, tensor in weights[variant].items():
        assert tensor.dtype == torch.float32
        first8 = entry["first8"][key]
        assert torch.equal(tensor.flatten()[: len(first8)], first8), key
        torch.testing.assert_close(checksums(tensor), entry["checksums"][key], rtol=1e-12, atol=0)


@pytest.mark.parametrize("variant", VARIANTS)
def test_network_state_dict_has_the_official_keys_order_and_shapes(manifest, variant):
    with torch.device("meta"):
        state = IFRNetNetwork(variant).state_dict()
    shapes = manifest["variants"][variant]["shapes"]
    assert list(state) == list(shapes)
    assert len(state) == 104
    assert {k: list(v.shape) for k, v in state.items()} == {
        k: v.tolist() for k, v in shapes.items()
    }
    assert sum(v.numel() for v in state.values()) == PARAMETERS[variant]
