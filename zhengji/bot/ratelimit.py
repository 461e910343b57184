"""Fixed-window counters in the database, shared by every process of the service.

A one-time code costs a mail to somebody's inbox; without limits a stranger could flood an applicant's mailbox
or try codes until one fits. Counters run on the real clock (:mod:`zhengji.clock`), never on ``ZHENGJI_NOW``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from zhengji.storage.models import ChatRateCount

KEEP = timedelta(days=2)
"""Counters older than this are deleted as new ones are written (no window is longer than a day)."""
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Limit:
    """At most ``count`` events per ``window``."""

    count: int
    window: timedelta


def _window_start(moment: datetime, window: timedelta) -> datetime:
    elapsed = (moment - _EPOCH) // window
    return _EPOCH + elapsed * window


def used(session: Session, key: str, limit: Limit, moment: datetime) -> int:
    """How many events ``key`` had in the current window of ``limit``."""
    row = session.exec(
        select(ChatRateCount).where(
            ChatRateCount.key == key, ChatRateCount.window_start == _window_start(moment, limit.window)
        )
    ).first()
    return row.count if row else 0


def allowed(session: Session, key: str, limits: tuple[Limit, ...], moment: datetime) -> bool:
    """True when ``key`` is under every limit; then the event is counted in each (in the caller's transaction)."""
    if any(used(session, key, limit, moment) >= limit.count for limit in limits):
        return False
    for limit in limits:
        _count(session, key, _window_start(moment, limit.window))
    return True


def _count(session: Session, key: str, start: datetime) -> None:
    row = session.exec(
        select(ChatRateCount).where(ChatRateCount.key == key, ChatRateCount.window_start == start)
    ).first()
    if row is not None:
        row.count += 1
        session.add(row)
        return
    try:
        with session.begin_nested():  # two processes may open the same window at once: the loser counts again
            session.add(ChatRateCount(key=key, window_start=start, count=1))
    except IntegrityError:
        _count(session, key, start)


def forget_old(session: Session, moment: datetime) -> None:
    session.exec(delete(ChatRateCount).where(col(ChatRateCount.window_start) < moment - KEEP))
