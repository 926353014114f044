from dataclasses import asdict
from pathlib import Path

import pytest
import yaml

from vfi.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def schema_defaults(schema: dict) -> dict:
    out = {}
    for key, spec in schema["properties"].items():
        if spec.get("type") == "object":
            out[key] = schema_defaults(spec)
        else:
            out[key] = spec["default"]
    return out


def test_schema_defaults_match_library_defaults():
    schema = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())
    assert schema_defaults(schema) == asdict(Settings())


def test_config_yaml_holds_every_key_at_its_default():
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    assert config == asdict(Settings())


def test_json_round_trip():
    settings = Settings(data_dir="x", batch_size=3)
    assert Settings.from_json(settings.to_json()) == settings


def test_unknown_keys_are_refused_by_name():
    with pytest.raises(ValueError, match="datadir"):
        Settings.from_mapping({"datadir": "x"})
