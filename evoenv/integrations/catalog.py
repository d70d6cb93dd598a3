"""Find environment code by registry id, name, code hash, or seed name.

The registry is read when its database exists; the seeds are always known, so
seed rows rescore even with no registry at all. Retired environments keep their
code in the registry, so their rows still rescore.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from functools import cached_property

from evoenv.hashing import code_sha256
from evoenv.sources import SEED_NAMES, load_seed


class NotInCatalog(LookupError):
    """Neither the registry nor the seeds have an environment with the given id, name or code hash
    (the registry's own ``UnknownEnvironment`` is narrower: its database only)."""


class InactiveEnvironment(LookupError):
    """A rejected or retired environment was named for new data without being allowed explicitly."""


#: Statuses whose environments make no new data unless the caller asks for them by name.
INACTIVE = ("rejected", "retired")


@dataclass(frozen=True)
class CatalogEntry:
    env_id: int | None
    name: str
    code: str
    code_sha256: str
    max_difficulty: int | None = None
    status: str = "seed"


def _database_exists(url: str) -> bool:
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        return path == ":memory:" or os.path.exists(path)
    return True


class Catalog:
    def __init__(self, registry_url: str | None = None):
        self.registry_url = registry_url or os.environ.get("EVOENV_DB", "sqlite:///evoenv.db")

    @cached_property
    def registry(self):
        """The registry, or None when its database does not exist yet."""
        if not _database_exists(self.registry_url):
            return None
        from evoenv.registry import open_registry

        return open_registry(self.registry_url)

    @cached_property
    def _seeds(self) -> dict[str, CatalogEntry]:
        entries = {}
        for name in SEED_NAMES:
            code = load_seed(name).code
            entries[name] = CatalogEntry(None, name, code, code_sha256(code))
        return entries

    @staticmethod
    def _from_record(record) -> CatalogEntry:
        return CatalogEntry(record.id, record.name, record.code, record.code_sha256,
                            record.max_difficulty, record.status)

    def by_hash(self, sha: str) -> CatalogEntry:
        if self.registry is not None and (record := self.registry.by_hash(sha)) is not None:
            return self._from_record(record)
        for entry in self._seeds.values():
            if entry.code_sha256 == sha:
                return entry
        where = f"the registry at {self.registry_url}" if self.registry is not None else "the seeds (no registry database)"
        raise NotInCatalog(f"no environment with code hash {sha!r} in {where}")

    def get(self, ref: str, allow_rejected_or_retired: bool = False) -> CatalogEntry:
        """By registry id or name, else by seed name. A rejected or retired environment is refused
        unless ``allow_rejected_or_retired`` (its rows still rescore: ``by_hash`` finds any status)."""
        if self.registry is not None:
            try:
                entry = self._from_record(self.registry.get(ref))
            except LookupError:
                entry = None
            if entry is not None:
                if entry.status in INACTIVE and not allow_rejected_or_retired:
                    raise InactiveEnvironment(
                        f"environment {entry.name!r} (id {entry.env_id}) is {entry.status}; ask for it "
                        f"explicitly (--allow-rejected-or-retired, or allow_rejected_or_retired=True) to use it")
                return entry
        if ref in self._seeds:
            return self._seeds[ref]
        raise NotInCatalog(f"unknown environment {ref!r}: not in the registry and not a seed")

    def select(self, spec: str, allow_rejected_or_retired: bool = False) -> list[CatalogEntry]:
        """``admitted`` (all admitted), ``seeds``, a glob over names, or comma-separated ids/names."""
        if spec == "seeds":
            return list(self._seeds.values())
        if spec in ("admitted", "all"):
            if self.registry is None:
                return list(self._seeds.values())
            return [self._from_record(r) for r in self.registry.list_envs(status="admitted", limit=1_000_000)]
        if any(ch in spec for ch in "*?["):
            pool = self.select("admitted")
            chosen = [e for e in pool if fnmatch.fnmatch(e.name, spec)]
            if not chosen:
                raise NotInCatalog(f"no admitted environment name matches {spec!r}")
            return chosen
        return [self.get(ref.strip(), allow_rejected_or_retired) for ref in spec.split(",") if ref.strip()]

    def calibrated_band(self, entry: CatalogEntry) -> list[int]:
        """Difficulty levels whose recorded pass rate lies strictly between 0 and 1."""
        if self.registry is None or entry.env_id is None:
            return []
        curve = self.registry.calibration_curve(entry.env_id)
        levels = {int(d) for points in curve.values() for d, _n, _passes, rate in points if 0.0 < rate < 1.0}
        return sorted(levels)
