"""Sign-in lockout: repeated failures for one account from one address lock that pair; many failures from one
address, whatever the names, lock the address.

Failures count per (name, client address) within ``ZHENGJI_STAFF_LOCKOUT_MINUTES`` since that pair's last
successful sign-in, and per address (``ZHENGJI_STAFF_LOCKOUT_ADDRESS_FAILURES``) since the address's last success.
A lock is kept on the pair, not on the account, so that a stranger typing wrong passwords cannot keep the real
reviewer out: from another address the right password still signs in. A try made while locked is refused without
looking at its password and is not recorded, so it cannot stretch the lock; the lock lifts by itself once the
failures that made it age out of the window. A guessing attacker thus gets a handful of tries a quarter of an
hour from each address, and the reviewer who mistyped waits that quarter of an hour, not for an administrator.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from zhengji.settings import Settings
from zhengji.storage.models import LoginAttempt


@dataclass(frozen=True)
class Lock:
    """Why sign-in is refused for now, and when it is let in again."""

    until: datetime
    whole_address: bool  # the address is locked for every account, not only this one

    def minutes_left(self, at: datetime) -> int:
        """Whole minutes, rounded up, as the page tells the person waiting."""
        return max(1, -(-int((self.until - at).total_seconds()) // 60))


def lock_of(session: Session, name: str, address: str, settings: Settings, at: datetime) -> Lock | None:
    """The lock on this name from this address, or on the whole address; None when sign-in may be tried."""
    window = timedelta(minutes=settings.staff_lockout_minutes)
    since = at - window
    found: list[Lock] = []
    pair = [col(LoginAttempt.name) == name[:80], col(LoginAttempt.address) == address[:64]]
    oldest = _oldest_counted(session, pair, settings.staff_lockout_failures, since)
    if oldest is not None:
        found.append(Lock(oldest + window, whole_address=False))
    oldest = _oldest_counted(
        session, [col(LoginAttempt.address) == address[:64]], settings.staff_lockout_address_failures, since
    )
    if oldest is not None:
        found.append(Lock(oldest + window, whole_address=True))
    return max(found, key=lambda lock: lock.until) if found else None


def _oldest_counted(session: Session, where: list[ColumnElement[bool]], limit: int, since: datetime) -> datetime | None:
    """The oldest of the last ``limit`` failures that count, when there are ``limit`` of them: the lock they make
    lifts when it ages out of the window. None when fewer failures count (no lock)."""
    last_success = session.exec(
        select(func.max(LoginAttempt.at)).where(*where, col(LoginAttempt.success).is_(True))
    ).one()
    start = max(since, last_success) if last_success is not None else since
    recent = session.exec(
        select(LoginAttempt.at)
        .where(*where, col(LoginAttempt.success).is_(False), col(LoginAttempt.at) > start)
        .order_by(col(LoginAttempt.at).desc())
        .limit(limit)
    ).all()
    return recent[-1] if len(recent) >= limit else None


def record(session: Session, name: str, address: str, success: bool, at: datetime) -> None:
    """Keep a sign-in whose password was checked (never one refused by a lock: it must not stretch the lock)."""
    session.add(LoginAttempt(at=at, name=name[:80], address=address[:64], success=success))
