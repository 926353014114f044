"""RAFT flow for PerVFI: the wrapper's padding/scaling, the weights' two layouts, the errors.

Seeded random weights (no download, no stored 21 MB file); the golden of the official code uses
weights from an RNG-free formula instead (`formula_weights`). RAFT needs frames of at least
128 x 128 and is slow on a CPU, so the sizes are the smallest allowed and the iteration count is
cut where the behaviour does not depend on it.
"""

from __future__ import annotations

import json
import math
import re
import zlib

import pytest
import torch
import torch.nn.functional as F
from support import PERVFI_FIXTURES, load_pervfi_fixture, unit_values
from torchvision.models.optical_flow import raft_large

from vfi.models.pervfi.raft import (
    RaftFlow,
    centre_padding,
    load_raft,
    original_to_torchvision,
    torchvision_shapes,
)
from vfi.models.weights_file import CheckpointError

ORIGINAL_KEYS = PERVFI_FIXTURES / "raft_original_keys.json"
# Against torchvision's RAFT called directly the largest |difference| seen was 0.0 (the same
# float32 operations); the slack covers other BLAS/oneDNN builds.
ATOL = 1e-4
# Against the official code: 0.0 with 1 thread (as the golden was made), 4.4e-5 px with 2; the
# 12 refinement steps amplify summation-order differences. A wrong padding or scaling, or one
# step less, is off by 3 px or more.
GOLDEN_ATOL = 1e-3
_P = 2147483647


@pytest.fixture(scope="module")
def torchvision_state_dict() -> dict[str, torch.Tensor]:
    """A seeded random `raft_large` state dict, batch-norm statistics included."""
    torch.manual_seed(20240611)
    state = raft_large(weights=None).state_dict()
    for key, value in state.items():
        if key.endswith("running_mean"):
            value.normal_(0.0, 0.2)
        elif key.endswith("running_var"):
            value.uniform_(0.5, 2.0)
    return state


@pytest.fixture(scope="module")
def weights_file(torchvision_state_dict, tmp_path_factory):
    path = tmp_path_factory.mktemp("raft") / "raft_random.pth"
    torch.save(torchvision_state_dict, path)
    return path


@pytest.fixture(scope="module")
def model(weights_file):
    return load_raft(weights_file)


def frames(height: int, width: int, seed: int, batch: int = 1) -> tuple[torch.Tensor, ...]:
    """Two frames in [0, 1]: smooth texture, the second shifted by (3, -2) pixels."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.rand(batch, 3, height // 6 + 3, width // 6 + 3, generator=generator)
    texture = F.interpolate(coarse, size=(height + 8, width + 8), mode="bilinear")
    return texture[..., 2 : 2 + height, 4 : 4 + width], texture[..., 4 : 4 + height, 1 : 1 + width]


def as_raft_input(frame: torch.Tensor) -> torch.Tensor:
    """The official scaling: x 255, then RAFT's own 2 (x / 255) - 1."""
    return 2.0 * ((frame * 255.0) / 255.0) - 1.0


def direct_flows(model, img0, img1, iterations: int) -> tuple[torch.Tensor, torch.Tensor]:
    """torchvision's RAFT.forward, last refinement step, both directions."""
    with torch.no_grad():
        a, b = as_raft_input(img0), as_raft_input(img1)
        return (
            model(a, b, num_flow_updates=iterations)[-1],
            model(b, a, num_flow_updates=iterations)[-1],
        )


# An inverse of the mapping under test, written independently: torchvision name -> original.
_TO_ORIGINAL = [
    (r"^feature_encoder\.", "fnet."),
    (r"^context_encoder\.", "cnet."),
    (r"^(.net)\.convnormrelu\.0\.", r"\1.conv1."),
    (r"^(.net)\.convnormrelu\.1\.", r"\1.norm1."),
    (r"^(.net)\.conv\.", r"\1.conv2."),
    (r"\.convnormrelu1\.0\.", ".conv1."),
    (r"\.convnormrelu1\.1\.", ".norm1."),
    (r"\.convnormrelu2\.0\.", ".conv2."),
    (r"\.convnormrelu2\.1\.", ".norm2."),
    (r"^update_block\.motion_encoder\.convcorr(\d)\.0\.", r"update_block.encoder.convc\1."),
    (r"^update_block\.motion_encoder\.convflow(\d)\.0\.", r"update_block.encoder.convf\1."),
    (r"^update_block\.motion_encoder\.conv\.0\.", "update_block.encoder.conv."),
    (r"^update_block\.recurrent_block\.convgru(\d)\.conv(\w)\.", r"update_block.gru.conv\2\1."),
    (r"^mask_predictor\.convrelu\.0\.", "update_block.mask.0."),
    (r"^mask_predictor\.conv\.", "update_block.mask.2."),
]


def to_original_layout(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """torchvision keys -> princeton-vl/RAFT keys, shortcut norms also stored as `norm3`."""
    original = {}
    for key, value in state.items():
        for pattern, replacement in _TO_ORIGINAL:
            key = re.sub(pattern, replacement, key)
        original[key] = value
        shortcut = re.match(r"^(.net\.layer[23]\.0)\.downsample\.1\.(\w+)$", key)
        if shortcut:
            original[f"{shortcut[1]}.norm3.{shortcut[2]}"] = value
    return original


def original_shapes() -> dict[str, list[int]]:
    return dict(json.loads(ORIGINAL_KEYS.read_text())["keys"])


def formula_weights(shapes: dict[str, list[int]]) -> dict[str, torch.Tensor]:
    """RNG-free original-layout weights (the golden's): U(-1, 1) hashes scaled per layer kind."""
    state = {}
    for key, shape in shapes.items():
        # A shortcut norm's two names hold one tensor: hash the `downsample.1` name for both.
        canonical = re.sub(r"\.norm3\.", ".downsample.1.", key)
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(0)
            continue
        u = unit_values(math.prod(shape), zlib.crc32(f"raft/{canonical}".encode()) % _P)
        u = u.reshape(shape)
        if len(shape) == 4:  # conv: variance 1 / fan_in
            value = u * math.sqrt(3.0 / math.prod(shape[1:]))
        elif key.endswith("running_var"):
            value = 1.0 + 0.5 * u
        elif key.endswith("running_mean"):
            value = 0.2 * u
        elif key.endswith("weight"):  # batch-norm scale
            value = 1.0 + 0.25 * u
        else:  # biases
            value = 0.05 * u
        state[key] = value.to(torch.float32)
    return state


def test_raftflow_equals_torchvision_raft_called_directly(model):
    img0, img1 = frames(128, 160, seed=1)
    forward, backward = RaftFlow(model, iterations=3)(img0, img1)
    expected_forward, expected_backward = direct_flows(model, img0, img1, iterations=3)
    assert forward.shape == (1, 2, 128, 160)
    assert forward.abs().max() > 1.0  # not a trivially zero flow
    torch.testing.assert_close(forward, expected_forward, atol=ATOL, rtol=0)
    torch.testing.assert_close(backward, expected_backward, atol=ATOL, rtol=0)


def test_centre_padding_puts_the_odd_pixel_right_and_bottom():
    assert centre_padding(123, 131) == (2, 3, 2, 3)
    assert centre_padding(128, 137) == (3, 4, 0, 0)
    assert centre_padding(128, 136) == (0, 0, 0, 0)


def test_odd_sizes_are_zero_padded_centred_and_cropped_back(model):
    img0, img1 = frames(123, 131, seed=2)
    forward, backward = RaftFlow(model, iterations=2)(img0, img1)
    assert forward.shape == backward.shape == (1, 2, 123, 131)
    # Zero (black) padding in [0, 1], 2 px left/top and 3 px right/bottom, to 128 x 136.
    padded0, padded1 = (F.pad(img, (2, 3, 2, 3)) for img in (img0, img1))
    expected = direct_flows(model, padded0, padded1, iterations=2)
    torch.testing.assert_close(forward, expected[0][..., 2:125, 2:133], atol=ATOL, rtol=0)
    torch.testing.assert_close(backward, expected[1][..., 2:125, 2:133], atol=ATOL, rtol=0)


def test_mixed_precision_changes_nothing_on_cpu(model):
    img0, img1 = frames(128, 128, seed=3)
    plain = RaftFlow(model, iterations=1)(img0, img1)
    mixed = RaftFlow(model, iterations=1, mixed_precision=True)(img0, img1)
    assert torch.equal(plain[0], mixed[0]) and torch.equal(plain[1], mixed[1])


def test_inverse_mapping_in_this_test_yields_the_original_key_layout(torchvision_state_dict):
    converted = to_original_layout(torchvision_state_dict)
    assert {k: list(v.shape) for k, v in converted.items()} == original_shapes()


def test_mapping_covers_exactly_the_original_keys():
    state = {key: torch.zeros(shape) for key, shape in original_shapes().items()}
    converted = original_to_torchvision(state)
    assert {k: v.shape for k, v in converted.items()} == torchvision_shapes()


def test_original_layout_file_round_trips_through_load_raft(
    model, torchvision_state_dict, tmp_path
):
    original = {f"module.{k}": v for k, v in to_original_layout(torchvision_state_dict).items()}
    torch.save(original, tmp_path / "raft-sintel.pth")
    reloaded = load_raft(tmp_path / "raft-sintel.pth")
    for key, value in reloaded.state_dict().items():
        assert torch.equal(value, torchvision_state_dict[key]), key
    img0, img1 = frames(128, 128, seed=4)
    ours = RaftFlow(reloaded, iterations=2)(img0, img1)
    reference = RaftFlow(model, iterations=2)(img0, img1)
    assert torch.equal(ours[0], reference[0]) and torch.equal(ours[1], reference[1])


def test_torchvision_layout_with_module_prefix_loads(torchvision_state_dict, tmp_path):
    torch.save({f"module.{k}": v for k, v in torchvision_state_dict.items()}, tmp_path / "w.pth")
    reloaded = load_raft(tmp_path / "w.pth")
    key = "update_block.flow_head.conv2.weight"
    assert torch.equal(reloaded.state_dict()[key], torchvision_state_dict[key])
    assert not reloaded.training


def test_unmapped_and_missing_keys_are_named_in_the_error():
    state = {key: torch.zeros(shape) for key, shape in original_shapes().items()}
    del state["update_block.gru.convq2.bias"]
    state["update_block.gru.convx1.weight"] = torch.zeros(1)
    with pytest.raises(CheckpointError) as error:
        original_to_torchvision(state)
    message = str(error.value)
    assert "keys without a mapping (1): update_block.gru.convx1.weight" in message
    assert "missing (1):\n    update_block.recurrent_block.convgru2.convq.bias" in message


def test_wrong_shape_is_named_in_the_error(torchvision_state_dict, tmp_path):
    state = dict(torchvision_state_dict)
    state["feature_encoder.conv.weight"] = torch.zeros(128, 128, 1, 1)
    torch.save(state, tmp_path / "bad.pth")
    wrong_shape = r"feature_encoder\.conv\.weight: file \[128, 128, 1, 1\]"
    with pytest.raises(CheckpointError, match=wrong_shape):
        load_raft(tmp_path / "bad.pth")


def test_missing_file_error_names_the_path_and_where_to_get_weights(tmp_path):
    path = tmp_path / "nowhere" / "raft-sintel.pth"
    with pytest.raises(FileNotFoundError) as error:
        load_raft(path)
    message = str(error.value)
    assert str(path) in message
    assert "raft_large_C_T_SKHT_V1-0b8c9e55.pth" in message
    assert "models.zip" in message


def test_frames_below_128_pixels_are_padded_to_128_and_give_finite_flows(model):
    """The official code returns NaN flows there (its coarsest correlation level is empty)."""
    assert centre_padding(64, 97) == (15, 16, 32, 32)
    generator = torch.Generator().manual_seed(5)
    img0, img1 = torch.rand(2, 1, 3, 64, 97, generator=generator)
    forward, backward = RaftFlow(model, iterations=1)(img0, img1)
    assert forward.shape == backward.shape == (1, 2, 64, 97)
    assert torch.isfinite(forward).all() and torch.isfinite(backward).all()


def test_flows_match_the_official_raft_code(tmp_path):
    """Golden flows of the official wrapper + RAFT (12 steps, 123 x 131 -> centred pad)."""
    golden = load_pervfi_fixture("raft_official_flows.pt")
    weights = formula_weights(original_shapes())
    torch.save({f"module.{k}": v for k, v in weights.items()}, tmp_path / "raft-sintel.pth")
    img0, img1 = (golden[name].to(torch.float32) / 255.0 for name in ("img0_u8", "img1_u8"))
    forward, backward = RaftFlow.from_file(tmp_path / "raft-sintel.pth")(img0, img1)
    torch.testing.assert_close(forward, golden["fflow"], atol=GOLDEN_ATOL, rtol=0)
    torch.testing.assert_close(backward, golden["bflow"], atol=GOLDEN_ATOL, rtol=0)
