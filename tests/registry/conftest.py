"""Every registry test runs on SQLite AND on a real PostgreSQL server.

``db_url`` is an empty database of its own (on PostgreSQL made through the server
and dropped afterwards); ``reg_url`` one at the newest schema with no rows (SQLite:
a copy of a template migrated once per session; PostgreSQL: one session database,
truncated before each test); ``reg`` an open ``Registry`` on it.
"""

from __future__ import annotations

import os
import shutil
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from evoenv.registry import open_registry, upgrade
from evoenv.registry.models import Base
from tests.conftest import require

PG_URL = os.environ.get("EVOENV_TEST_PG_URL")
BACKENDS = [pytest.param("sqlite", id="sqlite"), pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)]


class PostgresServer:
    """Makes and drops throwaway databases on the test server."""

    def __init__(self, url: str):
        self.url = make_url(url)
        self.admin = create_engine(self.url, isolation_level="AUTOCOMMIT")

    def create(self, template: str | None = None) -> str:
        name = f"evoenv_t_{uuid.uuid4().hex[:12]}"
        clause = f" TEMPLATE {template}" if template else ""
        with self.admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}{clause}"))
        return self.url.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        with self.admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture(scope="session")
def pg_server():
    if not PG_URL:
        require(False, "EVOENV_TEST_PG_URL is not set (a PostgreSQL server for the registry tests)")
    try:
        server = PostgresServer(PG_URL)
        with server.admin.connect():
            pass
    except Exception as exc:  # any failure means no usable server
        require(False, f"PostgreSQL at EVOENV_TEST_PG_URL is not reachable: {exc}")
    yield server
    server.admin.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def db_url(backend, request, tmp_path):
    """An empty database on the backend under test."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'registry.db'}"
        return
    server = request.getfixturevalue("pg_server")
    url = server.create()
    yield url
    server.drop(url)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("template") / "registry.db"
    upgrade(f"sqlite:///{path}")
    return str(path)


@pytest.fixture(scope="session")
def _postgres_registry(request):
    """One migrated database for the session; emptied before each test that uses it
    (TRUNCATE is far cheaper than CREATE/DROP DATABASE, which checkpoint the server)."""
    server = request.getfixturevalue("pg_server")
    url = server.create()
    upgrade(url)
    engine = create_engine(url)
    yield url, engine
    engine.dispose()
    server.drop(url)


@pytest.fixture
def reg_url(backend, request, tmp_path) -> str:
    """A database at the newest schema, with no rows."""
    if backend == "sqlite":
        path = tmp_path / "registry.db"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        return f"sqlite:///{path}"
    url, engine = request.getfixturevalue("_postgres_registry")
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    return url


@pytest.fixture
def reg(reg_url):
    registry = open_registry(reg_url)
    yield registry
    registry.close()
