"""What every part of the Registry shares: the engine, one transaction per public method,
the look-ups of an environment or run by id, and the checks on values coming in.

Writes on SQLite take the write lock at BEGIN (``BEGIN IMMEDIATE``, the ``writer`` engine);
reads use the plain engine.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from evoenv.registry.database import RegistryError, describe_url, translate, writer
from evoenv.registry.models import Environment, Run

#: Statuses whose environments once passed admission (novelty compares against these).
EVER_ADMITTED = ("admitted", "retired")


class UnknownEnvironment(RegistryError, LookupError):
    """No environment has that id, name or hash."""


class UnknownRun(RegistryError, LookupError):
    """No run has that id."""


def check(condition: bool, message: str) -> None:
    """Refuse bad input with a RegistryError naming it."""
    if not condition:
        raise RegistryError(message)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def json_doc(value: Any, what: str) -> Any:
    """A JSON-clean copy of ``value`` (numpy scalars allowed), or a clear error naming ``what``."""
    try:
        return json.loads(json.dumps(value if value is not None else {}, default=_json_default, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise RegistryError(f"{what} is not JSON data: {exc}") from None


def finite(value: Any, what: str) -> float | None:
    """``value`` as a finite float (None stays None), or a clear error naming ``what``."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise RegistryError(f"{what} must be a number, got {value!r}") from None
    check(math.isfinite(number), f"{what} must be finite, got {value!r}")
    return number


class RegistryCore:
    """The engine and its sessions; the parts of ``Registry`` build on this."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.dialect = engine.dialect.name
        self._read = sessionmaker(bind=engine, expire_on_commit=False)
        self._write = sessionmaker(bind=writer(engine), expire_on_commit=False)

    @property
    def url(self) -> str:
        return describe_url(str(self.engine.url))

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _tx(self, operation: str | None = None) -> Iterator[Session]:
        """One transaction: a write one when ``operation`` names it, else a read one."""
        maker = self._write if operation else self._read
        try:
            with maker() as session, session.begin():
                yield session
        except (OperationalError, ProgrammingError) as exc:
            raise translate(exc, self.engine) from None

    def _env(self, session: Session, env_id: int, lock: bool = False) -> Environment:
        check(isinstance(env_id, int) and not isinstance(env_id, bool), f"environment id must be an int, got {env_id!r}")
        query = select(Environment).where(Environment.id == env_id)
        if lock:
            query = query.with_for_update()
        env = session.scalars(query).one_or_none()
        if env is None:
            raise UnknownEnvironment(f"no environment with id {env_id} in {self.url}")
        return env

    def _run_exists(self, session: Session, run_id: int | None) -> None:
        if run_id is not None and session.get(Run, run_id) is None:
            raise UnknownRun(f"no run with id {run_id} in {self.url}")
