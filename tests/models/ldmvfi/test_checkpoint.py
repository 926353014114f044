"""Loading official and compact checkpoints: key mapping, readable errors, conversion."""

from __future__ import annotations

import json
import math
import os
import pathlib
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from support import FULL_MANIFEST, TINY_CKPT, TINY_CONFIG

from vfi.models.ldmvfi import LDMVFI
from vfi.models.ldmvfi.checkpoint import (
    CheckpointError,
    build_networks,
    compact_config,
    convert_checkpoint,
    ema_key,
    load_state_dict_file,
    read_weights,
    split_official,
)
from vfi.models.ldmvfi.config import ConfigError, load_config, parse_config
from vfi.models.ldmvfi.maxvit import RelPosAttention, relative_position_indices
from vfi.models.ldmvfi.schedule import DiffusionSchedule
from vfi.models.weights_file import drop_padding, is_padding

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
    manifest = json.loads((FULL_MANIFEST).read_text())["state_dict_keys"]
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
        keys = set(filter(lambda key: not is_padding(key), handle.keys()))
        metadata = handle.metadata()
        unet_weight = handle.get_tensor("unet.out.2.weight")
    assert all(k.startswith(("unet.", "first_stage.")) for k in keys)
    assert len(keys) == 626 + 554
    assert torch.equal(unet_weight, tiny_state_dict["model_ema.diffusion_modelout2weight"])
    assert not torch.equal(unet_weight, tiny_state_dict["model.diffusion_model.out.2.weight"])
    assert metadata["format_version"] == "2"
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


# Fast loading (LDMVFI.from_checkpoint builds without random init and assigns the weights).


@pytest.fixture(scope="module")
def tiny_compact(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("compact")
    return convert_checkpoint(TINY_CKPT, folder / "tiny.safetensors", config=TINY_CONFIG)


def copying_load(path: Path, config: Path | None = None) -> LDMVFI:
    """The previous loading path: build with random initialisation, copy the weights in."""
    model = LDMVFI(compact_config(path) if config is None else load_config(config))
    weights = read_weights(path, model.unet, model.first_stage)
    model.unet.load_state_dict(weights.unet)
    model.first_stage.load_state_dict(weights.first_stage)
    return model.eval()


@pytest.mark.parametrize("source", ["ckpt", "compact"])
def test_fast_load_gives_the_state_dict_of_a_copying_load(tiny_compact, source):
    path, config = (TINY_CKPT, TINY_CONFIG) if source == "ckpt" else (tiny_compact, None)
    fast = LDMVFI.from_checkpoint(path, config=config).state_dict()
    reference = copying_load(path, config).state_dict()
    assert list(fast) == list(reference)
    for name, tensor in reference.items():
        assert fast[name].dtype == tensor.dtype, name
        assert torch.equal(fast[name], tensor), name


def test_fast_load_interpolates_the_same_bits_as_a_copying_load(tiny_compact, golden):
    frames = golden["case_a/prev_frame"], golden["case_a/next_frame"]
    kwargs = {"steps": 2, "eta": 1.0, "seeds": [5]}
    fast = LDMVFI.from_checkpoint(tiny_compact).interpolate(*frames, **kwargs)
    assert torch.equal(fast, copying_load(tiny_compact).interpolate(*frames, **kwargs))


def test_relative_position_indices_are_correct_after_loading(tiny_compact):
    attentions = [
        m for m in LDMVFI.from_checkpoint(tiny_compact).modules() if isinstance(m, RelPosAttention)
    ]
    assert attentions
    for attention in attentions:
        window = (math.isqrt(attention.rel_pos_bias.num_embeddings) + 1) // 2
        assert torch.equal(attention.rel_pos_indices, relative_position_indices(window))


def test_fast_load_builds_the_diffusion_schedule_of_the_config(tiny_compact):
    model = LDMVFI.from_checkpoint(tiny_compact)
    expected = DiffusionSchedule.linear(
        model.config.timesteps, model.config.linear_start, model.config.linear_end
    )
    assert torch.equal(model.schedule.betas64, expected.betas64)
    assert torch.equal(model.schedule.alphas_cumprod64, expected.alphas_cumprod64)


def test_every_tensor_of_a_loaded_model_is_on_the_requested_device(tiny_compact):
    model = LDMVFI.from_checkpoint(tiny_compact, device="cpu")
    tensors = [*model.parameters(), *model.buffers()]
    tensors += [model.schedule.betas64, model.schedule.alphas_cumprod64]
    assert {tensor.device for tensor in tensors} == {torch.device("cpu")}


def test_bfloat16_compact_file_loads_as_float32(tmp_path):
    compact = convert_checkpoint(
        TINY_CKPT, tmp_path / "bf16.safetensors", config=TINY_CONFIG, dtype=torch.bfloat16
    )
    model = LDMVFI.from_checkpoint(compact)
    with safe_open(compact, framework="pt") as handle:
        stored = handle.get_tensor("unet.out.2.weight")
    assert stored.dtype == torch.bfloat16
    assert torch.equal(model.unet.out[2].weight, stored.float())
    floating = {t.dtype for t in model.state_dict().values() if t.is_floating_point()}
    assert floating == {torch.float32}


def test_fast_load_keeps_requires_grad_of_a_copying_load(tiny_compact):
    fast = LDMVFI.from_checkpoint(tiny_compact)
    assert {p.requires_grad for p in fast.parameters()} == {
        p.requires_grad for p in copying_load(tiny_compact).parameters()
    }


def test_cpu_weights_do_not_change_when_the_compact_file_is_converted_again(
    tmp_path, tiny_state_dict
):
    """The weights are views of the mapped file; converting writes a new file and renames it."""
    compact = convert_checkpoint(TINY_CKPT, tmp_path / "tiny.safetensors", config=TINY_CONFIG)
    model = LDMVFI.from_checkpoint(compact)
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    doubled = tmp_path / "doubled.ckpt"
    torch.save({"state_dict": {k: v * 2 for k, v in tiny_state_dict.items()}}, doubled)
    convert_checkpoint(doubled, compact, config=TINY_CONFIG)
    new_weight = LDMVFI.from_checkpoint(compact).unet.out[2].weight
    assert before["unet.out.2.weight"].any()
    assert torch.equal(new_weight, before["unet.out.2.weight"] * 2)
    after = model.state_dict()
    assert all(torch.equal(after[name], tensor) for name, tensor in before.items())


def test_compact_file_missing_a_tensor_is_refused_by_name(tmp_path, tiny_compact):
    tensors = drop_padding(load_file(tiny_compact))
    del tensors["unet.out.2.weight"]
    with safe_open(tiny_compact, framework="pt") as handle:
        metadata = handle.metadata()
    broken = tmp_path / "broken.safetensors"
    save_file(tensors, broken, metadata=metadata)
    with pytest.raises(CheckpointError, match=r"missing \(1\):\n    unet\.out\.2\.weight"):
        LDMVFI.from_checkpoint(broken)


def test_corrupt_compact_file_is_refused_when_loading_the_model(tmp_path):
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(b"\xff" * 64)
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        LDMVFI.from_checkpoint(corrupt, config=TINY_CONFIG)


def test_compact_file_loads_onto_a_device_safetensors_refuses(tiny_compact):
    tensors = load_state_dict_file(tiny_compact, device="meta")
    assert {tensor.device.type for tensor in tensors.values()} == {"meta"}


def test_loading_does_not_import_torch_dynamo(tiny_compact):
    """Building on the meta device would: its first elementwise op imports it (~1.5 s)."""
    code = (
        "import sys; from vfi.models.ldmvfi import LDMVFI; "
        f"LDMVFI.from_checkpoint({str(tiny_compact)!r}); "
        "assert 'torch._dynamo' not in sys.modules, 'torch._dynamo was imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_converting_twice_gives_the_same_bytes(tmp_path):
    """The safetensors writer orders metadata by a hash map; the file must not depend on it."""
    files = [
        convert_checkpoint(TINY_CKPT, tmp_path / f"{i}.safetensors", config=TINY_CONFIG)
        for i in range(4)
    ]
    assert len({f.read_bytes() for f in files}) == 1
