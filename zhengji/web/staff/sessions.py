"""Server-side sessions of the staff queue: a random id in an HttpOnly cookie, only its hash in the database.

A session ends when it has been idle for ``ZHENGJI_STAFF_SESSION_IDLE_MINUTES``, at the latest
``ZHENGJI_STAFF_SESSION_HOURS`` after sign-in, on logout, and when its account's password changes. Sessions run
on the real clock: ``ZHENGJI_NOW`` (a rehearsal of a window) must not keep a browser signed in for ever.
The session's CSRF token is derived from its id (HMAC), so that it needs no storage and dies with the session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from zhengji.clock import real_now
from zhengji.settings import Settings
from zhengji.storage.models import StaffSession, StaffUser

COOKIE = "zhengji_staff"
TOUCH_EVERY = timedelta(seconds=60)
"""How stale ``last_seen_at`` may get before a request writes it again (not one write a page)."""


@dataclass(frozen=True)
class SignedIn:
    """The account behind a request, and the tokens of its session."""

    staff_id: int
    name: str
    is_admin: bool
    session_id: int
    token: str

    @property
    def csrf(self) -> str:
        return csrf_token(self.token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def csrf_token(token: str) -> str:
    return hmac.new(token.encode("ascii", "replace"), b"zhengji csrf", hashlib.sha256).hexdigest()


def start(session: Session, user: StaffUser, settings: Settings, *, address: str, agent: str) -> str:
    """Open a session for ``user`` and return its id (for the cookie); the caller commits."""
    assert user.id is not None
    token = secrets.token_urlsafe(32)
    moment = real_now()
    session.add(
        StaffSession(
            token_hash=token_hash(token),
            staff_id=user.id,
            created_at=moment,
            last_seen_at=moment,
            expires_at=moment + timedelta(hours=settings.staff_session_hours),
            address=address[:64],
            user_agent=agent[:200],
        )
    )
    user.last_login_at = moment
    session.add(user)
    return token


def lookup(session: Session, token: str | None, settings: Settings) -> SignedIn | None:
    """The live session of this cookie, its idle time renewed; None when absent, ended or expired."""
    if not token or len(token) > 200:
        return None
    row = session.exec(select(StaffSession).where(StaffSession.token_hash == token_hash(token))).first()
    if row is None or row.revoked_at is not None:
        return None
    moment = real_now()
    idle = timedelta(minutes=settings.staff_session_idle_minutes)
    if moment >= row.expires_at or moment - row.last_seen_at >= idle:
        row.revoked_at = moment
        session.add(row)
        session.commit()
        return None
    user = session.get(StaffUser, row.staff_id)
    if user is None or not user.active:
        return None
    if moment - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = moment
        session.add(row)
        session.commit()
    assert row.id is not None and user.id is not None
    return SignedIn(user.id, user.name, user.is_admin, row.id, token)


def end(session: Session, token: str | None, at: datetime | None = None) -> None:
    """End the session of this cookie (logout); the caller commits."""
    if not token:
        return
    row = session.exec(select(StaffSession).where(StaffSession.token_hash == token_hash(token))).first()
    if row is not None and row.revoked_at is None:
        row.revoked_at = at or real_now()
        session.add(row)
