"""Search finds the same environments on SQLite (FTS5) and PostgreSQL (GIN full-text index);
on PostgreSQL the planner answers searches and best-first sorts from migration 0003's
indexes, not by reading and sorting every row."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from evoenv.registry import SORTS
from evoenv.registry.database import PG_SEARCH_COLUMN
from evoenv.registry.models import Environment

CODE = '''import random

class Env_walk:
    name = "graph_walk"
    def sample(self, seed, difficulty):
        rng = random.Random(seed)
        nums = [rng.randint(1, 9) for _ in range(difficulty)]
        nums.append(len(nums))
        return {"nums": nums, "label": "été_café"}
'''


@pytest.fixture
def envs(reg):
    walk = reg.add_candidate(CODE, name="graph_walk", description="Walk a graph; count the steps.",
                             max_difficulty=8)
    other = reg.add_candidate("class Other:\n    def sample(self, seed, difficulty):\n        return 100%7\n",
                              name="modulo", description="Remainders (mod p).", max_difficulty=3)
    return walk.id, other.id


@pytest.mark.parametrize("query, expect", [
    ("randint", "walk"),              # after a dot in the code: `rng.randint`
    ("rng.randint", "walk"),          # the dotted name as typed
    ("append nums", "walk"),          # every word, in any order
    ("graph_walk", "walk"),           # an identifier with underscores
    ("gra wal", "walk"),              # word beginnings
    ("Walk GRAPH", "walk"),           # case
    ("café", "walk"),                 # non-ASCII words
    ("été_café", "walk"),
    ("remainders", "other"),
    ("mod", "other"),                 # inside parentheses in the description
    ("%", "other"),                   # no word at all: the text as a substring
    ("randint remainders", None),     # words of two different environments
    ("andint", None),                 # the middle of a word is not a word's beginning
    ("'; DROP TABLE environments; --", None),
    ("a:* | b", None),                # tsquery / FTS5 syntax is text, not operators
])
def test_search_matches_words_on_both_backends(reg, envs, query, expect):
    walk, other = envs
    found = [r.id for r in reg.list_envs(search=query)]
    assert found == {"walk": [walk], "other": [other], None: []}[expect]
    assert reg.count_envs(search=query) == len(found)
    assert reg.count_envs() == 2  # nothing was dropped


def _plan(engine, sql: str, *, avoid: str) -> str:
    with engine.begin() as conn:
        conn.execute(text(f"SET LOCAL enable_{avoid} = off"))  # few rows: make the planner show its options
        return "\n".join(conn.execute(text(f"EXPLAIN {sql}")).scalars())


@pytest.mark.postgres
def test_postgres_search_uses_the_gin_index(_postgres_registry):
    _url, engine = _postgres_registry
    plan = _plan(engine, f"SELECT id FROM environments WHERE {PG_SEARCH_COLUMN} "
                         "@@ to_tsquery('simple'::regconfig, 'randint:*')", avoid="seqscan")
    assert "ix_environments_search_words" in plan, plan


@pytest.mark.postgres
@pytest.mark.parametrize("sort", ["reward", "pass_rate", "novelty"])
def test_postgres_best_first_sorts_walk_an_index_in_their_order(_postgres_registry, sort):
    _url, engine = _postgres_registry
    query = select(Environment.id).where(Environment.status == "admitted").order_by(*SORTS[sort]).limit(50)
    plan = _plan(engine, str(query.compile(engine, compile_kwargs={"literal_binds": True})), avoid="sort")
    assert f"ix_environments_{sort}_best_first" in plan and "Sort" not in plan, plan
