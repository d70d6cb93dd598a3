"""Search: listing and counting environments by status, origin, tag and words (the SQLite
full-text index or PostgreSQL's tsvector column), in the sort orders of ``SORTS``."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import ColumnElement, column, func, or_, select, table
from sqlalchemy import text as sql_text

from evoenv.registry.core import RegistryCore, check
from evoenv.registry.database import FTS_TABLE, PG_SEARCH_COLUMN
from evoenv.registry.models import ORIGINS, STATUSES, Environment, EnvironmentTag
from evoenv.registry.records import EnvRecord

#: Sort keys of ``list_envs``. "created" is newest first by insertion order (ids only grow),
#: which every filter index can serve without a sort.
SORTS = {
    "created": (Environment.id.desc(),),
    "id": (Environment.id.asc(),),
    "name": (Environment.name.asc(), Environment.id.asc()),
    "generation": (Environment.generation.desc(), Environment.id.desc()),
    "reward": (Environment.reward.desc().nulls_last(), Environment.id.desc()),
    "difficulty": (Environment.max_difficulty.desc(), Environment.id.desc()),
    # Best first; environments never calibrated / never novelty-checked go last on every backend.
    "pass_rate": (Environment.pass_rate.desc().nulls_last(), Environment.id.desc()),
    "novelty": (Environment.novelty.desc().nulls_last(), Environment.id.desc()),
}
#: The SQLite full-text index (made by the migration; not a model, so autogenerate leaves it alone).
FTS = table(FTS_TABLE, column("rowid"))


def search_words(text: str) -> list[str]:
    """The user's words: runs of letters, digits and underscores holding a letter or digit."""
    return re.findall(r"\w*[^\W_]\w*", text)


def fts_query(text: str) -> str | None:
    """The user's words as an SQLite FTS5 query: every word must appear, as a word's beginning."""
    words = search_words(text)
    return " ".join(f'"{word}"*' for word in words) if words else None


def tsquery(text: str) -> str | None:
    """The same for PostgreSQL's ``to_tsquery``: ``word:*`` ANDed (``a_b:*`` becomes a phrase)."""
    words = search_words(text)
    return " & ".join(f"{word}:*" for word in words) if words else None


def like_pattern(word: str) -> str:
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class Search(RegistryCore):
    def _filters(self, status: str | None, origin: str | None, tag: str | None,
                 search: str | None = None) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if status is not None:
            check(status in STATUSES, f"status must be one of {', '.join(STATUSES)}, got {status!r}")
            where.append(Environment.status == status)
        if origin is not None:
            check(origin in ORIGINS, f"origin must be one of {', '.join(ORIGINS)}, got {origin!r}")
            where.append(Environment.origin == origin)
        if tag is not None:
            # EXISTS (not IN): walking environments newest first stops after ``limit`` hits.
            where.append(select(EnvironmentTag.env_id).where(EnvironmentTag.env_id == Environment.id,
                                                            EnvironmentTag.tag == tag).exists())
        if search:
            where.append(self._search_clause(search))
        return where

    def _search_clause(self, text: str) -> ColumnElement[bool]:
        if self.dialect == "sqlite" and (query := fts_query(text)) is not None:
            return Environment.id.in_(sql_text(
                f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :fts_query"
            ).bindparams(fts_query=query))
        if self.dialect == "postgresql" and (query := tsquery(text)) is not None:
            clause: Any = sql_text(f"{PG_SEARCH_COLUMN} @@ to_tsquery('simple'::regconfig, :ts_query)"
                                   ).bindparams(ts_query=query)
            return clause  # a TextClause serves as a WHERE condition
        # No word in the text (e.g. "%"): the text itself, as a substring of name, description or code.
        return or_(*(field.ilike(like_pattern(text), escape="\\")
                     for field in (Environment.name, Environment.description, Environment.code)))

    def list_envs(self, status: str | None = None, origin: str | None = None, tag: str | None = None,
                  search: str | None = None, sort: str = "created", limit: int = 50,
                  offset: int = 0) -> list[EnvRecord]:
        """Environments matching every given filter. ``search`` matches words in the name,
        description or code: each of its words must begin a word there (full-text index)."""
        check(sort in SORTS, f"sort must be one of {', '.join(SORTS)}, got {sort!r}")
        check(isinstance(limit, int) and limit >= 0, f"limit must be an int >= 0, got {limit!r}")
        check(isinstance(offset, int) and offset >= 0, f"offset must be an int >= 0, got {offset!r}")
        fts = fts_query(search) if search and self.dialect == "sqlite" else None
        with self._tx() as s:
            if fts is not None and sort == "created":
                # Newest matches first, straight from the full-text index in rowid order.
                query = (select(Environment).join(FTS, FTS.c.rowid == Environment.id)
                         .where(sql_text(f"{FTS_TABLE} MATCH :fts_query").bindparams(fts_query=fts),
                                *self._filters(status, origin, tag))
                         .order_by(FTS.c.rowid.desc()))
            else:
                query = select(Environment).where(*self._filters(status, origin, tag, search)).order_by(*SORTS[sort])
            return [EnvRecord.from_row(env) for env in s.scalars(query.limit(limit).offset(offset))]

    def count_envs(self, status: str | None = None, origin: str | None = None, tag: str | None = None,
                   search: str | None = None) -> int:
        with self._tx() as s:
            query = select(func.count()).select_from(Environment).where(*self._filters(status, origin, tag, search))
            return int(s.scalar(query) or 0)

    def status_counts(self, run_id: int | None = None) -> dict[str, int]:
        """How many environments have each status (only those a run proposed, when given)."""
        with self._tx() as s:
            query = select(Environment.status, func.count()).group_by(Environment.status)
            if run_id is not None:
                query = query.where(Environment.run_id == run_id)
            counts = {status: int(n) for status, n in s.execute(query)}
        return {status: counts.get(status, 0) for status in STATUSES}
