"""Every registry test runs on SQLite AND on a real PostgreSQL server.

``db_url`` is an empty database; ``reg_url`` one already migrated to the newest
schema (copied from a template made once per session, which is much faster
than migrating each time); ``reg`` an open ``Registry`` on it. On PostgreSQL each
test gets its own database, made through the server and dropped afterwards.
"""

from __future__ import annotations

import os
import shutil
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from evoenv.registry import open_registry, upgrade
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
    except Exception as exc:  # noqa: BLE001 - any failure means no usable server
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
def _postgres_template(request):
    server = request.getfixturevalue("pg_server")
    url = server.create()
    upgrade(url)
    yield make_url(url).database
    server.drop(url)


@pytest.fixture
def reg_url(backend, request, tmp_path) -> str:
    """A database already at the newest schema."""
    if backend == "sqlite":
        path = tmp_path / "registry.db"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    server = request.getfixturevalue("pg_server")
    url = server.create(template=request.getfixturevalue("_postgres_template"))
    yield url
    server.drop(url)


@pytest.fixture
def reg(reg_url):
    registry = open_registry(reg_url)
    yield registry
    registry.close()
