"""Alembic environment for the registry.

Run through ``evoenv db upgrade`` (which hands over an open connection), or by
hand for new revisions: ``alembic -c db/alembic.ini revision --autogenerate -m "..."``
with ``EVOENV_DB`` pointing at an up-to-date database.
"""

from __future__ import annotations

from alembic import context

from evoenv.registry.database import FTS_TABLE, database_url, make_engine
from evoenv.registry.models import Base

target_metadata = Base.metadata


def include_name(name, type_, parent_names):
    # The SQLite full-text index (a virtual table and its shadow tables) is made by
    # hand in the migrations; autogenerate must not try to drop it.
    if type_ == "table" and name and name.startswith(FTS_TABLE):
        return False
    return True


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_name=include_name,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(database_url(context.config.get_main_option("sqlalchemy.url") or None))
    with engine.connect() as connection:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run: evoenv db upgrade")
run_migrations_online()
