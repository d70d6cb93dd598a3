"""A registry with the ten seeds admitted, built once per session and copied per test
(admitting the seeds runs every mechanical stage and loads the embedding model)."""

from __future__ import annotations

import shutil

import pytest

from tests.grow.helpers import seed_registry


@pytest.fixture(scope="session")
def seeded_db_template(tmp_path_factory, sandbox):
    folder = tmp_path_factory.mktemp("seeded-registry")
    seed_registry(f"sqlite:///{folder / 'evoenv.db'}", sandbox)
    return folder / "evoenv.db"


@pytest.fixture
def seeded_db(seeded_db_template, tmp_path):
    """A private copy: (url, path)."""
    path = tmp_path / "evoenv.db"
    shutil.copyfile(seeded_db_template, path)
    for suffix in ("-wal", "-shm"):
        side = seeded_db_template.with_name(seeded_db_template.name + suffix)
        if side.exists():
            shutil.copyfile(side, path.with_name(path.name + suffix))
    return f"sqlite:///{path}", path


@pytest.fixture(scope="session")
def _pg_seeded_template(sandbox):
    """A PostgreSQL database with the seeds admitted, the template of each test's database."""
    from sqlalchemy.engine import make_url

    from tests.registry.conftest import PG_URL, PostgresServer

    server = PostgresServer(PG_URL)
    url = server.create()
    try:
        seed_registry(url, sandbox)
        yield server, make_url(url).database
    finally:
        server.drop(url)
        server.admin.dispose()


@pytest.fixture
def new_shared_db(request, tmp_path):
    """Makes registries that several grow processes share: fresh seeded PostgreSQL databases when
    EVOENV_TEST_PG_URL is set (CI sets it, and fails without it), else seeded SQLite files."""
    from tests.conftest import IN_CI, require
    from tests.registry.conftest import PG_URL

    made: list[str] = []
    if not PG_URL:
        require(not IN_CI, "EVOENV_TEST_PG_URL is not set (the shared-registry grow tests run on PostgreSQL)")
        template = request.getfixturevalue("seeded_db_template")

        def new() -> str:
            path = tmp_path / f"shared-{len(made)}.db"
            shutil.copyfile(template, path)
            for suffix in ("-wal", "-shm"):
                side = template.with_name(template.name + suffix)
                if side.exists():
                    shutil.copyfile(side, path.with_name(path.name + suffix))
            made.append(str(path))
            return f"sqlite:///{path}"

        yield new
        return
    server, template = request.getfixturevalue("_pg_seeded_template")

    def new() -> str:
        made.append(server.create(template=template))
        return made[-1]

    yield new
    for url in made:
        server.drop(url)


@pytest.fixture
def shared_db(new_shared_db):
    return new_shared_db()
