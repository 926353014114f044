"""Official `.pth` and compact `.safetensors` files: variants, readable errors, conversion."""

from __future__ import annotations

import os
import pathlib
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from vfi.models.ifrnet import CheckpointError, IFRNet
from vfi.models.ifrnet.checkpoint import (
    TIME_KEY,
    convert_checkpoint,
    detect_variant,
    file_uses_time,
    load_state_dict_file,
    uses_time,
)
from vfi.models.weights_file import drop_padding

VARIANTS = ["IFRNet", "IFRNet_L", "IFRNet_S"]


@pytest.fixture(scope="module")
def official_files(weights, tmp_path_factory) -> dict[str, Path]:
    """Official-format checkpoints (a flat state dict saved with torch.save) of every variant."""
    folder = tmp_path_factory.mktemp("official")
    files = {}
    for variant, state_dict in weights.items():
        files[variant] = folder / f"{variant}_fixture.pth"
        torch.save(state_dict, files[variant])
    return files


def frames(height: int = 32, width: int = 48, batch: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    prev = torch.rand(batch, 3, height, width, generator=generator)
    return prev, (prev.roll(2, dims=-1) * 0.9 + 0.05)


def no_time(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A copy with zero weights on decoder4's time channel, like the Vimeo90K checkpoints."""
    weight = state_dict[TIME_KEY].clone()
    weight[:, -1] = 0
    return {**state_dict, TIME_KEY: weight}


class _TouchOnLoad:
    """Unpickling this would create a file: proof that the loader ran code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


@pytest.mark.parametrize("variant", VARIANTS)
def test_from_checkpoint_detects_the_variant(official_files, weights, variant):
    model = IFRNet.from_checkpoint(official_files[variant])
    assert model.variant == variant
    assert not model.training
    state = model.network.state_dict()
    assert all(torch.equal(state[k], v) for k, v in weights[variant].items())


def test_detect_variant_reads_the_first_encoder_conv(weights):
    assert {v: detect_variant(sd) for v, sd in weights.items()} == {v: v for v in VARIANTS}


def test_module_prefix_is_stripped(weights, tmp_path):
    path = tmp_path / "ddp.pth"
    torch.save({"module." + k: v for k, v in weights["IFRNet_S"].items()}, path)
    assert list(load_state_dict_file(path)) == list(weights["IFRNet_S"])
    assert IFRNet.from_checkpoint(path).variant == "IFRNet_S"


def test_state_dict_inside_a_wrapper_dict_is_found(weights, tmp_path):
    path = tmp_path / "wrapped.pth"
    torch.save({"state_dict": weights["IFRNet_S"], "epoch": torch.tensor(3)}, path)
    assert IFRNet.from_checkpoint(path).variant == "IFRNet_S"


def test_another_models_keys_are_refused_naming_the_expected_keys(tmp_path):
    path = tmp_path / "rife.pth"
    torch.save({f"block{i}.conv0.0.weight": torch.zeros(8, 3, 3, 3) for i in range(20)}, path)
    with pytest.raises(CheckpointError) as info:
        IFRNet.from_checkpoint(path)
    message = str(info.value)
    assert message.startswith(f"{path}: not an IFRNet checkpoint")
    assert "compared with the 104 keys of IFRNet" in message
    assert "missing (104):\n    encoder.pyramid1.0.0.weight" in message
    assert "... and 92 more" in message
    assert "unexpected (20):\n    block0.conv0.0.weight" in message
    assert "... and 8 more" in message


def test_wrong_shapes_and_missing_keys_name_the_detected_variant(weights, tmp_path):
    broken = dict(weights["IFRNet_S"])
    del broken["decoder1.convblock.2.bias"]
    broken["decoder2.convblock.0.0.bias"] = torch.zeros(5)
    path = tmp_path / "broken.pth"
    torch.save(broken, path)
    with pytest.raises(CheckpointError) as info:
        IFRNet.from_checkpoint(path)
    message = str(info.value)
    assert "do not match the IFRNet_S network" in message
    assert "missing (1):\n    decoder1.convblock.2.bias" in message
    assert "decoder2.convblock.0.0.bias: file [5], IFRNet_S [108]" in message


def test_truncated_checkpoint_gives_a_readable_error(official_files, tmp_path):
    data = official_files["IFRNet_S"].read_bytes()
    path = tmp_path / "truncated.pth"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt") as info:
        IFRNet.from_checkpoint(path)
    assert "Traceback" not in str(info.value)


def test_corrupt_safetensors_gives_a_readable_error(tmp_path):
    path = tmp_path / "corrupt.safetensors"
    path.write_bytes(b"\xff" * 64)
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        IFRNet.from_checkpoint(path)


def test_missing_file_error_names_the_path(tmp_path):
    with pytest.raises(CheckpointError, match=r"nothere\.pth: checkpoint file not found"):
        IFRNet.from_checkpoint(tmp_path / "nothere.pth")


def test_pickled_code_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "code-ran"
    path = tmp_path / "evil.pth"
    torch.save({"w": torch.zeros(1), "payload": _TouchOnLoad(marker)}, path)
    with pytest.raises(CheckpointError, match="refused to load.*could run code"):
        IFRNet.from_checkpoint(path)
    assert not marker.exists()


def test_safetensors_of_another_format_is_refused(tmp_path, weights):
    path = tmp_path / "foreign.safetensors"
    save_file(weights["IFRNet_S"], path)
    with pytest.raises(CheckpointError, match="without IFRNet metadata"):
        IFRNet.from_checkpoint(path)


def test_uses_time_is_true_for_the_fixture_weights(models, official_files):
    assert models["IFRNet"].uses_time
    assert file_uses_time(official_files["IFRNet"])


def test_zero_time_channel_means_time_is_not_used(weights, tmp_path):
    state_dict = no_time(weights["IFRNet_S"])
    assert not uses_time(state_dict)
    model = IFRNet.from_state_dict(state_dict)
    assert not model.uses_time
    prev, next = frames()
    assert torch.equal(model.interpolate(prev, next, 0.2), model.interpolate(prev, next, 0.9))
    torch.save(state_dict, tmp_path / "vimeo_like.pth")
    assert not file_uses_time(tmp_path / "vimeo_like.pth")
    compact = convert_checkpoint(tmp_path / "vimeo_like.pth", tmp_path / "vimeo_like.safetensors")
    assert not file_uses_time(compact)


def test_converted_file_gives_identical_outputs(official_files, tmp_path):
    compact = convert_checkpoint(official_files["IFRNet_S"], tmp_path / "s.safetensors")
    with safe_open(compact, framework="pt") as handle:
        metadata = handle.metadata()
    assert metadata["format"] == "vfi-ifrnet-compact"
    assert metadata["version"] == "2"
    assert metadata["variant"] == "IFRNet_S"
    assert os.listdir(tmp_path) == ["s.safetensors"]  # no temporary file left
    from_pth = IFRNet.from_checkpoint(official_files["IFRNet_S"])
    from_compact = IFRNet.from_checkpoint(compact)
    assert from_compact.variant == "IFRNet_S"
    prev, next = frames()
    assert torch.equal(
        from_pth.interpolate(prev, next, 0.3), from_compact.interpolate(prev, next, 0.3)
    )


def test_version_1_compact_file_is_still_read(official_files, tmp_path):
    """Version 1 (the safetensors writer's own layout, no padding entries) loads the same."""
    compact = convert_checkpoint(official_files["IFRNet_S"], tmp_path / "s.safetensors")
    with safe_open(compact, framework="pt") as handle:
        metadata = handle.metadata() | {"version": "1"}
    old = tmp_path / "s-v1.safetensors"
    save_file(drop_padding(load_file(compact)), old, metadata=metadata)
    expected = load_state_dict_file(official_files["IFRNet_S"])
    loaded = load_state_dict_file(old)
    assert loaded.keys() == expected.keys()
    assert all(torch.equal(loaded[k], v) for k, v in expected.items())
    assert IFRNet.from_checkpoint(old).variant == "IFRNet_S"


def test_conversion_gives_the_same_bytes_every_time(official_files, tmp_path):
    """Several runs: the safetensors writer alone orders the metadata differently each time."""
    outputs = {
        convert_checkpoint(
            official_files["IFRNet_S"], tmp_path / str(i) / "s.safetensors"
        ).read_bytes()
        for i in range(4)
    }
    assert len(outputs) == 1


def test_float16_compact_file_loads_as_float32(official_files, tmp_path):
    compact = convert_checkpoint(
        official_files["IFRNet_S"], tmp_path / "half.safetensors", dtype=torch.float16
    )
    with safe_open(compact, framework="pt") as handle:
        assert handle.get_tensor(TIME_KEY).dtype == torch.float16
    model = IFRNet.from_checkpoint(compact)
    assert {p.dtype for p in model.parameters()} == {torch.float32}


def test_failed_conversion_leaves_no_file(tmp_path):
    src = tmp_path / "other.pth"
    torch.save({"w": torch.zeros(3)}, src)
    out = tmp_path / "out"
    with pytest.raises(CheckpointError):
        convert_checkpoint(src, out / "x.safetensors")
    assert not out.exists() or os.listdir(out) == []
