"""Keeping a received mail: the raw bytes to the blob store, then one ``messages`` row, before anything else.

Both receivers (the SMTP server and the IMAP watcher) keep mail through here. The blob is fsynced before the row
is committed, and the row is committed before the receiver says yes (SMTP ``250``) or moves on (IMAP), so that a
crash at any instant leaves either nothing (the sender retries, the watcher re-reads) or a mail that the
pipeline will process. Keeping the same IMAP mail twice returns the first row.

The SMTP server keeps its rows through :class:`GroupCommit`: the rows of the mails that arrive together are
committed in one transaction, so that many senders share one database fsync instead of queueing for one each.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from zhengji.storage.blobs import BlobStore
from zhengji.storage.models import Message, MessageSource

log = logging.getLogger("zhengji.intake")

MAX_BATCH = 64
"""Rows committed together at most: enough for every sender of a busy window's close, small enough that one
transaction stays short."""

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_MESSAGE_ID = re.compile(rb"^message-id[ \t]*:(.*(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.MULTILINE)
_FOLD = re.compile(rb"\r?\n(?=[ \t])")


@dataclass(frozen=True)
class Receipt:
    """How a mail reached us: the transport's facts, never what the sender wrote in the headers."""

    source: MessageSource
    mailbox: str
    received_at: datetime
    envelope_from: str | None = None
    envelope_to: list[str] = field(default_factory=list)
    imap_uidvalidity: int | None = None
    imap_uid: int | None = None
    # Old mail back-filled by a clerk is processed and filed, but its sender is not answered months later.
    reply_wanted: bool = True


def message_id_of(raw: bytes) -> str | None:
    """The Message-ID header, trimmed to what the column holds; None when absent.

    Found by a pattern in the header block, not by the email parser: the SMTP server asks this of every mail
    while it holds the interpreter lock, and a hostile header block of many megabytes must cost it milliseconds,
    not seconds. Like the parser, it takes the first Message-ID and unfolds its continuation lines.
    """
    end = _HEADER_END.search(raw)
    match = _MESSAGE_ID.search(raw, 0, end.start() if end else len(raw))
    if match is None:
        return None
    value = _FOLD.sub(b"", match.group(1)).decode("utf-8", "replace").strip()
    return value[:998] or None


def row_values(digest: str, raw: bytes, receipt: Receipt) -> dict[str, Any]:
    """Every column of the new ``messages`` row but its id, the model's defaults included.

    A plain dict, not a :class:`Message`: the SMTP server makes one a mail while it holds the interpreter lock,
    and an ORM object costs ten times as much to build as a dict for a row that is only ever inserted.
    """
    values = dict(_DEFAULTS)
    values.update(
        sha256=digest,
        size=len(raw),
        message_id=message_id_of(raw),
        source=receipt.source,
        mailbox=receipt.mailbox,
        imap_uidvalidity=receipt.imap_uidvalidity,
        imap_uid=receipt.imap_uid,
        envelope_from=receipt.envelope_from,
        envelope_to=list(receipt.envelope_to),
        received_at=receipt.received_at,
        reply_wanted=receipt.reply_wanted,
    )
    return values


def stage(blobs: BlobStore, raw: bytes, receipt: Receipt) -> Message:
    """Store ``raw`` durably and return its row, not yet committed (the slow, parallel half of keeping a mail)."""
    return Message(**row_values(blobs.put(raw), raw, receipt))


def keep(engine: Engine, blobs: BlobStore, raw: bytes, receipt: Receipt) -> Message:
    """Store ``raw`` durably and record it; returns the stored row (the existing one for a repeated IMAP UID)."""
    row = stage(blobs, raw, receipt)
    with Session(engine, expire_on_commit=False) as session:
        session.add(row)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            existing = session.exec(
                select(Message).where(
                    Message.mailbox == receipt.mailbox,
                    Message.imap_uidvalidity == receipt.imap_uidvalidity,
                    Message.imap_uid == receipt.imap_uid,
                )
            ).first()
            if existing is None:
                raise
            return existing
        return row  # expire_on_commit=False: the id and every column stay loaded, no second query


Row = Message | dict[str, Any]
"""A new ``messages`` row: a model object (``keep``'s callers want one back) or :func:`row_values`' dict."""


def insert_rows(engine: Engine, rows: Sequence[Row]) -> None:
    """Commit ``rows`` in one transaction (one INSERT of many values) and give each its id.

    Core, not the ORM: a row here is new and complete, and the unit of work would cost more than the insert.
    Every column of a model object is read from it, so that its Python defaults apply as they do through the ORM;
    a dict gets its id as the key ``id``.
    """
    values = [row if isinstance(row, dict) else {key: getattr(row, key) for key in _COLUMNS} for row in rows]
    with engine.begin() as connection:
        ids = connection.execute(_INSERT, values).scalars().all()
    for row, row_id in zip(rows, ids, strict=True):
        if isinstance(row, dict):
            row["id"] = row_id
        else:
            row.id = row_id


_TABLE: sa.Table = Message.__table__  # type: ignore[attr-defined]
_COLUMNS = tuple(column.key for column in _TABLE.columns if column.key != "id")
_INSERT = sa.insert(_TABLE).returning(_TABLE.c.id, sort_by_parameter_order=True)
# The model's defaults for the columns a new row does not set (state, attempts, claims…), read once from the model.
_DEFAULTS: dict[str, Any] = {
    key: getattr(Message(sha256="", size=0, source=MessageSource.smtp, mailbox="", received_at=datetime.min), key)
    for key in _COLUMNS
}


Outcome = Row | BaseException
"""What became of a row handed to :class:`GroupCommit`: the row with its id, or why it was not committed."""


@dataclass
class _Group:
    """Rows handed over together, answered together: ``done`` is called once with an outcome for each."""

    rows: list[Row]
    done: Callable[[list[Outcome]], None]
    future: Future[Message] | None = None  # set by ``submit``, so that its waiter may cancel it before the commit


class GroupCommit:
    """One thread that commits the rows of the mails that arrive together in one transaction.

    A commit waits for the disk (SQLite's WAL fsync, PostgreSQL's WAL flush), and one sender at a time used to
    wait for one commit each. Here the rows that arrive while a commit is under way go into the next one, with
    no added delay: an idle server commits each mail at once, a busy one a handful at a time. Each sender's
    future resolves only after the transaction that holds its row has committed, so ``250`` still means that
    this very mail is durable. When a group fails, its rows are committed one by one, so that one bad row costs
    only its own mail a ``451``.
    """

    def __init__(self, engine: Engine, *, max_batch: int = MAX_BATCH) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, not {max_batch}")
        self.engine = engine
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Group | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="intake-commit", daemon=True)
        self._thread.start()

    def submit(self, row: Message) -> Future[Message]:
        """Queue ``row``; the future gives it back with its id once committed, or raises why it was not."""
        future: Future[Message] = Future()
        self._put(_Group([row], lambda outcomes: _settle(future, outcomes[0]), future))
        return future

    def submit_group(self, rows: list[Row], done: Callable[[list[Outcome]], None]) -> None:
        """Queue ``rows``; ``done`` is called once (on the committing thread) with each row's outcome, in order.

        One call for the mails whose blobs were written together, so that the SMTP server's event loop is woken
        once for them all, not once a mail.
        """
        self._put(_Group(rows, done))

    def _put(self, group: _Group) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError("the intake is closed")
            self._queue.put(group)

    def close(self, timeout: float | None = None) -> bool:
        """Commit what was queued, then stop; True when the thread ended within ``timeout``."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._queue.put(None)
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            size = len(first.rows)
            last = False
            while size < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    last = True
                    break
                batch.append(item)
                size += len(item.rows)
            self._commit(batch)
            if last:
                return

    def _commit(self, batch: list[_Group]) -> None:
        for group in batch:
            if group.future is not None:
                group.future.set_running_or_notify_cancel()  # from here on nobody can cancel it half-done
        rows = [row for group in batch for row in group.rows]
        outcomes: list[Outcome]
        try:
            insert_rows(self.engine, rows)
            outcomes = list(rows)
        except Exception as error:
            if len(rows) == 1:
                outcomes = [error]
            else:
                log.warning("committing %d mails together failed (%s); committing each alone", len(rows), error)
                outcomes = [_alone(self.engine, row) for row in rows]
        start = 0
        for group in batch:
            end = start + len(group.rows)
            try:
                group.done(outcomes[start:end])
            except Exception:  # a waiter's failure must not stop the commits of everyone after it
                log.exception("could not hand back the outcome of %d committed mails", len(group.rows))
            start = end


def _alone(engine: Engine, row: Row) -> Outcome:
    try:
        insert_rows(engine, [row])
    except Exception as error:
        return error
    return row


def _settle(future: Future[Message], outcome: Outcome) -> None:
    """Resolve ``future``, unless its waiter cancelled it before the commit began (the row is kept either way)."""
    if future.cancelled():
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        assert isinstance(outcome, Message)
        future.set_result(outcome)
