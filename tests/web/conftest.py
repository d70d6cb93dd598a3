"""A registry on SQLite in a temporary folder, filled the way a short grow run fills it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # web_fill, web_sample_envs

import web_fill
from web_fill import ADMIN_TOKEN  # noqa: F401 - re-exported for the tests

from evoenv.registry import open_registry


@pytest.fixture(scope="session")
def registry_url(tmp_path_factory, sandbox, seed_sources) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('web-registry') / 'registry.db'}"
    with open_registry(url, upgrade_schema=True) as reg:
        web_fill.fill(reg, sandbox, seed_sources)
    return url


@pytest.fixture(scope="session")
def ids(registry_url) -> dict[str, int]:
    """name -> id of what web_fill.fill added (the newest one for a repeated name)."""
    with open_registry(registry_url) as reg:
        return {rec.name: rec.id for rec in reversed(reg.list_envs(sort="id", limit=1000))}
