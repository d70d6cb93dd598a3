"""The reasoning-gym habit: ``create_dataset(name, size, seed)`` and ``score_answer(answer, entry)``."""

from __future__ import annotations

from collections.abc import Iterator

from evoenv.integrations.catalog import Catalog
from evoenv.integrations.export import build_rows
from evoenv.integrations.rescore import default_scorer


class EnvDataset:
    """An indexable, fixed list of ``{question, answer, metadata}`` entries."""

    def __init__(self, entries: list[dict]):
        self._entries = entries

    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, index: int) -> dict:
        return self._entries[index]

    def __iter__(self) -> Iterator[dict]:
        return iter(self._entries)

    def score_answer(self, answer: str | None, entry: dict) -> float:
        return score_answer(answer, entry)


def create_dataset(name_or_id: str | int, size: int = 100, seed: int = 0, difficulty: int | str = "auto",
                   registry_url: str | None = None) -> EnvDataset:
    """``size`` instances of one environment (a registry id or name, or a seed name)."""
    if size < 1:
        raise ValueError(f"size must be at least 1, got {size}")
    rows = build_rows(envs=str(name_or_id), per_env=size, difficulty=str(difficulty), seed=seed,
                      catalog=Catalog(registry_url))
    return EnvDataset(rows)


def score_answer(answer: str | None, entry: dict) -> float:
    """Score an already-extracted answer against an entry, in the sandbox."""
    return default_scorer().score([(entry["metadata"], "" if answer is None else str(answer))])[0]
