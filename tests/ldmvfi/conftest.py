"""Shared fixtures for the LDMVFI fidelity tests: the official goldens and the tiny checkpoint.

The files under tests/fixtures/ldmvfi/ are copies of ../shared/fixtures/ldmvfi (golden outputs of
the official implementation); see that folder's README for what each tensor is.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "ldmvfi"
TINY_CKPT = FIXTURES / "tiny.ckpt"
TINY_CONFIG = FIXTURES / "tiny_config.yaml"
MANIFEST = FIXTURES / "full_manifest.json"


@pytest.fixture(autouse=True)
def _fidelity_numerics():
    """Goldens were computed in float32 with TF32 off; keep every test in that regime."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    yield


@pytest.fixture(scope="session")
def golden() -> dict[str, torch.Tensor]:
    return torch.load(FIXTURES / "tiny_golden.pt", map_location="cpu", weights_only=True)


@pytest.fixture(scope="session")
def dsepconv_golden() -> dict[str, torch.Tensor]:
    return torch.load(FIXTURES / "dsepconv_golden.pt", map_location="cpu", weights_only=True)


@pytest.fixture(scope="session")
def tiny_state_dict() -> dict[str, torch.Tensor]:
    return torch.load(TINY_CKPT, map_location="cpu", weights_only=True)["state_dict"]
