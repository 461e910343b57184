"""The database engine: one place that knows SQLite from PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlmodel import Session, create_engine


def make_engine(url: str, **options: Any) -> Engine:
    """An engine with the settings every connection must have.

    SQLite gets WAL (readers do not block the SMTP server's writes), ``synchronous=FULL`` (a committed row
    survives a power cut, which the SMTP ``250`` promises), foreign keys on, and a busy timeout so that several
    worker processes wait for each other instead of failing.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **options)
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINT; take it over (SQLAlchemy docs).
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, **options)


READING = "zhengji_reading"
"""The execution option that marks an engine's transactions as reads only (:func:`reading`)."""


def reading(engine: Engine) -> Engine:
    """The same engine (same pool, same connections) for transactions that only read.

    On SQLite every other transaction begins ``IMMEDIATE``, taking the database's one write lock at its start:
    a transaction that reads and then writes while another commits would otherwise fail at once with "database
    is locked", ignoring the busy timeout. A read needs no lock in WAL mode (it sees the last commit before it
    began), but begun ``IMMEDIATE`` it waited behind every writer, and behind the busy handler's sleeps of 1 to
    100 ms after the writer was done (issue 18: a chat's status waited for the code requests and the code mail
    sender of a burst). A transaction of this engine begins ``DEFERRED``; it must not write (a write could fail
    at once under contention, which is why the default stays ``IMMEDIATE``). PostgreSQL ignores the option.
    """
    return engine.execution_options(**{READING: True})


def _sqlite_begin(connection: Connection) -> None:
    """``BEGIN IMMEDIATE``, or ``BEGIN`` for an engine of :func:`reading`."""
    connection.exec_driver_sql("BEGIN" if connection.get_execution_options().get(READING) else "BEGIN IMMEDIATE")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    with Session(engine) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
