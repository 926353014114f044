"""LDMVFI configuration: the official YAML format read into small typed dataclasses.

Only the `model.params` section matters for inference: the U-Net arguments
(`unet_config.params`), the first-stage arguments (`first_stage_config.params`, with its
`ddconfig`) and the DDPM schedule (`timesteps`, `linear_start`, `linear_end`). The published
config ships with the package (configs/ldmvfi-vqflow-f32-c256-concat_max.yaml).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

PUBLISHED_CONFIG = "ldmvfi-vqflow-f32-c256-concat_max.yaml"

_DDCONFIG_KEYS = ("ch", "ch_mult", "num_res_blocks", "z_channels", "in_channels", "out_ch")


class ConfigError(ValueError):
    """A config file that cannot describe an LDMVFI model (missing keys, wrong types)."""


@dataclass(frozen=True)
class UNetConfig:
    """Arguments of `UNetModel` (official `unet_config.params`)."""

    image_size: int
    in_channels: int
    out_channels: int
    model_channels: int
    attention_resolutions: tuple[int, ...]
    num_res_blocks: int
    channel_mult: tuple[int, ...]
    num_head_channels: int
    use_max_self_attn: bool = True

    def kwargs(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class FirstStageConfig:
    """Arguments of `VQFlowAutoencoder` (official `first_stage_config.params`)."""

    embed_dim: int
    n_embed: int
    ddconfig: Mapping[str, Any] = field(default_factory=dict)

    def kwargs(self) -> dict[str, Any]:
        return {
            "embed_dim": self.embed_dim,
            "n_embed": self.n_embed,
            "ddconfig": dict(self.ddconfig),
        }


@dataclass(frozen=True)
class LDMVFIConfig:
    """Everything needed to build the networks and the DDPM schedule."""

    unet: UNetConfig
    first_stage: FirstStageConfig
    timesteps: int = 1000
    linear_start: float = 0.0015
    linear_end: float = 0.0195

    def to_yaml(self) -> str:
        """The official layout (model.params...), so the text can be read back by `parse_config`."""
        params = {
            "timesteps": self.timesteps,
            "linear_start": self.linear_start,
            "linear_end": self.linear_end,
            "unet_config": {"params": _plain(self.unet.kwargs())},
            "first_stage_config": {"params": _plain(self.first_stage.kwargs())},
        }
        return yaml.safe_dump({"model": {"params": params}}, sort_keys=False)


def load_config(path: str | Path | None = None) -> LDMVFIConfig:
    """Read an official-format YAML file; None gives the published config."""
    if path is None:
        text = resources.files(__package__).joinpath("configs", PUBLISHED_CONFIG).read_text()
        return parse_config(yaml.safe_load(text), source=f"built-in {PUBLISHED_CONFIG}")
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise ConfigError(f"{path}: cannot read the LDMVFI config ({err.strerror})") from err
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({err})") from err
    return parse_config(document, source=str(path))


def parse_config(document: Any, source: str = "config") -> LDMVFIConfig:
    """Build an `LDMVFIConfig` from the parsed YAML of an official config (or our `to_yaml`)."""
    read = _Reader(document, source)
    unet = "model.params.unet_config.params."
    first = "model.params.first_stage_config.params."
    unet_config = UNetConfig(
        image_size=read.integer(unet + "image_size"),
        in_channels=read.integer(unet + "in_channels"),
        out_channels=read.integer(unet + "out_channels"),
        model_channels=read.integer(unet + "model_channels"),
        attention_resolutions=read.integers(unet + "attention_resolutions"),
        num_res_blocks=read.integer(unet + "num_res_blocks"),
        channel_mult=read.integers(unet + "channel_mult"),
        num_head_channels=read.integer(unet + "num_head_channels"),
        use_max_self_attn=bool(read.value(unet + "use_max_self_attn", default=True)),
    )
    for key in _DDCONFIG_KEYS:
        read.value(first + "ddconfig." + key)
    first_stage_config = FirstStageConfig(
        embed_dim=read.integer(first + "embed_dim"),
        n_embed=read.integer(first + "n_embed"),
        ddconfig=_plain(read.mapping(first + "ddconfig")),
    )
    return LDMVFIConfig(
        unet=unet_config,
        first_stage=first_stage_config,
        timesteps=read.integer("model.params.timesteps"),
        linear_start=read.number("model.params.linear_start"),
        linear_end=read.number("model.params.linear_end"),
    )


_MISSING = object()


class _Reader:
    """Looks up dotted key paths, with errors that name the file and the full path."""

    def __init__(self, document: Any, source: str) -> None:
        self.document = document
        self.source = source

    def fail(self, what: str) -> ConfigError:
        return ConfigError(
            f"{self.source}: {what}. An LDMVFI config needs the official layout "
            "model.params.{timesteps, linear_start, linear_end, unet_config.params, "
            f"first_stage_config.params.ddconfig}} (see the published {PUBLISHED_CONFIG})."
        )

    def value(self, path: str, default: Any = _MISSING) -> Any:
        node = self.document
        keys = path.split(".")
        for depth, key in enumerate(keys):
            if not isinstance(node, Mapping) or key not in node:
                if default is not _MISSING and depth == len(keys) - 1:
                    return default
                raise self.fail(f"missing key '{'.'.join(keys[: depth + 1])}'")
            node = node[key]
        return node

    def mapping(self, path: str) -> Mapping[str, Any]:
        value = self.value(path)
        if not isinstance(value, Mapping):
            raise self.fail(f"'{path}' must be a mapping")
        return value

    def integer(self, path: str) -> int:
        value = self.value(path)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(f"'{path}' must be an integer (got {value!r})")
        return value

    def integers(self, path: str) -> tuple[int, ...]:
        value = self.value(path)
        if not isinstance(value, list) or not all(isinstance(v, int) for v in value):
            raise self.fail(f"'{path}' must be a list of integers (got {value!r})")
        return tuple(value)

    def number(self, path: str) -> float:
        value = self.value(path)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(f"'{path}' must be a number (got {value!r})")
        return float(value)


def _plain(value: Any) -> Any:
    """Tuples -> lists and mappings -> dicts, so YAML dumps and the networks see plain types."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value
