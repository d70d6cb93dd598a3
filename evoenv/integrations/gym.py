"""The reasoning-gym habit: ``create_dataset(name, size=, seed=, **config)`` and ``score_answer(answer, entry)``.

Like reasoning-gym, a dataset has ``.size``, ``.seed`` and ``.config``, its entries'
metadata carry ``source_dataset`` and ``source_index``, and ``create_dataset("composite",
datasets=[...])`` mixes several environments by weight. An environment's one knob is its
difficulty level (the contract's ``sample(seed, difficulty)``), so the config keys are
``difficulty`` (a level, ``"A-B"`` or ``"auto"``) or reasoning-gym's range style
``min_difficulty``/``max_difficulty``; any other key is refused with the list of these.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from evoenv.integrations.catalog import Catalog
from evoenv.integrations.export import build_rows
from evoenv.integrations.rescore import default_scorer

#: The config keys an environment's dataset understands.
KNOBS = ("difficulty", "min_difficulty", "max_difficulty")
COMPOSITE = "composite"


@dataclass(frozen=True)
class DatasetSpec:
    """One part of a composite mix (reasoning-gym's ``DatasetSpec``: name, weight, config)."""

    name: str
    weight: float = 1.0
    config: dict = field(default_factory=dict)


class EnvDataset:
    """An indexable, fixed list of ``{question, answer, metadata}`` entries."""

    def __init__(self, entries: list[dict], name: str = "", size: int | None = None, seed: int = 0,
                 config: dict | None = None):
        self._entries = entries
        self.name = name
        self.size = len(entries) if size is None else size
        self.seed = seed
        self.config = dict(config or {})

    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, index: int) -> dict:
        return self._entries[index]

    def __iter__(self) -> Iterator[dict]:
        return iter(self._entries)

    def score_answer(self, answer: str | None, entry: dict) -> float:
        return score_answer(answer, entry)


def _difficulty_spec(name: str, config: Mapping[str, Any]) -> str:
    unknown = sorted(set(config) - set(KNOBS))
    if unknown:
        raise ValueError(
            f"create_dataset({name!r}): unknown config key {', '.join(map(repr, unknown))}; an EvoEnv environment's "
            f"one knob is its difficulty level: give difficulty=D, 'A-B' or 'auto', or min_difficulty/max_difficulty")
    if "min_difficulty" in config or "max_difficulty" in config:
        if "difficulty" in config:
            raise ValueError(f"create_dataset({name!r}): give difficulty or min_difficulty/max_difficulty, not both")
        low = int(config.get("min_difficulty", 1))
        high = config.get("max_difficulty", low)
        return f"{low}-{int(high)}"
    return str(config.get("difficulty", "auto"))


def _check_size(size: int) -> None:
    if not isinstance(size, int) or size < 1:
        raise ValueError(f"size must be at least 1, got {size!r}")


def create_dataset(name: str | int, size: int = 100, seed: int = 0, registry_url: str | None = None,
                   allow_rejected_or_retired: bool = False, **config) -> EnvDataset:
    """``size`` instances of one environment (a registry id or name, or a seed name), instance seeds
    ``seed, seed+1, ...``; or ``"composite"`` with ``datasets=[DatasetSpec | dict, ...]``. A rejected or
    retired environment is refused unless ``allow_rejected_or_retired``."""
    _check_size(size)
    if name == COMPOSITE:
        return _composite(size, seed, registry_url, allow_rejected_or_retired, **config)
    rows = build_rows(envs=str(name), per_env=size, difficulty=_difficulty_spec(str(name), config), seed=seed,
                      catalog=Catalog(registry_url), allow_rejected_or_retired=allow_rejected_or_retired)
    for index, row in enumerate(rows):
        row["metadata"] = {**row["metadata"], "source_dataset": str(name), "source_index": index}
    return EnvDataset(rows, str(name), size, seed, config)


def _spec(item) -> DatasetSpec:
    if isinstance(item, DatasetSpec):
        return item
    if isinstance(item, Mapping):
        return DatasetSpec(str(item["name"]), float(item.get("weight", 1.0)), dict(item.get("config") or {}))
    return DatasetSpec(str(item.name), float(getattr(item, "weight", 1.0)), dict(getattr(item, "config", None) or {}))


def _composite(size: int, seed: int, registry_url, allow_rejected_or_retired: bool, datasets=None,
               **rest) -> EnvDataset:
    """A weighted mix: each entry's environment is drawn by weight (``random.Random(seed)``), and the
    entry is the next one of that environment's own dataset (same ``seed``), so
    ``entry == create_dataset(source_dataset, seed=seed, **config)[source_index]``."""
    if rest:
        raise ValueError(f"create_dataset('composite'): unknown argument {', '.join(map(repr, sorted(rest)))}; "
                         f"give datasets=[DatasetSpec(name, weight, config), ...]")
    specs = [_spec(item) for item in datasets or []]
    if not specs:
        raise ValueError("create_dataset('composite') needs datasets=[DatasetSpec(name, weight, config), ...]")
    if any(s.weight < 0 for s in specs) or sum(s.weight for s in specs) <= 0:
        raise ValueError("composite weights must be non-negative and not all zero")
    picks = random.Random(seed).choices(range(len(specs)), weights=[s.weight for s in specs], k=size)
    parts = {}
    for j, spec in enumerate(specs):
        count = picks.count(j)
        if count:
            parts[j] = create_dataset(spec.name, size=count, seed=seed, registry_url=registry_url,
                                      allow_rejected_or_retired=allow_rejected_or_retired, **spec.config)
    taken = {j: 0 for j in parts}
    entries = []
    for j in picks:
        entries.append(parts[j][taken[j]])
        taken[j] += 1
    config = {"datasets": [{"name": s.name, "weight": s.weight, "config": s.config} for s in specs]}
    return EnvDataset(entries, COMPOSITE, size, seed, config)


def score_answer(answer: str | None, entry: dict) -> float:
    """Score an already-extracted answer against an entry, in the sandbox."""
    return default_scorer().score([(entry["metadata"], "" if answer is None else str(answer))])[0]
