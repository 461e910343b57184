"""Instance locks: one holder at a time, on PostgreSQL (advisory) and SQLite (a file), freed when the holder dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tests.conftest import fresh_postgres_database
from zhengji.storage.claims import worker_name
from zhengji.storage.db import make_engine
from zhengji.storage.locks import AdvisoryLock, FileLock, WriteGate, instance_lock

NAME = "imap:yanfa312@126.com/inbox"


def wait_until(condition: Callable[[], bool], what: str, seconds: float = 20.0) -> None:
    """Poll ``condition``; the bound only keeps a broken lock from hanging the suite."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds:g} s: {what}")
        time.sleep(0.05)


def test_one_holder_at_a_time_and_the_next_after_release(engine: Engine, tmp_path: Path) -> None:
    first, second = instance_lock(engine, tmp_path, NAME), instance_lock(engine, tmp_path, NAME)
    try:
        assert first.try_acquire()
        assert first.try_acquire()  # taking it again is a no-op for its holder
        assert not second.try_acquire()
        assert second.holder() == worker_name()  # whoever waits can say who watches
        assert first.still_held() and not second.still_held()
        first.release()
        assert not first.still_held()
        assert second.try_acquire()
        assert not first.try_acquire()
    finally:
        first.dispose()
        second.dispose()


def test_locks_of_different_folders_do_not_exclude_each_other(engine: Engine, tmp_path: Path) -> None:
    inbox, other = instance_lock(engine, tmp_path, NAME), instance_lock(engine, tmp_path, "imap:jnzx@gd.gov.cn/inbox")
    try:
        assert inbox.try_acquire() and other.try_acquire()
    finally:
        inbox.dispose()
        other.dispose()


def test_the_backend_follows_the_database(engine: Engine, tmp_path: Path) -> None:
    lock = instance_lock(engine, tmp_path, NAME)
    try:
        expected = AdvisoryLock if engine.dialect.name == "postgresql" else FileLock
        assert isinstance(lock, expected)
    finally:
        lock.dispose()


HOLDER = """
import sys
from pathlib import Path
from zhengji.storage.db import make_engine
from zhengji.storage.locks import instance_lock
lock = instance_lock(make_engine(sys.argv[1]), Path(sys.argv[2]), sys.argv[3])
assert lock.try_acquire()
print("held", flush=True)
sys.stdin.read()
"""


def test_a_holder_killed_with_sigkill_frees_the_lock(engine: Engine, tmp_path: Path) -> None:
    url = engine.url.render_as_string(hide_password=False)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, url, str(tmp_path), NAME],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": os.getcwd()},
        cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    survivor = instance_lock(engine, tmp_path, NAME)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        assert not survivor.try_acquire()
        holder.send_signal(signal.SIGKILL)  # no chance to let go: the kernel or the server must free it
        holder.wait()
        wait_until(survivor.try_acquire, "the survivor takes the lock of the killed holder")
        assert survivor.still_held()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        for stream in (holder.stdin, holder.stdout):
            if stream is not None:
                stream.close()
        survivor.dispose()


@pytest.fixture
def pg_engine(postgres_server: str) -> Iterator[Engine]:
    """An engine on a fresh PostgreSQL database (advisory locks are scoped to one database)."""
    engine = make_engine(fresh_postgres_database(postgres_server))
    yield engine
    engine.dispose()


@pytest.mark.postgres
def test_a_holder_whose_connection_is_cut_knows_it_lost_the_lock(pg_engine: Engine, tmp_path: Path) -> None:
    engine = pg_engine
    holder, other = instance_lock(engine, tmp_path, NAME), instance_lock(engine, tmp_path, NAME)
    try:
        assert holder.try_acquire()
        with engine.connect() as connection:  # as a DBA's pg_terminate_backend or a network cut would
            ended = connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND application_name LIKE 'zhengji lock %'"
                )
            ).all()
        assert ended == [(True,)]
        wait_until(other.try_acquire, "another instance takes the lock of the cut-off holder")
        assert not holder.still_held()
        assert not holder.try_acquire()  # and it does not take it back while the other holds it
    finally:
        holder.dispose()
        other.dispose()


def test_intake_writes_to_sqlite_before_the_pipeline_transactions_that_wait(tmp_path: Path) -> None:
    """The write gate of `serve` on SQLite: a mail waiting to be stored goes before the pipeline's steps."""
    url = f"sqlite:///{tmp_path / 'zhengji.db'}"
    shared, intake = make_engine(url), make_engine(url)
    gate = WriteGate()
    gate.install(shared, urgent=False)
    gate.install(intake, urgent=True)
    with shared.begin() as connection:
        connection.execute(text("CREATE TABLE steps (who TEXT)"))
    release = threading.Event()

    def write(engine: Engine, who: str, hold: threading.Event | None = None) -> None:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO steps VALUES (:who)"), {"who": who})
            if hold is not None:
                hold.wait(20)

    holder = threading.Thread(target=write, args=(shared, "running step", release))
    holder.start()
    wait_until(gate.held, "the running step holds the gate")
    steps = [threading.Thread(target=write, args=(shared, f"step {n}")) for n in (1, 2)]
    for step in steps:
        step.start()
    wait_until(lambda: gate.waiting() == (0, 2), "two more steps wait")
    mail = threading.Thread(target=write, args=(intake, "mail"))
    mail.start()
    wait_until(lambda: gate.waiting() == (1, 3), "a mail waits behind them")
    release.set()
    for thread in (holder, *steps, mail):
        thread.join(20)
    with shared.connect() as connection:
        order = [who for (who,) in connection.execute(text("SELECT who FROM steps ORDER BY rowid"))]
    assert order[:2] == ["running step", "mail"]  # the mail went first, though the steps waited longer
    assert sorted(order[2:]) == ["step 1", "step 2"]
    shared.dispose()
    intake.dispose()
