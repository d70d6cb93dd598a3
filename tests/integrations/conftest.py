from __future__ import annotations

import pytest

from evoenv.integrations import rescore
from evoenv.integrations.catalog import Catalog
from evoenv.integrations.rescore import RowScorer


@pytest.fixture
def seeds_only_catalog(tmp_path, monkeypatch):
    """A catalog whose registry database does not exist: only the seeds are known."""
    url = f"sqlite:///{tmp_path / 'absent.db'}"
    monkeypatch.setenv("EVOENV_DB", url)
    return Catalog(url)


@pytest.fixture
def scorer_for(sandbox, monkeypatch):
    """Point the process-wide scorer (used by verl/TRL/gym entry points) at a given catalog."""

    def install(catalog: Catalog) -> RowScorer:
        scorer = RowScorer(catalog, sandbox)
        monkeypatch.setattr(rescore, "_default", scorer)
        return scorer

    return install
