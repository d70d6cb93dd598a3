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
