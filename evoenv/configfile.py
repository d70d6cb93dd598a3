"""Run config files: TOML (``.toml``) or YAML (``.yaml``/``.yml``), one format for every run.

``grow``, ``train`` and ``cotevol`` each read their settings with
``read_config_file`` and fill their own config dataclass from the result.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import yaml


class ConfigFileError(ValueError):
    """The file is missing, of an unknown kind, does not parse, or holds no table."""


def read_config_file(path: str | Path, section: str | None = None) -> dict[str, Any]:
    """The settings in ``path``; with ``section``, the ``[section]`` table when the file has one,
    else its top level."""
    path = Path(path)
    if not path.is_file():
        raise ConfigFileError(f"config file {path} does not exist")
    if path.suffix not in (".toml", ".yaml", ".yml"):
        raise ConfigFileError(f"config file {path}: use a .toml, .yaml or .yml file")
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else (yaml.safe_load(text) or {})
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise ConfigFileError(f"config file {path} is not valid {path.suffix[1:].upper()}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigFileError(f"config file {path}: expected a table of settings, got {type(data).__name__}")
    if section is not None and section in data:
        data = data[section]
        if not isinstance(data, dict):
            raise ConfigFileError(f"config file {path}: [{section}] must be a table")
    return data
