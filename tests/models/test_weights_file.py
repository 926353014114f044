"""The aligned `.safetensors` writer shared by the compact weight files of every model."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from vfi.models.weights_file import ALIGNMENT, drop_padding, is_aligned, save_weights

# Odd sizes and every dtype a weight comes in: without padding most would start unaligned.
TENSORS = {
    "conv.weight": torch.arange(3 * 3 * 3, dtype=torch.float32).reshape(3, 1, 3, 3),
    "conv.bias": torch.tensor([0.5, -1.0, 2.0]),
    "half": torch.arange(5, dtype=torch.float16),
    "brain": torch.arange(7, dtype=torch.bfloat16),
    "double": torch.tensor(2.5, dtype=torch.float64),
    "count": torch.tensor([3], dtype=torch.int64),
    "mask": torch.tensor([True, False, True]),
    "bytes": torch.arange(9, dtype=torch.uint8),
    "empty": torch.zeros(0),
}


def header_of(path: Path) -> tuple[int, dict]:
    """(file offset of the data section, parsed JSON header) of a .safetensors file."""
    with open(path, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        return 8 + size, json.loads(f.read(size))


def test_every_tensor_starts_at_a_multiple_of_64_bytes_of_the_file(tmp_path):
    data_start, header = header_of(save_weights(TENSORS, tmp_path / "w.safetensors", {}))
    starts = {
        name: data_start + e["data_offsets"][0] for name, e in header.items() if name in TENSORS
    }
    assert set(starts) == set(TENSORS)
    assert {name: start % ALIGNMENT for name, start in starts.items()} == dict.fromkeys(TENSORS, 0)


def test_standard_reader_loads_the_same_tensors(tmp_path):
    loaded = drop_padding(load_file(save_weights(TENSORS, tmp_path / "w.safetensors", {})))
    assert list(loaded) == list(TENSORS)
    for name, tensor in TENSORS.items():
        assert loaded[name].dtype == tensor.dtype, name
        assert torch.equal(loaded[name], tensor), name


def test_padding_entries_are_the_only_extra_tensors_and_hold_zeros(tmp_path):
    loaded = load_file(save_weights(TENSORS, tmp_path / "w.safetensors", {}))
    padding = {k: v for k, v in loaded.items() if k not in TENSORS}
    assert padding and all(k.startswith("__pad__.") for k in padding)
    assert all(v.dtype == torch.uint8 and not v.any() for v in padding.values())


def test_memory_mapped_tensors_are_64_byte_aligned_in_memory(tmp_path):
    loaded = drop_padding(load_file(save_weights(TENSORS, tmp_path / "w.safetensors", {})))
    assert all(is_aligned(t) for t in loaded.values())


def test_same_tensors_and_metadata_in_any_order_give_the_same_bytes(tmp_path):
    first = save_weights(TENSORS, tmp_path / "a.safetensors", {"b": "2", "a": "1", "c": "3"})
    second = save_weights(TENSORS, tmp_path / "b.safetensors", {"c": "3", "a": "1", "b": "2"})
    assert first.read_bytes() == second.read_bytes()


def test_metadata_are_stored(tmp_path):
    _, header = header_of(save_weights(TENSORS, tmp_path / "w.safetensors", {"format": "x"}))
    assert header["__metadata__"] == {"format": "x"}


@pytest.mark.parametrize(
    "tensors",
    [{"z": torch.zeros(2, dtype=torch.complex64)}, {"__pad__.0": torch.zeros(2)}],
    ids=["dtype", "reserved-name"],
)
def test_unwritable_tensor_is_refused_by_name_and_nothing_is_written(tmp_path, tensors):
    name = next(iter(tensors))
    with pytest.raises(ValueError, match=f"cannot save tensor {name!r}"):
        save_weights(tensors, tmp_path / "w.safetensors", {})
    assert list(tmp_path.iterdir()) == []


def test_replacing_a_file_leaves_a_reader_of_the_old_one_its_tensors(tmp_path):
    path = save_weights({"w": torch.ones(100)}, tmp_path / "w.safetensors", {})
    mapped = load_file(path)["w"]
    save_weights({"w": torch.zeros(100)}, path, {})
    assert torch.equal(mapped, torch.ones(100))
    assert torch.equal(load_file(path)["w"], torch.zeros(100))
