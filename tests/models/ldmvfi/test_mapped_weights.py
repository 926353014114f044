"""Compact format version 2: aligned tensors that a CPU model uses in place; version 1 still read.

Version 1 files are written here as the previous code wrote them: the safetensors writer's own
layout (tensors back to back, 4-byte aligned), no padding entries.
"""

from __future__ import annotations

import json
import struct
import sys
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from support import TINY_CKPT, TINY_CONFIG

from vfi.models.ldmvfi import LDMVFI
from vfi.models.ldmvfi.checkpoint import CheckpointError, compact_config, convert_checkpoint
from vfi.models.weights_file import drop_padding, is_aligned, is_padding

needs_proc_maps = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads the process's mappings in /proc"
)


@pytest.fixture(scope="module")
def v2_file(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("v2")
    return convert_checkpoint(TINY_CKPT, folder / "tiny.safetensors", config=TINY_CONFIG)


@pytest.fixture(scope="module")
def v1_file(v2_file, tmp_path_factory) -> Path:
    with safe_open(v2_file, framework="pt") as handle:
        metadata = handle.metadata() | {"format_version": "1"}
    path = tmp_path_factory.mktemp("v1") / "tiny-v1.safetensors"
    save_file(drop_padding(load_file(v2_file)), path, metadata=metadata)
    return path


def data_starts(path: Path) -> dict[str, int]:
    """File offset of each tensor's first byte."""
    with open(path, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(size))
    header.pop("__metadata__", None)
    return {name: 8 + size + entry["data_offsets"][0] for name, entry in header.items()}


def file_offset(address: int, path: Path) -> int | None:
    """The offset in `path` that memory `address` maps, None if it lies in no mapping of it."""
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split(maxsplit=5)
            if len(fields) < 6 or fields[5].strip() != str(path.resolve()):
                continue
            start, end = (int(x, 16) for x in fields[0].split("-"))
            if start <= address < end:
                return int(fields[2], 16) + address - start
    return None


def file_tensors(model: LDMVFI) -> dict[str, torch.Tensor]:
    """The model's tensors under their names in a compact file."""
    tensors = {f"unet.{k}": v for k, v in model.unet.state_dict().items()}
    return tensors | {f"first_stage.{k}": v for k, v in model.first_stage.state_dict().items()}


def test_converted_file_is_version_2_with_every_tensor_64_byte_aligned(v2_file):
    with safe_open(v2_file, framework="pt") as handle:
        assert handle.metadata()["format_version"] == "2"
    starts = data_starts(v2_file)
    assert len(starts) > 626 + 554  # the weights and their padding entries
    weights = {name: start for name, start in starts.items() if not is_padding(name)}
    assert len(weights) == 626 + 554
    assert [name for name, start in weights.items() if start % 64] == []


def test_version_1_file_of_this_test_is_unaligned(v1_file):
    """Otherwise the version-1 tests below would not show the copying path."""
    assert any(start % 64 for start in data_starts(v1_file).values())


@needs_proc_maps
def test_cpu_float32_weights_are_the_mapped_file_itself(v2_file):
    model = LDMVFI.from_checkpoint(v2_file)
    starts = data_starts(v2_file)
    tensors = file_tensors(model)
    offsets = {name: file_offset(t.data_ptr(), v2_file) for name, t in tensors.items() if t.numel()}
    assert offsets == {name: starts[name] for name in offsets}
    assert isinstance(model.unet.out[2].weight, torch.nn.Parameter)


@needs_proc_maps
@pytest.mark.parametrize("version", ["1", "float16"])
def test_unaligned_or_cast_weights_are_copies_in_aligned_memory(v1_file, tmp_path, version):
    path = v1_file
    if version == "float16":
        path = convert_checkpoint(
            TINY_CKPT, tmp_path / "half.safetensors", config=TINY_CONFIG, dtype=torch.float16
        )
    tensors = file_tensors(LDMVFI.from_checkpoint(path)).values()
    assert all(is_aligned(t) for t in tensors)
    if version == "float16":
        floats = [t for t in tensors if t.is_floating_point()]
        assert all(file_offset(t.data_ptr(), path) is None for t in floats)
    else:  # version 1: at least the unaligned tensors were copied
        assert any(file_offset(t.data_ptr(), path) is None for t in tensors)


def test_ckpt_version_1_and_version_2_load_bit_identical_weights(v1_file, v2_file):
    reference = LDMVFI.from_checkpoint(TINY_CKPT, config=TINY_CONFIG).state_dict()
    for path in (v1_file, v2_file):
        loaded = LDMVFI.from_checkpoint(path).state_dict()
        assert list(loaded) == list(reference)
        for name, tensor in reference.items():
            assert loaded[name].dtype == tensor.dtype, name
            assert torch.equal(loaded[name], tensor), name


def test_version_1_and_version_2_interpolate_the_same_bits(v1_file, v2_file, golden):
    frames = golden["case_a/prev_frame"], golden["case_a/next_frame"]
    kwargs = {"steps": 2, "eta": 1.0, "seeds": [7]}
    mapped = LDMVFI.from_checkpoint(v2_file).interpolate(*frames, **kwargs)
    assert torch.equal(mapped, LDMVFI.from_checkpoint(v1_file).interpolate(*frames, **kwargs))


def test_converting_a_version_1_file_writes_version_2_with_the_same_bytes(
    v1_file, v2_file, tmp_path
):
    upgraded = convert_checkpoint(v1_file, tmp_path / "upgraded.safetensors")
    with safe_open(upgraded, framework="pt") as handle:
        source = handle.metadata()["source"]
    assert source == v1_file.name
    # the same tensors and config; only the recorded source differs from the .ckpt conversion
    assert drop_padding(load_file(upgraded)).keys() == drop_padding(load_file(v2_file)).keys()
    again = convert_checkpoint(v1_file, tmp_path / "again.safetensors")
    assert upgraded.read_bytes() == again.read_bytes()


def test_unknown_format_version_is_refused_with_the_versions_read(v2_file, tmp_path):
    with safe_open(v2_file, framework="pt") as handle:
        metadata = handle.metadata() | {"format_version": "3"}
    future = tmp_path / "future.safetensors"
    save_file(drop_padding(load_file(v2_file)), future, metadata=metadata)
    with pytest.raises(CheckpointError, match=r"future\.safetensors: .*'3'.*versions 1, 2"):
        compact_config(future)
