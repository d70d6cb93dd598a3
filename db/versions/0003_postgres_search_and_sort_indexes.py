"""PostgreSQL: full-text search, and indexes in the order of the best-first sorts.

Search: a stored tsvector of name, description and code, GIN-indexed.

SQLite has had its FTS5 table since 0001. On PostgreSQL the search was a
substring scan (ILIKE) of every row; it now matches word prefixes, as FTS5
does, against ``environments.search_words``, a generated column PostgreSQL
keeps up to date itself. The column is stored (not an index expression) so a
plan that filters rows in id order checks a ready tsvector instead of parsing
each row's code again.

Sorts: ``reward``, ``pass_rate`` and ``novelty`` list best first with NULLs
last. PostgreSQL sorts NULLs highest, so a backward walk of the (x, id)
b-trees of 0002 gives NULLs first and the planner sorted every matching row
instead; these indexes are in the sort's own order. (SQLite sorts NULLs lowest
and walks the 0002 indexes backwards.)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Punctuation becomes space first: PostgreSQL's parser would keep ``random.randint`` as one
# "host name" token, and a search for ``randint`` would miss it.
WORDS = ("to_tsvector('simple'::regconfig, regexp_replace("
         "coalesce(name, '') || ' ' || coalesce(description, '') || ' ' || coalesce(code, ''), "
         "'[[:punct:]]+', ' ', 'g'))")


BEST_FIRST = ("reward", "pass_rate", "novelty")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER TABLE environments ADD COLUMN search_words tsvector GENERATED ALWAYS AS ({WORDS}) STORED")
    op.execute("CREATE INDEX ix_environments_search_words ON environments USING gin (search_words)")
    for column in BEST_FIRST:
        op.execute(f"CREATE INDEX ix_environments_{column}_best_first ON environments "
                   f"({column} DESC NULLS LAST, id DESC)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for column in BEST_FIRST:
        op.execute(f"DROP INDEX IF EXISTS ix_environments_{column}_best_first")
    op.execute("DROP INDEX IF EXISTS ix_environments_search_words")
    op.execute("ALTER TABLE environments DROP COLUMN IF EXISTS search_words")
