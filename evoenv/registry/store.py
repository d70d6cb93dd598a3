"""``Registry``: the one API through which the platform reads and writes the registry.

One facade over the parts, one module per concern (all share ``core.RegistryCore``):
``candidates`` (storing proposals, finding one environment), ``evidence`` (stage results,
reviews, calibration, embeddings), ``decisions`` (admit / reject / retire / quarantine,
under the admission lock), ``search`` (list and count), ``lineage``, ``pool`` (the training
pool) and ``runs`` (runs, usage, the funnel). Every public method is one transaction.
"""

from __future__ import annotations

from pathlib import Path
from typing import Self

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from evoenv.registry.candidates import Candidates
from evoenv.registry.core import EVER_ADMITTED, UnknownEnvironment, UnknownRun
from evoenv.registry.database import SchemaOutOfDate, check_schema, database_url, make_engine, upgrade
from evoenv.registry.decisions import ADMISSION_LOCK, AdmissionGate, AdmittedView, Decisions
from evoenv.registry.evidence import Evidence
from evoenv.registry.lineage import Lineages
from evoenv.registry.pool import TrainingPool
from evoenv.registry.runs import Runs
from evoenv.registry.search import SORTS, Search

__all__ = ["ADMISSION_LOCK", "EVER_ADMITTED", "SORTS", "AdmissionGate", "AdmittedView", "Registry",
           "UnknownEnvironment", "UnknownRun", "open_registry"]


class Registry(Candidates, Evidence, Decisions, Search, Lineages, TrainingPool, Runs):
    """The registry on one database. Use ``open_registry()`` to get one."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_registry(url: str | None = None, *, upgrade_schema: bool = False) -> Registry:
    """The registry at ``url`` (default ``$EVOENV_DB``, else ``sqlite:///evoenv.db``).

    Refuses a database whose schema is not the newest, naming ``evoenv db upgrade``;
    ``upgrade_schema=True`` applies the migrations first (what ``evoenv init`` does).
    """
    if upgrade_schema:
        upgrade(url)
    else:
        _refuse_missing_sqlite_file(url)
    engine = make_engine(url)
    try:
        check_schema(engine)
    except BaseException:
        engine.dispose()
        raise
    return Registry(engine)


def _refuse_missing_sqlite_file(url: str | None) -> None:
    """Opening a SQLite file creates it; don't leave an empty one behind a typo'd path."""
    full = database_url(url)
    try:
        parsed = make_url(full)
    except ArgumentError:
        return  # make_engine names the problem
    database = parsed.database
    missing = database not in (None, "", ":memory:") and not Path(str(database)).expanduser().exists()
    if parsed.get_backend_name() == "sqlite" and missing:
        raise SchemaOutOfDate(f"there is no registry database at {database}; run: evoenv init (or evoenv db upgrade)")
