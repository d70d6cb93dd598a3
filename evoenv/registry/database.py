"""Opening the registry database: URL, engine settings, schema version, migrations.

SQLite runs in WAL mode with a busy timeout and foreign keys on; every write
transaction starts with ``BEGIN IMMEDIATE`` so two writers queue on the lock
instead of failing when one upgrades a read to a write. PostgreSQL is reached
through psycopg (``postgresql+psycopg://``) with a lock timeout of the same length.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from evoenv.paths import migrations_dir

if TYPE_CHECKING:
    from alembic.config import Config

DEFAULT_URL = "sqlite:///evoenv.db"
#: Seconds a writer waits for another writer's lock before giving up with RegistryLocked.
DEFAULT_LOCK_TIMEOUT_S = 30.0
#: Names of the SQLite full-text index and its shadow tables (made by the migration, not the models).
FTS_TABLE = "environments_fts"
#: PostgreSQL's searchable words: a generated tsvector column with a GIN index (migration 0003).
PG_SEARCH_COLUMN = "environments.search_words"


class RegistryError(RuntimeError):
    """Base class of the registry's own errors (the CLI prints them as one line)."""


class SchemaOutOfDate(RegistryError):
    """The database's schema is not the one this version of evoenv needs."""


class RegistryLocked(RegistryError):
    """Another process held the database lock for longer than the lock timeout."""


def database_url(url: str | None = None) -> str:
    return url or os.environ.get("EVOENV_DB") or DEFAULT_URL


def describe_url(url: str) -> str:
    """The URL with any password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def lock_timeout_s() -> float:
    raw = os.environ.get("EVOENV_DB_LOCK_TIMEOUT")
    if raw is None:
        return DEFAULT_LOCK_TIMEOUT_S
    try:
        return float(raw)
    except ValueError:
        raise RegistryError(f"EVOENV_DB_LOCK_TIMEOUT={raw!r} is not a number of seconds") from None


def sqlite_synchronous() -> str:
    """FULL (default): every commit is on disk before it returns. NORMAL: commits survive a
    crashed process but the last ones may be lost on power failure; about 4 ms faster per commit."""
    value = os.environ.get("EVOENV_SQLITE_SYNC", "FULL").upper()
    if value not in ("FULL", "NORMAL"):
        raise RegistryError(f"EVOENV_SQLITE_SYNC={value!r}: use FULL or NORMAL")
    return value


def make_engine(url: str | None = None, *, lock_timeout: float | None = None) -> Engine:
    url = database_url(url)
    timeout = lock_timeout_s() if lock_timeout is None else lock_timeout
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise RegistryError(f"{url!r} is not a database URL (e.g. sqlite:///evoenv.db or "
                            "postgresql+psycopg://user:pass@host/db)") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed, timeout)
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        ms = int(timeout * 1000)
        return create_engine(parsed, pool_pre_ping=True,
                             connect_args={"options": f"-c lock_timeout={ms} -c statement_timeout=0"})
    raise RegistryError(f"unsupported database {backend!r} in {describe_url(url)}: use sqlite:// or postgresql://")


def _sqlite_engine(parsed: URL, timeout: float) -> Engine:
    database = parsed.database
    if database and database != ":memory:":
        parent = Path(database).expanduser().resolve().parent
        if not parent.is_dir():
            raise RegistryError(f"cannot open the registry at {database}: folder {parent} does not exist")
    synchronous = sqlite_synchronous()
    engine = create_engine(parsed, connect_args={"timeout": timeout})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN, not the sqlite3 module.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        # Read big scans (the embedding matrix) through a memory map, and keep a warm page cache.
        cursor.execute("PRAGMA mmap_size=268435456")
        cursor.execute("PRAGMA cache_size=-32768")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def writer(engine: Engine) -> Engine:
    """The same engine, but its transactions take the write lock up front on SQLite."""
    return engine.execution_options(sqlite_begin="IMMEDIATE")


# ---- migrations -------------------------------------------------------------------------

def _alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    if head is None:
        raise RegistryError(f"no migrations in {migrations_dir()}: the installation is incomplete")
    return head


def current_revision(engine: Engine) -> str | None:
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(url: str | None = None) -> tuple[str | None, str]:
    """Apply every pending migration; returns (revision before, revision after)."""
    from alembic import command
    from alembic.util import CommandError

    engine = make_engine(url)
    try:
        before = current_revision(engine)
        with writer(engine).begin() as conn:
            command.upgrade(_alembic_config(conn), "head")
        after = current_revision(engine)
        if after is None:
            raise RegistryError(f"{describe_url(str(engine.url))} has no schema revision after the upgrade")
        return before, after
    except DBAPIError as exc:
        raise translate(exc, engine) from None
    except CommandError as exc:
        raise RegistryError(f"cannot upgrade {describe_url(str(engine.url))}: {exc} "
                            "(is it a database made by a newer evoenv?)") from None
    finally:
        engine.dispose()


def check_schema(engine: Engine) -> None:
    """Raise SchemaOutOfDate unless the database is at the newest migration."""
    where = describe_url(str(engine.url))
    try:
        current = current_revision(engine)
    except DBAPIError as exc:
        raise translate(exc, engine) from None
    head = head_revision()
    if current == head:
        return
    if current is None:
        tables = inspect(engine).get_table_names()
        state = "has no registry schema" if not tables else "has tables but no registry schema version"
        raise SchemaOutOfDate(f"the database {where} {state}; run: evoenv db upgrade")
    raise SchemaOutOfDate(f"the database {where} is at schema revision {current}, this evoenv needs {head}; "
                          "run: evoenv db upgrade")


def translate(exc: DBAPIError, engine: Engine) -> RegistryError:
    """A clear RegistryError for the operational failures a user can act on."""
    text = str(exc.orig) if exc.orig is not None else str(exc)
    where = describe_url(str(engine.url))
    lowered = text.lower()
    if "database is locked" in lowered or "lock timeout" in lowered or "could not obtain lock" in lowered:
        return RegistryLocked(f"the database {where} is locked by another writer (waited "
                              f"{lock_timeout_s():g} s; set EVOENV_DB_LOCK_TIMEOUT to wait longer)")
    if "unable to open database" in lowered:
        return RegistryError(f"cannot open the database {where}: {text}")
    return RegistryError(f"database error on {where}: {text.strip().splitlines()[0] if text.strip() else exc}")
