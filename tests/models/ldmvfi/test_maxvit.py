"""MaxViT blocks: partitions, relative-position table, attention maths, cross-attention path."""

from __future__ import annotations

import pytest
import torch

from vfi.models.ldmvfi.maxvit import (
    MaxAttentionBlock,
    PreNormResidual,
    RelPosAttention,
    block_merge,
    block_partition,
    grid_merge,
    grid_partition,
    relative_position_indices,
)


def pixel_ids(height: int, width: int) -> torch.Tensor:
    """1 x 2 x H x W tensor whose channels are each pixel's (row, col)."""
    rows, cols = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    return torch.stack([rows, cols])[None].float()


def randomised(module: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Non-trivial weights (default init leaves zero-ish biases and unit norms)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.3)
    return module.eval()


@pytest.mark.parametrize(
    ("partition", "merge"), [(block_partition, block_merge), (grid_partition, grid_merge)]
)
def test_partition_then_merge_restores_input(partition, merge) -> None:
    x = torch.randn(2, 5, 8, 12)
    tokens = partition(x, 4)
    assert tokens.shape == (2 * 2 * 3, 16, 5)
    assert torch.equal(merge(tokens, 2, 8, 12), x)


def test_block_partition_windows_hold_neighbouring_pixels() -> None:
    tokens = block_partition(pixel_ids(4, 6), 2)  # windows ordered (x, y) row-major
    assert tokens[0].tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert tokens[1].tolist() == [[0, 2], [0, 3], [1, 2], [1, 3]]


def test_grid_partition_windows_hold_pixels_spaced_h_over_w_apart() -> None:
    tokens = grid_partition(pixel_ids(4, 6), 2)  # spacing 4/2 = 2 rows, 6/2 = 3 columns
    assert tokens[0].tolist() == [[0, 0], [0, 3], [2, 0], [2, 3]]
    assert tokens[1].tolist() == [[0, 1], [0, 4], [2, 1], [2, 4]]


def test_relative_position_indices_follow_documented_formula() -> None:
    idx = relative_position_indices(2)  # idx = (dr + 1) * 3 + (dc + 1), (dr, dc) = query - key
    assert idx[0, 0] == 4  # same position
    assert idx[0, 3] == 0  # query (0,0), key (1,1): (-1, -1)
    assert idx[3, 0] == 8  # (1, 1)
    assert idx[1, 2] == 2  # query (0,1), key (1,0): (-1, 1)
    big = relative_position_indices(8)
    assert big.shape == (64, 64)
    assert big[63, 0] == 224 and big[0, 63] == 0 and big[5, 5] == 7 * 15 + 7


def test_attention_matches_explicit_softmax_with_bias() -> None:
    attn = randomised(RelPosAttention(dim=64, heads=2, dim_head=32, window_size=3))
    x = torch.randn(5, 9, 64)
    q, k, v = (p(x).view(5, 9, 2, 32).transpose(1, 2) for p in (attn.to_q, attn.to_k, attn.to_v))
    bias = attn.rel_pos_bias.weight[attn.rel_pos_indices].permute(2, 0, 1)
    scores = (q * 32**-0.5) @ k.transpose(-1, -2) + bias
    expected = attn.to_out((scores.softmax(-1) @ v).transpose(1, 2).reshape(5, 9, 64))
    torch.testing.assert_close(attn(x), expected, atol=1e-5, rtol=1e-5)


def test_cross_attention_with_context_equal_to_x_is_self_attention() -> None:
    sub_block = randomised(PreNormResidual(64, RelPosAttention(64, 2, 32, 2)))
    x = torch.randn(3, 4, 64)
    torch.testing.assert_close(sub_block(x, x.clone()), sub_block(x), atol=1e-6, rtol=0)


def test_cross_attention_reads_keys_and_values_from_context() -> None:
    block = randomised(MaxAttentionBlock(dim=64, heads=2, dim_head=32, window_size=2))
    x = torch.randn(1, 64, 4, 4)
    with torch.no_grad():
        assert (block(x, torch.randn(1, 64, 4, 4)) - block(x)).abs().max() > 1e-2


def test_block_keeps_shape_and_rejects_sizes_not_divisible_by_window() -> None:
    block = MaxAttentionBlock(dim=32, heads=1, dim_head=32, window_size=4)
    assert block(torch.randn(2, 32, 8, 12)).shape == (2, 32, 8, 12)
    with pytest.raises(ValueError, match="divisible"):
        block(torch.randn(1, 32, 6, 8))


def test_state_dict_has_checkpoint_names_and_no_index_table() -> None:
    keys = set(MaxAttentionBlock(dim=64, heads=2, dim_head=32, window_size=2).state_dict())
    assert "attn_grid.fn.to_out.0.weight" in keys
    assert "ff_block.fn.net.3.bias" in keys
    assert not any("rel_pos_indices" in k for k in keys)
