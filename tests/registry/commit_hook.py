"""Stop or break a registry write just before it commits, through SQLAlchemy's public events (the
registry has no test hook of its own)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import event


def before_write_commit(reg, hook: Callable[[], None]) -> Callable[[], None]:
    """Call ``hook()`` inside each write transaction of ``reg``, after its changes are flushed and while
    it holds the write lock, just before the commit; returns a function that removes the hook. Write
    transactions are the ones that take the lock up front (``database.writer``)."""

    def on_commit(connection) -> None:
        if connection.get_execution_options().get("sqlite_begin") == "IMMEDIATE":
            hook()

    event.listen(reg.engine, "commit", on_commit)
    return lambda: event.remove(reg.engine, "commit", on_commit)
