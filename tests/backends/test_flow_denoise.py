"""Noise-adaptive shrinkage of the flow backend's blend (`flow.denoise: wiener`)."""

from __future__ import annotations

import cv2
import numpy as np
import torch

from vfi.backends.flow import FlowBackend
from vfi.models.opticalflow.denoise import shrink_blend

HEIGHT, WIDTH = 128, 160
CPU = torch.device("cpu")


def scene(seed: int = 0) -> np.ndarray:
    """H x W x 1 content with detail at all scales: blobs of several sizes."""
    rng = np.random.default_rng(seed)
    layers = [
        cv2.GaussianBlur(rng.normal(0, 1, (HEIGHT, WIDTH)).astype(np.float32), (0, 0), s) * s
        for s in (1.0, 2.0, 4.0)
    ]
    return (100 + 10 * np.sum(layers, axis=0))[..., None].astype(np.float32)


def observed(clean: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0, sigma, clean.shape).astype(np.float32)
    return clean + noise


def equal_weights() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ones = np.ones((HEIGHT, WIDTH, 1), np.float32)
    return ones, ones, ones


def mse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(np.square(a - b)))


def test_shrinkage_removes_noise_the_two_neighbours_do_not_share():
    clean = scene()
    a, b = observed(clean, 8.0, seed=1), observed(clean, 8.0, seed=2)
    out = shrink_blend(a, b, *equal_weights())
    assert mse(out, clean) < 0.3 * mse((a + b) / 2, clean)


def test_shrinkage_leaves_content_both_neighbours_share_alone():
    clean = scene()
    out = shrink_blend(clean, clean.copy(), *equal_weights())
    assert np.abs(out - clean).max() < 1e-3


def test_shrinkage_keeps_the_mean_intensity():
    clean = scene()
    a, b = observed(clean, 8.0, seed=1), observed(clean, 8.0, seed=2)
    out = shrink_blend(a, b, *equal_weights())
    assert abs(float(out.mean()) - float(((a + b) / 2).mean())) < 0.05


def test_shrinkage_follows_the_local_noise_level():
    """Noise only in the left half: the right half keeps its detail, the left is cleaned."""
    clean = scene()
    sigma = np.zeros_like(clean)
    sigma[:, : WIDTH // 2] = 8.0
    rng = np.random.default_rng(4)
    a = clean + sigma * rng.normal(0, 1, clean.shape).astype(np.float32)
    b = clean + sigma * rng.normal(0, 1, clean.shape).astype(np.float32)
    out = shrink_blend(a, b, *equal_weights())
    left, right = np.s_[:, 8 : WIDTH // 2 - 8], np.s_[:, WIDTH // 2 + 8 : -8]
    assert mse(out[left], clean[left]) < 0.3 * mse(((a + b) / 2)[left], clean[left])
    assert mse(out[right], clean[right]) < 0.05


def test_content_only_one_neighbour_shows_is_shrunk_as_one_observation():
    """Where one neighbour alone counts, the blend holds its whole noise, not half of it, and
    is shrunk harder than where both count equally."""
    clean = scene()
    a, b = observed(clean, 8.0, seed=1), observed(clean, 8.0, seed=2)
    ones, zeros = np.ones_like(clean), np.zeros_like(clean)
    both = shrink_blend(a, b, ones, ones, ones)
    alone = shrink_blend(a, b, ones, zeros, ones)
    # detail removed from the blend: more where the blend is one noisy frame
    assert np.std(alone - a) > np.std(both - (a + b) / 2)
    assert mse(alone, clean) < 0.5 * mse(a, clean)


def test_neighbours_without_shared_content_keep_the_plain_blend():
    clean = scene()
    a, b = observed(clean, 8.0, seed=1), observed(clean, 8.0, seed=2)
    ones = np.ones_like(clean)
    out = shrink_blend(a, b, ones, ones, np.zeros_like(clean))
    assert np.abs(out - (a + b) / 2).max() < 1e-3


def test_shrinkage_treats_colour_channels_separately():
    clean = scene()
    rgb_clean = np.concatenate([clean, clean, clean], axis=2)
    a = rgb_clean.copy()
    b = rgb_clean.copy()
    a[..., 1:2] = observed(clean, 8.0, seed=1)
    b[..., 1:2] = observed(clean, 8.0, seed=2)
    out = shrink_blend(a, b, *equal_weights())
    assert np.abs(out[..., 0] - clean[..., 0]).max() < 1e-3
    assert mse(out[..., 1:2], clean) < 0.3 * mse((a[..., 1:2] + b[..., 1:2]) / 2, clean)


def test_flow_backend_with_denoise_beats_the_plain_blend_of_noisy_moving_frames():
    """End to end through the backend: a shifted noisy pair, scored against the clean middle."""
    big = scene(seed=7)[..., 0]
    shift = 4

    def crop(dx: int) -> torch.Tensor:
        window = big[:, 8 + dx : 8 + dx + WIDTH - 16]
        return torch.from_numpy((window - 100) / 60).expand(1, 3, -1, -1).contiguous()

    def noise(seed: int) -> torch.Tensor:
        rng = torch.Generator().manual_seed(seed)
        return 0.12 * torch.randn(1, 1, *truth.shape[-2:], generator=rng)

    truth = crop(shift // 2)
    prev, nxt = crop(0) + noise(1), crop(shift) + noise(2)
    made = {
        mode: FlowBackend(CPU, denoise=mode).interpolate(prev, nxt, torch.tensor([0.5]), [0])
        for mode in ("none", "wiener")
    }
    interior = np.s_[..., 12:-12, 12:-12]
    error = {mode: float(((out - truth)[interior] ** 2).mean()) for mode, out in made.items()}
    assert error["wiener"] < 0.5 * error["none"]
