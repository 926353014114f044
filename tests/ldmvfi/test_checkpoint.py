"""Loading official and compact checkpoints: key mapping, readable errors, conversion."""

from __future__ import annotations

import json
import os
import pathlib
from pathlib import Path

import pytest
import torch
import yaml
from safetensors import safe_open

from vfi.ldmvfi import LDMVFI
from vfi.ldmvfi.checkpoint import (
    CheckpointError,
    build_networks,
    convert_checkpoint,
    ema_key,
    load_state_dict_file,
    split_official,
)
from vfi.ldmvfi.config import ConfigError, load_config, parse_config

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "ldmvfi"
TINY_CKPT = FIXTURES / "tiny.ckpt"
TINY_CONFIG = FIXTURES / "tiny_config.yaml"
SCHEDULE_BUFFERS = 12


@pytest.fixture(scope="module")
def tiny_networks():
    with torch.device("meta"):
        return build_networks(load_config(TINY_CONFIG))


class _TouchOnLoad:
    """Unpickling this would create a file: proof that the loader ran code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


def test_published_architecture_consumes_or_ignores_exactly_the_manifest_keys():
    manifest = json.loads((FIXTURES / "full_manifest.json").read_text())["state_dict_keys"]
    with torch.device("meta"):
        unet, first_stage = build_networks(load_config(None))
    official = {e["key"]: torch.empty(e["shape"], device="meta") for e in manifest}
    weights = split_official(official, unet, first_stage)  # raises on any mismatch
    consumed = {ema_key(name) for name in weights.unet}
    consumed |= {"first_stage_model." + name for name in weights.first_stage}
    ignored = set(list(official)[:SCHEDULE_BUFFERS]) | {"model_ema.decay", "model_ema.num_updates"}
    ignored |= {"model.diffusion_model." + name for name in weights.unet}
    ignored |= {"cond_stage_model." + name for name in weights.first_stage}
    assert consumed.isdisjoint(ignored)
    assert consumed | ignored == set(official)
    assert len(weights.unet) == 626 and len(weights.first_stage) == 554


def test_unet_weights_come_from_ema_copies(tiny_state_dict, tiny_networks):
    weights = split_official(tiny_state_dict, *tiny_networks)
    name = "input_blocks.1.0.in_layers.0.weight"
    ema = tiny_state_dict["model_ema.diffusion_modelinput_blocks10in_layers0weight"]
    assert weights.unet[name] is ema
    assert not torch.equal(ema, tiny_state_dict["model.diffusion_model." + name])


def test_key_problems_are_listed_in_one_readable_error(tiny_state_dict, tiny_networks):
    broken = dict(tiny_state_dict)
    del broken["model_ema.diffusion_modelout2weight"]
    broken["first_stage_model.decoder.extra.weight"] = torch.zeros(3)
    broken["first_stage_model.quant_conv.weight"] = torch.zeros(3, 3, 3, 3)
    with pytest.raises(CheckpointError) as info:
        split_official(broken, *tiny_networks, source="broken.ckpt")
    message = str(info.value)
    assert message.startswith("broken.ckpt:")
    assert "missing (1):\n    model_ema.diffusion_modelout2weight" in message
    assert "unexpected (1):\n    first_stage_model.decoder.extra.weight" in message
    assert "first_stage_model.quant_conv.weight: file [3, 3, 3, 3], model [3, 3, 1, 1]" in message


def test_checkpoint_of_another_config_is_refused_with_a_hint(tiny_state_dict):
    with torch.device("meta"):
        published = build_networks(load_config(None))
    with pytest.raises(CheckpointError, match=r"(?s)wrong shape \(\d+\):.*config="):
        split_official(tiny_state_dict, *published)


def test_missing_file_error_names_the_path(tmp_path):
    with pytest.raises(CheckpointError, match=r"nothere\.ckpt: checkpoint file not found"):
        load_state_dict_file(tmp_path / "nothere.ckpt")


def test_truncated_checkpoint_gives_readable_error(tmp_path):
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(TINY_CKPT.read_bytes()[: TINY_CKPT.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        LDMVFI.from_checkpoint(truncated, config=TINY_CONFIG)


def test_corrupt_safetensors_gives_readable_error(tmp_path):
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(b"\xff" * 64)
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_state_dict_file(corrupt)


def test_pickled_code_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "code-ran"
    evil = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {"w": torch.zeros(1)}, "payload": _TouchOnLoad(marker)}, evil)
    with pytest.raises(CheckpointError, match="refused to load.*could run code"):
        load_state_dict_file(evil)
    assert not marker.exists()


def test_convert_round_trip_gives_identical_outputs(tmp_path, golden):
    compact = convert_checkpoint(TINY_CKPT, tmp_path / "tiny.safetensors", config=TINY_CONFIG)
    from_ckpt = LDMVFI.from_checkpoint(TINY_CKPT, config=TINY_CONFIG)
    from_compact = LDMVFI.from_checkpoint(compact)  # config comes from the file
    assert from_compact.config == from_ckpt.config
    compact_state = from_compact.state_dict()
    for name, tensor in from_ckpt.state_dict().items():
        assert torch.equal(tensor, compact_state[name]), name
    frames = golden["case_a/prev_frame"], golden["case_a/next_frame"]
    kwargs = {"steps": 2, "eta": 1.0, "seeds": [3]}
    assert torch.equal(
        from_ckpt.interpolate(*frames, **kwargs), from_compact.interpolate(*frames, **kwargs)
    )


def test_compact_file_holds_only_inference_weights_and_config(tmp_path, tiny_state_dict):
    compact = convert_checkpoint(TINY_CKPT, tmp_path / "tiny.safetensors", config=TINY_CONFIG)
    with safe_open(compact, framework="pt") as handle:
        keys = set(handle.keys())
        metadata = handle.metadata()
        unet_weight = handle.get_tensor("unet.out.2.weight")
    assert all(k.startswith(("unet.", "first_stage.")) for k in keys)
    assert len(keys) == 626 + 554
    assert torch.equal(unet_weight, tiny_state_dict["model_ema.diffusion_modelout2weight"])
    assert not torch.equal(unet_weight, tiny_state_dict["model.diffusion_model.out.2.weight"])
    assert metadata["format_version"] == "1"
    assert "model_channels: 32" in metadata["config_yaml"]
    assert sorted(os.listdir(tmp_path)) == ["tiny.safetensors"]  # no temporary file left


def test_failed_conversion_leaves_no_file(tmp_path):
    with pytest.raises(CheckpointError):
        convert_checkpoint(TINY_CKPT, tmp_path / "out.safetensors")  # published config: mismatch
    assert os.listdir(tmp_path) == []


def test_float16_compact_file_loads_into_float32_model(tmp_path):
    compact = convert_checkpoint(
        TINY_CKPT, tmp_path / "half.safetensors", config=TINY_CONFIG, dtype=torch.float16
    )
    with safe_open(compact, framework="pt") as handle:
        assert handle.get_tensor("unet.out.2.weight").dtype == torch.float16
    model = LDMVFI.from_checkpoint(compact)
    assert model.unet.out[2].weight.dtype == torch.float32


def test_published_config_is_built_in():
    config = load_config(None)
    assert config.unet.model_channels == 256
    assert config.first_stage.ddconfig["ch"] == 64
    assert (config.timesteps, config.linear_start, config.linear_end) == (1000, 0.0015, 0.0195)


def test_config_yaml_round_trips():
    config = load_config(TINY_CONFIG)
    assert parse_config(yaml.safe_load(config.to_yaml())) == config


def test_config_missing_a_key_names_file_and_key(tmp_path):
    document = yaml.safe_load(TINY_CONFIG.read_text())
    del document["model"]["params"]["unet_config"]["params"]["model_channels"]
    path = tmp_path / "incomplete.yaml"
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(
        ConfigError,
        match=r"incomplete\.yaml: missing key 'model\.params\.unet_config\.params\.model_channels'",
    ):
        load_config(path)
