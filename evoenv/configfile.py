"""Run config files and the one loader for config dataclasses.

``grow``, ``train`` and ``cotevol`` read their settings with ``read_config_file`` (TOML or YAML); every
config dataclass (``GRPOConfig`` and its sections, ``AdmissionConfig``) is filled from a dict by
``build_dataclass``, which checks each value against its field's type hint, builds nested dataclasses
from nested tables, and names the full dotted key in every error. ``apply_overrides`` lays
``a.b=VALUE`` command-line settings over such a dict.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """The config file or an override is wrong; the message names the key."""


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


def coerce(value: Any, hint: Any, key: str) -> Any:
    """Check ``value`` against the field's type hint; ints are accepted for floats."""
    origin = typing.get_origin(hint)
    if hint is Any:
        return value
    if hint is dict or origin is dict:  # a free-form table, e.g. options passed on to a backend
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a table/mapping, got {type(value).__name__} {value!r}")
        return dict(value)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return coerce(value, inner, key)
    if origin is list or (origin is tuple and typing.get_args(hint)[1:] == (Ellipsis,)):
        item = typing.get_args(hint)[0]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected a list, got {type(value).__name__} {value!r}")
        items = [coerce(v, item, f"{key}[{i}]") for i, v in enumerate(value)]
        return items if origin is list else tuple(items)
    if origin is tuple:  # a fixed-length tuple such as tuple[int, int]
        hints = typing.get_args(hint)
        if not isinstance(value, (list, tuple)) or len(value) != len(hints):
            raise ConfigError(f"{key}: expected a list of {len(hints)} values, got {value!r}")
        return tuple(coerce(v, h, f"{key}[{i}]") for i, (v, h) in enumerate(zip(value, hints)))
    if hint is typing.Any:
        return value
    if hint is dict or origin is dict:
        if isinstance(value, dict):
            return dict(value)
        raise ConfigError(f"{key}: expected a table/mapping, got {type(value).__name__} {value!r}")
    if hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads 1e-6 (no dot) as text
            try:
                return float(value)
            except ValueError:
                pass
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is str:
        if isinstance(value, bool):  # bf16 = true in TOML/YAML means "true"
            return "true" if value else "false"
        if isinstance(value, str):
            return value
    raise ConfigError(f"{key}: expected {getattr(hint, '__name__', hint)}, got {type(value).__name__} {value!r}")


T = typing.TypeVar("T")


def build_dataclass(cls: type[T], data: Any, prefix: str = "") -> T:
    """``cls`` (a config dataclass) from ``data``, each value checked against its field's type hint; a
    field whose type is a dataclass is built from a nested table the same way. An unknown key or a
    value of the wrong type raises ConfigError naming the full dotted key (``prefix`` + the key, e.g.
    ``admission.blind_max_rate: expected float, got str 'x'``); fields not in ``data`` keep their
    defaults."""
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'}: expected a table/mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - names, key=str)
    if unknown:
        raise ConfigError(f"unknown key {prefix}{unknown[0]!s}; known keys: {', '.join(sorted(names))}")
    kwargs = {}
    for name, value in data.items():
        hint = hints[name]
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            kwargs[name] = build_dataclass(hint, value, f"{prefix}{name}.")
        else:
            kwargs[name] = coerce(value, hint, f"{prefix}{name}")
    return cls(**kwargs)


def parse_override(text: str) -> tuple[list[str], Any]:
    """``a.b=VALUE`` as (["a", "b"], value), the value read as YAML (``[1, 2]``, ``0.5``, ``true``, text)."""
    if "=" not in text:
        raise ConfigError(f"override {text!r}: write KEY=VALUE, e.g. curriculum.window=16")
    key, raw = text.split("=", 1)
    value = yaml.safe_load(raw) if raw.strip() else ""
    return key.strip().split("."), value


def apply_overrides(data: dict[str, Any], overrides: typing.Iterable[str]) -> dict[str, Any]:
    """A copy of ``data`` with each ``a.b=VALUE`` override set in its (nested) table, for
    ``build_dataclass``; the tables on the way are copied, so ``data`` is left as it was."""
    data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
    for text in overrides:
        path, value = parse_override(text)
        node = data
        for part in path[:-1]:
            child = node.get(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"override {text!r}: {part} is not a section")
            node[part] = child = dict(child)
            node = child
        node[path[-1]] = value
    return data
