"""Augmentation moves frames and teacher flows together and keeps grey frames grey."""

from __future__ import annotations

import pytest
import torch

from vfi.training.augment import Jitter, Sample, augment, random_geometry


def shifted_pair(dx: int, dy: int) -> Sample:
    """previous = middle moved by (dx, dy); next = middle moved by (-dx, -dy). The teacher flows
    middle -> previous and middle -> next are then (dx, dy) and (-dx, -dy) everywhere."""
    middle = torch.rand(3, 24, 24)
    frames = torch.stack([middle.roll((dy, dx), (1, 2)), middle, middle.roll((-dy, -dx), (1, 2))])
    flow = torch.tensor([dx, dy, -dx, -dy], dtype=torch.float32)[:, None, None].expand(4, 24, 24)
    return Sample(frames, 0.5, flow.clone())


@pytest.mark.parametrize("seed", range(8))
def test_flows_turn_with_the_frames(seed):
    sample = random_geometry(shifted_pair(3, 1), torch.Generator().manual_seed(seed))
    dx, dy = (int(v) for v in sample.flow[0:2, 0, 0])
    previous, middle = sample.frames[0], sample.frames[1]
    assert torch.equal(previous, middle.roll((dy, dx), (1, 2)))


def test_time_reversal_swaps_the_neighbours_their_flows_and_the_time():
    sample = shifted_pair(2, 0)
    sample.time = 0.25
    reversed_ = None
    for seed in range(50):
        out = random_geometry(sample, torch.Generator().manual_seed(seed))
        if out.time == 0.75:
            reversed_ = out
            break
    assert reversed_ is not None
    dx, dy = (int(v) for v in reversed_.flow[0:2, 0, 0])
    assert torch.equal(reversed_.frames[0], reversed_.frames[1].roll((dy, dx), (1, 2)))


def test_grey_frames_stay_grey_and_in_range():
    grey = torch.rand(3, 1, 40, 40).expand(3, 3, 40, 40)
    out = augment(Sample(grey, 0.5), 32, Jitter(0.3, 0.2, 0.1), torch.Generator().manual_seed(0))
    assert out.frames.shape == (3, 3, 32, 32)
    assert torch.equal(out.frames[:, 0], out.frames[:, 1])
    assert torch.equal(out.frames[:, 0], out.frames[:, 2])
    assert out.frames.min() >= 0 and out.frames.max() <= 1


def test_the_same_seed_gives_the_same_samples():
    sample = shifted_pair(1, 2)

    def draw():
        return augment(sample, 16, Jitter(), torch.Generator().manual_seed(7)).frames

    assert torch.equal(draw(), draw())
