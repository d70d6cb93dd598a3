"""Migrations: the schema they make is the models' schema; old schemas are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from evoenv.registry import RegistryError, SchemaOutOfDate, head_revision, open_registry, upgrade
from evoenv.registry.database import _alembic_config, make_engine
from evoenv.registry.models import Base


def _include_name(name, type_, parent_names):
    # Backend-specific parts live in the migrations only: SQLite's FTS5 tables; PostgreSQL's
    # tsvector column with its GIN index and the NULLS LAST sort indexes (0003).
    return not ((type_ == "table" and name.startswith("environments_fts"))
                or (type_ == "column" and name == "search_words")
                or (type_ == "index" and (name == "ix_environments_search_words" or name.endswith("_best_first"))))


def test_a_fresh_database_is_refused_until_upgraded(backend, db_url):
    if backend == "sqlite":
        with pytest.raises(SchemaOutOfDate, match="there is no registry database at .*run: evoenv init"):
            open_registry(db_url)
        assert not Path(db_url.removeprefix("sqlite:///")).exists()  # refusing did not create a file
        create_engine(db_url).connect().close()  # an empty file
    with pytest.raises(SchemaOutOfDate, match="has no registry schema; run: evoenv db upgrade"):
        open_registry(db_url)
    assert upgrade(db_url) == (None, head_revision())
    assert upgrade(db_url) == (head_revision(), head_revision())  # a second upgrade is a no-op
    reg = open_registry(db_url)
    assert reg.count_envs() == 0
    reg.close()


def test_migrated_schema_equals_the_models(db_url):
    upgrade(db_url)
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": _include_name})
            diff = compare_metadata(context, Base.metadata)
            tables = set(inspect(conn).get_table_names())
    finally:
        engine.dispose()
    assert diff == []
    assert set(Base.metadata.tables) <= tables


def test_an_older_or_unknown_revision_is_refused_with_the_fix(db_url):
    upgrade(db_url)
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0000_older'"))
    engine.dispose()
    with pytest.raises(SchemaOutOfDate, match=f"revision 0000_older, this evoenv needs {head_revision()}; "
                                              "run: evoenv db upgrade"):
        open_registry(db_url)
    with pytest.raises(RegistryError, match="cannot upgrade .*0000_older.*newer evoenv"):
        upgrade(db_url)


def test_downgrade_then_upgrade_round_trips(db_url):
    upgrade(db_url)
    engine = make_engine(db_url)
    with engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "base")
    with engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    with pytest.raises(SchemaOutOfDate):
        open_registry(db_url)
    reg = open_registry(db_url, upgrade_schema=True)
    env = reg.add_candidate("class A:\n    pass\n", name="a", description="searchable words", max_difficulty=2)
    assert [r.id for r in reg.list_envs(search="searchable")] == [env.id]
    reg.close()


def test_sqlite_settings(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    reg = open_registry(url, upgrade_schema=True)
    with reg.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL: a commit is on disk
    reg.close()


def test_bad_urls_are_named(tmp_path):
    with pytest.raises(RegistryError, match="not a database URL"):
        open_registry("no-scheme-here")
    with pytest.raises(RegistryError, match="there is no registry database at .*missing/dir/r.db"):
        open_registry(f"sqlite:///{tmp_path}/missing/dir/r.db")
    with pytest.raises(RegistryError, match="folder .*missing/dir does not exist"):
        upgrade(f"sqlite:///{tmp_path}/missing/dir/r.db")
    with pytest.raises(RegistryError, match="unsupported database 'mysql'"):
        open_registry("mysql://u:p@localhost/x")
    with pytest.raises(RegistryError, match=r"database error on postgresql\+psycopg://u:\*\*\*@127.0.0.1:9/x"):
        open_registry("postgresql://u:secret@127.0.0.1:9/x")
