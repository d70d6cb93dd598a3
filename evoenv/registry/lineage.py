"""Lineage: an environment's parents and children (mutation, crossover, repair, inspired_by)
and its whole ancestry tree."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from evoenv.registry.core import RegistryCore
from evoenv.registry.models import Environment, Lineage

#: ``{"parents": [...], "children": [...]}`` of one environment
Links = dict[str, list[dict[str, Any]]]


def links_of(session: Session, env_ids: list[int]) -> dict[int, Links]:
    """Direct parents and children of each of ``env_ids``, in two queries."""
    found: dict[int, Links] = {i: {"parents": [], "children": []} for i in env_ids}

    def add(direction: str, other_end: InstrumentedAttribute[int], this_end: InstrumentedAttribute[int]) -> None:
        query = (select(this_end, Environment.id, Environment.name, Environment.status, Environment.generation,
                        Lineage.relation)
                 .join(Lineage, other_end == Environment.id).where(this_end.in_(env_ids))
                 .order_by(Environment.id))
        for this, i, n, st, g, r in session.execute(query):
            found[this][direction].append({"id": i, "name": n, "status": st, "generation": g, "relation": r})

    add("parents", Lineage.parent_id, Lineage.child_id)
    add("children", Lineage.child_id, Lineage.parent_id)
    return found


class Lineages(RegistryCore):
    def lineage(self, env_id: int) -> Links:
        """Direct parents and children: ``{"parents": [...], "children": [...]}``, each
        ``{"id", "name", "status", "generation", "relation"}``."""
        with self._tx() as s:
            self._env(s, env_id)
            return links_of(s, [env_id])[env_id]

    def lineage_many(self, env_ids: Iterable[int]) -> dict[int, Links]:
        """``lineage`` of several environments in two queries (unknown ids map to empty lists)."""
        ids = sorted({int(i) for i in env_ids})
        if not ids:
            return {}
        with self._tx() as s:
            return links_of(s, ids)

    def ancestry(self, env_id: int, max_depth: int = 32) -> dict[str, Any]:
        """The ancestry tree: ``{"id", "name", "status", "generation", "relation", "parents": [...]}``
        recursively. An ancestor reached by several paths (crossovers share ancestors) has its
        parents drawn once, at its first place depth-first; later places are leaves marked
        ``"shown_above": True``. Otherwise the tree doubles per generation of crossovers."""
        with self._tx() as s:
            root = self._env(s, env_id)
            # Every ancestor's parents, one query per generation back (not one per node).
            parents_of: dict[int, list[dict[str, Any]]] = {}
            frontier = [root.id]
            for _ in range(max_depth):
                todo = sorted({i for i in frontier if i not in parents_of})
                if not todo:
                    break
                found = links_of(s, todo)
                for i in todo:
                    parents_of[i] = found[i]["parents"]
                frontier = [p["id"] for i in todo for p in parents_of[i]]

        expanded: set[int] = set()

        def node(item: dict[str, Any], depth: int) -> dict[str, Any]:
            item = dict(item)
            if item["id"] in expanded:
                item.update(parents=[], shown_above=True)
                return item
            expanded.add(item["id"])
            parents = parents_of.get(item["id"], []) if depth < max_depth else []
            item["parents"] = [node(p, depth + 1) for p in parents]
            return item

        return node({"id": root.id, "name": root.name, "status": root.status, "generation": root.generation,
                     "relation": None}, 0)
