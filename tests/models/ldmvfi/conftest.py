"""Shared fixtures for the LDMVFI fidelity tests: the official goldens and the tiny checkpoint.

The files under tests/fixtures/ldmvfi/ are golden outputs of the official implementation; see
tests/fixtures/README.md for how they were made and the tolerances they allow.
"""

from __future__ import annotations

import pytest
import torch
from support import LDMVFI_FIXTURES, TINY_CKPT, fixture_file


@pytest.fixture(autouse=True)
def _fidelity_numerics():
    """Goldens were computed in float32 with TF32 off; keep every test in that regime."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    yield


@pytest.fixture(scope="session")
def golden(test_device) -> dict[str, torch.Tensor]:
    """Inputs and outputs of the official code, on the device the models run on."""
    path = fixture_file(LDMVFI_FIXTURES / "tiny_golden.pt")
    return torch.load(path, map_location=test_device, weights_only=True)


@pytest.fixture(scope="session")
def dsepconv_golden(test_device) -> dict[str, torch.Tensor]:
    path = LDMVFI_FIXTURES / "dsepconv_golden.pt"
    return torch.load(path, map_location=test_device, weights_only=True)


@pytest.fixture(scope="session")
def tiny_state_dict() -> dict[str, torch.Tensor]:
    return torch.load(TINY_CKPT, map_location="cpu", weights_only=True)["state_dict"]
