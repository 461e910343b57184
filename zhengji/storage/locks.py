"""Locks that make one instance among several do a job that must be done once: watching an IMAP folder.

Two watchers of one folder would each fetch every new mail; the ``messages`` table's unique (mailbox,
UIDVALIDITY, UID) keeps the second copy out, but both would still download, log and flag everything, and on a
126.com account two IMAP sessions from two addresses invite a security lock. So the watching instance holds a
lock named after the folder, and the others wait and try again every few seconds
(``ZHENGJI_IMAP_LOCK_RETRY_SECONDS``).

* On PostgreSQL (several machines) the lock is a session-level advisory lock (``pg_try_advisory_lock``) held on a
  connection of its own. No lease needs renewing and no row is left behind: when the process dies, or its host
  or network does, the server ends its session and the lock is free for the next instance's retry. A holder
  learns that it lost the lock (its connection was cut, the server restarted) at its next :meth:`still_held`.
* On SQLite (one machine, one data directory) it is a ``flock`` on a file in the data directory, which the
  kernel frees when the holding process ends, however it ends. Locks of one process exclude each other too
  (``flock`` belongs to the open file), so two watchers in one process behave as two processes would.

Each holder writes who it is (``host:pid@start``, as claims name workers) where the others can read it, so
that the log of a waiting instance says which one watches.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import threading
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from zhengji.storage.claims import worker_name

log = logging.getLogger(__name__)

# The PostgreSQL application_name a holder's lock connection carries, which is how a waiting instance finds out
# who holds the lock (pg_stat_activity); the key itself travels in pg_locks.
APPLICATION_PREFIX = "zhengji lock "


def lock_key(name: str) -> int:
    """A signed 64-bit advisory-lock key derived from ``name``, the same in every process and on every host."""
    digest = hashlib.sha256(f"zhengji:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class InstanceLock(ABC):
    """A lock on a job shared by every instance that points at the same database (or data directory)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.owner = worker_name()
        self._mutex = threading.Lock()

    @abstractmethod
    def try_acquire(self) -> bool:
        """Take the lock if it is free (or already ours); never waits for another holder."""

    @abstractmethod
    def still_held(self) -> bool:
        """Whether this instance still holds the lock; False once it was lost (its connection ended)."""

    @abstractmethod
    def release(self) -> None:
        """Let go of the lock (safe when not held)."""

    @abstractmethod
    def holder(self) -> str | None:
        """Who holds the lock now, as that holder described itself; None when free or unknown."""

    def __enter__(self) -> InstanceLock:
        return self

    def __exit__(self, *_: object) -> None:
        self.release()


class AdvisoryLock(InstanceLock):
    """A PostgreSQL session-level advisory lock on a dedicated connection (see the module docstring).

    The connection comes from an engine of its own without a pool, so that letting go of it really closes it:
    a pooled connection handed back would keep the session, and with it the lock, alive.
    """

    def __init__(self, engine: Engine, name: str) -> None:
        super().__init__(name)
        self.key = lock_key(name)
        self._application = (APPLICATION_PREFIX + self.owner)[:63]  # PostgreSQL keeps 63 bytes of it
        self._engine = create_engine(
            engine.url,
            poolclass=NullPool,
            isolation_level="AUTOCOMMIT",
            connect_args={"application_name": self._application, "connect_timeout": 10},
        )
        self._connection: Connection | None = None

    def try_acquire(self) -> bool:
        with self._mutex:
            if self._connection is not None:
                return self._alive()
            try:
                connection = self._engine.connect()
            except SQLAlchemyError as error:
                log.warning("cannot reach the database to take the lock %s: %s", self.name, error)
                return False
            try:
                taken = bool(connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}).scalar())
            except SQLAlchemyError as error:
                log.warning("cannot take the lock %s: %s", self.name, error)
                taken = False
            if not taken:
                with contextlib.suppress(SQLAlchemyError):
                    connection.close()
                return False
            self._connection = connection
            return True

    def still_held(self) -> bool:
        with self._mutex:
            return self._connection is not None and self._alive()

    def _alive(self) -> bool:
        """Ask the server (one round trip) whether our session still holds the key; forget a dead connection."""
        assert self._connection is not None
        try:
            held = self._connection.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid()"
                    " AND classid::bigint = :high AND objid::bigint = :low AND objsubid = 1"
                ),
                _split(self.key),
            ).scalar()
        except SQLAlchemyError:
            held = 0
        if held:
            return True
        self._drop()
        return False

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.invalidate()
                connection.close()

    def release(self) -> None:
        with self._mutex:
            if self._connection is None:
                return
            with contextlib.suppress(SQLAlchemyError):
                self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
            self._drop()  # closing the session would free the lock anyway; unlocking first says so at once

    def holder(self) -> str | None:
        try:
            with self._engine.connect() as connection:
                found = connection.execute(
                    text(
                        "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                        " WHERE l.locktype = 'advisory' AND l.granted AND l.classid::bigint = :high"
                        " AND l.objid::bigint = :low AND l.objsubid = 1"
                    ),
                    _split(self.key),
                ).scalar()
        except SQLAlchemyError:
            return None
        return str(found).removeprefix(APPLICATION_PREFIX) if found else None

    def dispose(self) -> None:
        """Release, and close the lock's engine."""
        self.release()
        self._engine.dispose()


def _split(key: int) -> dict[str, int]:
    """The two 32-bit halves pg_locks shows a bigint advisory key as (``classid`` high, ``objid`` low)."""
    unsigned = key & 0xFFFFFFFFFFFFFFFF
    return {"high": unsigned >> 32, "low": unsigned & 0xFFFFFFFF}


class FileLock(InstanceLock):
    """An exclusive ``flock`` on ``directory/NAME-KEY.lock``; the file holds the holder's name."""

    def __init__(self, directory: Path, name: str) -> None:
        super().__init__(name)
        self.path = directory / f"{_file_stem(name)}-{lock_key(name) & 0xFFFFFFFFFFFFFFFF:016x}.lock"
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        with self._mutex:
            if self._fd is not None:
                return True
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            except BaseException:
                os.close(fd)
                raise
            os.ftruncate(fd, 0)
            os.pwrite(fd, self.owner.encode(), 0)
            self._fd = fd
            return True

    def still_held(self) -> bool:
        # The kernel keeps a flock as long as the file is open; nothing can take it from a live process.
        return self._fd is not None

    def release(self) -> None:
        with self._mutex:
            fd, self._fd = self._fd, None
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, 0)
                os.close(fd)  # closing the file lets go of the flock

    def holder(self) -> str | None:
        try:
            found = self.path.read_text(errors="replace").strip()
        except OSError:
            return None
        return found or None

    def dispose(self) -> None:
        self.release()


def _file_stem(name: str) -> str:
    """A readable, safe file name part for ``name`` (the key beside it keeps names apart)."""
    safe = "".join(char if char.isalnum() or char in "-_." else "_" for char in name)
    return safe[:80] or "lock"


def instance_lock(engine: Engine, directory: Path, name: str) -> AdvisoryLock | FileLock:
    """The lock for ``name`` that fits the database: advisory on PostgreSQL, a file in ``directory`` on SQLite."""
    if engine.dialect.name == "postgresql":
        return AdvisoryLock(engine, name)
    return FileLock(directory, name)


class WriteGate:
    """One SQLite write transaction at a time within this process, and intake's first.

    SQLite has one write lock per database, and zhengji takes it at the start of every transaction (``BEGIN
    IMMEDIATE``, see :mod:`zhengji.storage.db`). SQLite's busy handler lets waiters sleep and poll, which is not
    fair: during a burst the pipeline's threads, each starting a transaction as soon as the last ended, kept
    taking the lock while the SMTP server's group commit slept, and intake fell to a tenth of its rate alone (a
    profile showed its thread waiting in ``BEGIN`` three quarters of the time). The gate queues the process's
    transactions in Python instead, and an urgent one (intake: the SMTP server, the IMAP watcher) goes before every
    other that waits, so a mail is stored as soon as the transaction before it ends; the pipeline catches up
    between commits and after the burst.

    A thread that already holds the gate passes (nested sessions behave as without it), and a waiter that waited
    ``timeout`` seconds (SQLite's own busy timeout) takes the gate over and leaves the rest to SQLite's locking, so
    the gate can only ever reorder transactions, never deadlock them. PostgreSQL needs none of this: it locks rows,
    not the database.

    ``between_processes`` (the database's path) extends the gate to the processes of one ``serve``: its mailbox
    workers run in a child process, at a lower priority, and SQLite's busy handler would again let intake sleep
    (1 to 100 ms a time) while the child's transactions came and went. The holder of a process's gate then also
    takes ``PATH.write-gate`` (an exclusive ``flock``, which the kernel hands to a waiter as it is released, and
    frees when a process dies), after queueing at ``PATH.write-next``, which it lets go as soon as it holds the
    gate: a process waiting for the gate holds the queue, so the other process can run at most the transaction it
    is in before its turn, and intake waits for at most one of the workers' transactions. Other processes (the
    command line, a second ``serve``) still meet SQLite's busy handler, as before.
    """

    def __init__(self, timeout: float = 30.0, *, between_processes: Path | None = None) -> None:
        self.timeout = timeout
        self._files: tuple[int, int] | None = None  # (queue, gate): the open lock files, when between processes
        if between_processes is not None:
            self._files = (_lock_file(f"{between_processes}.write-next"), _lock_file(f"{between_processes}.write-gate"))
        self._file_held = False  # whether this process holds the gate file (taken by the owner, freed on opening)
        self._condition = threading.Condition()
        self._owner: int | None = None  # the thread that holds the gate
        self._connections: set[int] = set()  # the connections whose transactions hold it
        self._urgent_waiting = 0
        self._waiting = 0

    def install(self, engine: Engine, *, urgent: bool) -> None:
        """Gate every transaction of ``engine``; ``urgent`` for intake's engine."""
        from sqlalchemy import event

        # The gate must be passed before the engine's own listener sends BEGIN IMMEDIATE (which takes SQLite's
        # lock), so the listeners already there are put back after it (``insert=True`` is not honoured for
        # engine events). A transaction is known by its pooled connection, which the dialect's commit is handed.
        existing = list(engine.dispatch.begin)
        for listener in existing:
            event.remove(engine, "begin", listener)
        event.listen(engine, "begin", lambda connection: self.enter(id(connection.connection), urgent=urgent))
        for listener in existing:
            event.listen(engine, "begin", listener)
        # A rollback writes nothing: the gate may open as it starts. A commit must have finished (its WAL fsync)
        # before the next transaction begins, or that one would meet SQLite's lock and its busy handler's sleeps
        # of up to 100 ms: so the gate opens after the dialect's commit, which has no event of its own.
        event.listen(engine, "rollback", lambda connection: self.leave(id(connection.connection)))
        commit = engine.dialect.do_commit

        def do_commit(dbapi_connection: Any) -> None:
            try:
                commit(dbapi_connection)
            finally:
                self.leave(id(dbapi_connection))

        engine.dialect.do_commit = do_commit  # type: ignore[method-assign]

    def enter(self, key: int, *, urgent: bool) -> None:
        me = threading.get_ident()
        with self._condition:
            if self._owner == me or key in self._connections:
                self._connections.add(key)
                return
            if urgent:
                self._urgent_waiting += 1
            self._waiting += 1
            deadline = time.monotonic() + self.timeout
            try:
                while self._owner is not None or (not urgent and self._urgent_waiting):
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        # A holder that never left (its BEGIN failed after it entered) or a transaction that runs
                        # that long: either way, SQLite's own locking decides from here.
                        log.warning("waited %g s for the database write gate; taking it over", self.timeout)
                        self._connections.clear()
                        break
                    self._condition.wait(remaining)
                self._owner = me
                self._connections.add(key)
                take_file = self._files is not None and not self._file_held
            finally:
                self._waiting -= 1
                if urgent:
                    self._urgent_waiting -= 1
        if take_file:
            try:
                self._take_file()
            except BaseException:
                self.leave(key)
                raise

    def _take_file(self) -> None:
        """Queue for the gate file, take it, and leave the queue (see the class's docstring); the owner only."""
        assert self._files is not None
        queue, gate = self._files
        fcntl.flock(queue, fcntl.LOCK_EX)
        try:
            fcntl.flock(gate, fcntl.LOCK_EX)
        finally:
            fcntl.flock(queue, fcntl.LOCK_UN)
        with self._condition:
            self._file_held = True

    def held(self) -> bool:
        """Whether a transaction of this process is inside the gate now."""
        with self._condition:
            return self._owner is not None

    def waiting(self) -> tuple[int, int]:
        """How many transactions wait now: (urgent, all), for a test to know where the threads are."""
        with self._condition:
            return self._urgent_waiting, self._waiting

    def leave(self, key: int) -> None:
        with self._condition:
            if key not in self._connections:
                return
            self._connections.discard(key)
            if not self._connections:
                self._owner = None
                if self._file_held and self._files is not None:
                    fcntl.flock(self._files[1], fcntl.LOCK_UN)
                    self._file_held = False
                self._condition.notify_all()


def gate_between_processes(engine: Engine) -> Path | None:
    """The SQLite database file whose processes a :class:`WriteGate` should order (None for memory or PostgreSQL)."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _lock_file(path: str) -> int:
    """A lock file opened for ``flock``, kept open for the life of the process (the lock lives with the open file)."""
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
