"""Shared fixtures for the IFRNet fidelity tests: the official goldens and the fixture weights.

The files under tests/fixtures/ifrnet/ are outputs of the official IFRNet code run with weights
made by a small bit-exact formula (`fixture_weights`, from the fixtures' README, section 3), so
no weights file needs to be stored; see tests/fixtures/README.md.
"""

from __future__ import annotations

import pytest
import torch
from support import fixture_weights, load_ifrnet_fixture

from vfi.models.ifrnet import IFRNet

OUTPUT_FILES = {
    "IFRNet": "ifrnet_outputs.pt",
    "IFRNet_L": "ifrnet_l_outputs.pt",
    "IFRNet_S": "ifrnet_s_outputs.pt",
}


@pytest.fixture(scope="session")
def manifest() -> dict:
    return load_ifrnet_fixture("weights_manifest.pt")


@pytest.fixture(scope="session")
def weights(manifest) -> dict[str, dict[str, torch.Tensor]]:
    """Fixture weights of every variant, in official key order."""
    return {
        variant: fixture_weights(variant, {k: v.tolist() for k, v in entry["shapes"].items()})
        for variant, entry in manifest["variants"].items()
    }


@pytest.fixture(scope="session")
def models(weights, test_device) -> dict[str, IFRNet]:
    return {variant: IFRNet.from_state_dict(sd, test_device) for variant, sd in weights.items()}


# The goldens live on the models' device (tests/conftest.py: VFI_TEST_DEVICE).
@pytest.fixture(scope="session")
def inputs(to_test_device) -> dict[str, dict[str, torch.Tensor]]:
    return to_test_device(load_ifrnet_fixture("inputs.pt")["cases"])


@pytest.fixture(scope="session")
def outputs(to_test_device) -> dict[str, dict[str, dict[str, torch.Tensor]]]:
    return {
        variant: to_test_device(load_ifrnet_fixture(name)) for variant, name in OUTPUT_FILES.items()
    }


@pytest.fixture(scope="session")
def units(to_test_device) -> dict[str, dict[str, torch.Tensor]]:
    return to_test_device(load_ifrnet_fixture("units.pt"))


@pytest.fixture(scope="session")
def train_golden(to_test_device) -> dict:
    return to_test_device(load_ifrnet_fixture("ifrnet_train.pt"))
