"""Settings: defaults in one place (vfi.settings), checked by the schema, listed in config.yaml."""

from dataclasses import asdict

import jsonschema
import pytest
import yaml
from support import ROOT

from vfi.settings import Settings

SCHEMA = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())


def schema_keys(schema: dict, prefix: str = "") -> set[str]:
    keys = set()
    for key, spec in schema["properties"].items():
        keys.add(prefix + key)
        if spec.get("type") == "object":
            keys |= schema_keys(spec, f"{prefix}{key}.")
    return keys


def setting_keys(mapping: dict, prefix: str = "") -> set[str]:
    keys = set()
    for key, value in mapping.items():
        keys.add(prefix + key)
        if isinstance(value, dict):
            keys |= setting_keys(value, f"{prefix}{key}.")
    return keys


def test_schema_describes_exactly_the_settings():
    assert schema_keys(SCHEMA) == setting_keys(asdict(Settings()))


def test_every_schema_key_has_a_description_and_no_second_default():
    def walk(schema: dict, prefix: str = ""):
        for key, spec in schema["properties"].items():
            yield prefix + key, spec
            if spec.get("type") == "object":
                yield from walk(spec, f"{prefix}{key}.")

    for key, spec in walk(SCHEMA):
        assert spec.get("description"), f"{key} has no description"
        assert "default" not in spec, f"{key}: defaults live in vfi/settings.py only"


def test_schema_accepts_the_defaults():
    jsonschema.validate(asdict(Settings()), SCHEMA)


def test_config_yaml_holds_every_key_at_its_default():
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    assert config == asdict(Settings())


def test_missing_keys_take_their_defaults():
    settings = Settings.from_mapping({"backend": "blend", "ldmvfi": {"steps": 10}})
    assert settings.batch_size == Settings().batch_size
    assert settings.ldmvfi.steps == 10 and settings.ldmvfi.eta == Settings().ldmvfi.eta


def test_backend_options_are_the_chosen_backends_section():
    assert Settings(backend="ldmvfi").backend_options() == asdict(Settings().ldmvfi)
    assert Settings(backend="flow").backend_options() == asdict(Settings().flow)
    assert Settings(backend="blend").backend_options() == {}


def test_json_round_trip():
    settings = Settings(data_dir="x", batch_size=3)
    assert Settings.from_json(settings.to_json()) == settings


def test_unknown_keys_are_refused_by_name():
    with pytest.raises(ValueError, match="datadir"):
        Settings.from_mapping({"datadir": "x"})
