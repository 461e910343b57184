"""Sign-in lockout: repeated failures lock the account, and (with a higher count) the address they came from.

Failures count from the last successful sign-in within ``ZHENGJI_STAFF_LOCKOUT_MINUTES``; a lock lifts by
itself once the failures age out of that time, so a guessing attacker gets a handful of tries an hour and the
reviewer who mistyped waits a quarter of an hour, not for an administrator.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from zhengji.settings import Settings
from zhengji.storage.models import LoginAttempt


def _failures(session: Session, column: str, value: str, since: datetime) -> int:
    target = getattr(LoginAttempt, column)
    last_success = session.exec(
        select(func.max(LoginAttempt.at)).where(target == value, col(LoginAttempt.success).is_(True))
    ).one()
    start = max(since, last_success) if last_success is not None else since
    count = session.exec(
        select(func.count())
        .select_from(LoginAttempt)
        .where(target == value, col(LoginAttempt.success).is_(False), col(LoginAttempt.at) > start)
    ).one()
    return int(count)


def locked(session: Session, name: str, address: str, settings: Settings, at: datetime) -> bool:
    since = at - timedelta(minutes=settings.staff_lockout_minutes)
    return (
        _failures(session, "name", name, since) >= settings.staff_lockout_failures
        or _failures(session, "address", address, since) >= settings.staff_lockout_address_failures
    )


def record(session: Session, name: str, address: str, success: bool, at: datetime) -> None:
    session.add(LoginAttempt(at=at, name=name[:80], address=address[:64], success=success))
