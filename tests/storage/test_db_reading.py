"""Issue 18: on SQLite a transaction that only reads (``zhengji.storage.db.reading``) begins without the write lock;
every other transaction still begins ``IMMEDIATE``. Both share one pool of connections."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from zhengji.storage.db import make_engine, reading


def _no_waiting(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA busy_timeout=0")


def test_a_read_does_not_wait_for_a_writer_and_a_write_still_takes_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "z.db"
    engine = make_engine(f"sqlite:///{path}")
    event.listen(engine, "connect", _no_waiting)  # a wait for the lock fails at once instead of sleeping
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
        connection.execute(text("INSERT INTO t VALUES (1)"))
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO t VALUES (2)")
    try:
        with Session(reading(engine)) as session:
            assert session.exec(text("SELECT count(*) FROM t")).one() == (1,)  # type: ignore[call-overload]
        with pytest.raises(OperationalError, match="locked"), Session(engine) as session:
            session.exec(text("SELECT count(*) FROM t"))  # type: ignore[call-overload]
    finally:
        other.execute("COMMIT")
        other.close()
    with Session(reading(engine)) as session:
        assert session.exec(text("SELECT count(*) FROM t")).one() == (2,)  # type: ignore[call-overload]
    assert reading(engine).pool is engine.pool
    engine.dispose()
