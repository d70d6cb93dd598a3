"""The training pool: the admitted environments training samples from, each with the number
of pool epochs it has been in; generated ones rotate out after ``max_epochs``."""

from __future__ import annotations

import math
import random
from typing import TypeVar

import numpy as np
from sqlalchemy import select, update

from evoenv.registry.core import RegistryCore, check
from evoenv.registry.models import Environment, PoolMembership, utcnow
from evoenv.registry.records import EnvRecord

#: ``random.Random`` or ``numpy.random.Generator``
Rng = random.Random | np.random.Generator
T = TypeVar("T")


def _below(rng: Rng, n: int) -> int:
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(n))
    return rng.randrange(n)


def _shuffle(rng: Rng, items: list[T]) -> None:
    if isinstance(rng, np.random.Generator):
        order = rng.permutation(len(items))
        items[:] = [items[i] for i in order]
    else:
        rng.shuffle(items)


class TrainingPool(RegistryCore):
    def pool(self) -> list[tuple[int, str, int]]:
        """Active pool members: (env_id, origin, epochs)."""
        active = (select(PoolMembership.env_id, Environment.origin, PoolMembership.epochs)
                  .join(Environment, Environment.id == PoolMembership.env_id)
                  .where(PoolMembership.retired_at.is_(None), Environment.status == "admitted")
                  .order_by(PoolMembership.env_id))
        with self._tx() as s:
            return [(env_id, origin, epochs) for env_id, origin, epochs in s.execute(active)]

    def sample_pool(self, k: int, rng: Rng, seed_floor: float = 0.2) -> list[EnvRecord]:
        """``k`` environments drawn with replacement from the active pool; at least
        ``ceil(seed_floor * k)`` of them are seeds (when the pool has seeds).
        ``rng`` is a ``random.Random`` or a ``numpy.random.Generator``."""
        check(isinstance(k, int) and k >= 0, f"k must be an int >= 0, got {k!r}")
        check(0.0 <= seed_floor <= 1.0, f"seed_floor must be within [0, 1], got {seed_floor!r}")
        members = self.pool()
        if k == 0 or not members:
            return []
        seeds = [env_id for env_id, origin, _ in members if origin == "seed"]
        everyone = [env_id for env_id, _, _ in members]
        n_seeds = min(k, math.ceil(seed_floor * k)) if seeds else 0
        picks = [seeds[_below(rng, len(seeds))] for _ in range(n_seeds)]
        picks += [everyone[_below(rng, len(everyone))] for _ in range(k - n_seeds)]
        _shuffle(rng, picks)
        with self._tx() as s:
            records = {e.id: EnvRecord.from_row(e)
                       for e in s.scalars(select(Environment).where(Environment.id.in_(set(picks))))}
        return [records[i] for i in picks]

    def advance_pool_epoch(self, max_epochs: int) -> list[int]:
        """One more epoch for every active member; generated environments that have now
        been in the pool ``max_epochs`` epochs are retired. Returns the retired ids."""
        check(isinstance(max_epochs, int) and max_epochs >= 1, f"max_epochs must be an int >= 1, got {max_epochs!r}")
        with self._tx("advance_pool_epoch") as s:
            active = select(PoolMembership.env_id).where(PoolMembership.retired_at.is_(None)).scalar_subquery()
            s.execute(update(PoolMembership).where(PoolMembership.env_id.in_(active))
                      .values(epochs=PoolMembership.epochs + 1))
            due = list(s.scalars(
                select(PoolMembership.env_id).join(Environment, Environment.id == PoolMembership.env_id)
                .where(PoolMembership.retired_at.is_(None), PoolMembership.epochs >= max_epochs,
                       Environment.origin == "generated", Environment.status == "admitted")
                .order_by(PoolMembership.env_id)))
            if due:
                s.execute(update(PoolMembership).where(PoolMembership.env_id.in_(due)).values(retired_at=utcnow()))
                s.execute(update(Environment).where(Environment.id.in_(due))
                          .values(status="retired", status_reason=f"rotated out after {max_epochs} pool epochs"))
            return due
