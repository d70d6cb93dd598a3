"""Full-text search on PostgreSQL: a stored tsvector of name, description and code, GIN-indexed.

SQLite has had its FTS5 table since 0001. On PostgreSQL the search was a
substring scan (ILIKE) of every row; it now matches word prefixes, as FTS5
does, against ``environments.search_words``, a generated column PostgreSQL
keeps up to date itself. The column is stored (not an index expression) so a
plan that filters rows in id order checks a ready tsvector instead of parsing
each row's code again.

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


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE environments ADD COLUMN search_words tsvector GENERATED ALWAYS AS ({WORDS}) STORED")
        op.execute("CREATE INDEX ix_environments_search_words ON environments USING gin (search_words)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_environments_search_words")
        op.execute("ALTER TABLE environments DROP COLUMN IF EXISTS search_words")
