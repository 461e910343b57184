"""Fixed-window counters in the database, shared by every process of the service.

A one-time code costs a mail to somebody's inbox; without limits a stranger could flood an applicant's mailbox
or try codes until one fits. Counters run on the real clock (:mod:`zhengji.clock`), never on ``ZHENGJI_NOW``.

A code request consults up to five keys (the chat, the client, the submission, the address, all requests) over
an hour and a day: :func:`read` fetches every counter it needs in one query and :func:`Counters.write` adds the
events in one statement, in the caller's transaction (issue 18: a code request is one short transaction). Each
counter row is one key in one window of one length, so that the hour and the day that start at the same instant
(the first hour of a day) are counted apart.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, delete, select, text
from sqlalchemy.engine import Connection
from sqlmodel import col

from zhengji.storage.models import ChatRateCount

KEEP = timedelta(days=2)
"""Counters older than this are deleted as new ones are written (no window is longer than a day)."""
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_TABLE = ChatRateCount.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Limit:
    """At most ``count`` events per ``window``."""

    count: int
    window: timedelta


def _window_start(moment: datetime, window: timedelta) -> datetime:
    elapsed = (moment - _EPOCH) // window
    return _EPOCH + elapsed * window


def _row_key(key: str, window: timedelta) -> str:
    return f"{key}@{int(window.total_seconds())}"


@dataclass
class Counters:
    """The counters of some keys as read at ``moment``, and the events counted since (not yet written)."""

    moment: datetime
    counts: dict[tuple[str, datetime], int]
    added: Counter[tuple[str, datetime]] = field(default_factory=Counter)

    def _slot(self, key: str, limit: Limit) -> tuple[str, datetime]:
        return _row_key(key, limit.window), _window_start(self.moment, limit.window)

    def used(self, key: str, limit: Limit) -> int:
        """How many events ``key`` had in the current window of ``limit`` (those counted here included)."""
        slot = self._slot(key, limit)
        return self.counts.get(slot, 0) + self.added[slot]

    def allow(self, key: str, limits: tuple[Limit, ...]) -> bool:
        """True when ``key`` is under every limit; then the event is counted in each (written by :meth:`write`)."""
        if any(self.used(key, limit) >= limit.count for limit in limits):
            return False
        for limit in limits:
            self.added[self._slot(key, limit)] += 1
        return True

    def write(self, connection: Connection) -> None:
        """Add the events counted, in one statement of the caller's transaction (an upsert, so that two
        processes that open the same window at once both count)."""
        if not self.added:
            return
        rows = [{"k": key, "w": start, "n": n} for (key, start), n in sorted(self.added.items())]
        connection.execute(_UPSERT, rows)
        self.added.clear()


_UPSERT = text(
    f"INSERT INTO {_TABLE.name} (key, window_start, count) VALUES (:k, :w, :n) "
    f"ON CONFLICT (key, window_start) DO UPDATE SET count = {_TABLE.name}.count + excluded.count"
).bindparams(bindparam("k", type_=_TABLE.c.key.type), bindparam("w", type_=_TABLE.c.window_start.type),
             bindparam("n", type_=_TABLE.c.count.type))  # fmt: skip
"""The upsert as text, the same in SQLite and PostgreSQL. The dialects' ``insert().on_conflict_do_update()``
has no cache key in this SQLAlchemy: it was compiled again at every code request (0.4 ms of the request's
transaction, which the burst's other code requests wait for; issue 18)."""
_READ = select(_TABLE.c.key, _TABLE.c.window_start, _TABLE.c.count).where(
    _TABLE.c.key.in_(bindparam("keys", expanding=True)), _TABLE.c.window_start.in_(bindparam("starts", expanding=True))
)


def read(connection: Connection, keys: Iterable[str], limits: Iterable[Limit], moment: datetime) -> Counters:
    """The counters of every key in ``keys`` for every window of ``limits``, in one query."""
    windows = {limit.window for limit in limits}
    slots = {(_row_key(key, window), _window_start(moment, window)) for key in keys for window in windows}
    counts: dict[tuple[str, datetime], int] = {}
    if slots:
        found = connection.execute(
            _READ, {"keys": sorted({key for key, _ in slots}), "starts": sorted({start for _, start in slots})}
        )
        counts = {(key, start): count for key, start, count in found if (key, start) in slots}
    return Counters(moment, counts)


def forget_old(connection: Connection, moment: datetime) -> None:
    connection.execute(delete(ChatRateCount).where(col(ChatRateCount.window_start) < moment - KEEP))
