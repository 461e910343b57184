"""The login form's pre-session: the CSRF token of the one form open to strangers, bound to a row the server made.

A double-submit cookie alone (the cookie equals the field) is beaten by anyone who can plant a cookie in the
victim's browser (a sibling subdomain, a plain-HTTP hop): they choose both halves and sign the browser in under
an account of theirs (login CSRF). So serving the login page makes a pre-session: a random id in an HttpOnly
cookie, only its hash stored, and the form's token derived from the id (:func:`sessions.csrf_token`). A POST is
let in only with a live pre-session's cookie and that token; a pair the client made up matches no row. The row
is deleted once it signs someone in; a served page reuses the browser's live pre-session, and expired rows are
swept whenever a new one is made, so that reloading the page does not grow the table.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session, col, select

from zhengji.storage.models import StaffPresession
from zhengji.web.staff.sessions import csrf_token, token_hash

LIFETIME = timedelta(hours=2)
"""How long a served login form may wait before it is posted (a form left open over lunch still works)."""


def _live(session: Session, cookie: str | None, at: datetime) -> StaffPresession | None:
    if not cookie or len(cookie) > 200:
        return None
    row = session.exec(select(StaffPresession).where(StaffPresession.token_hash == token_hash(cookie))).first()
    return row if row is not None and row.expires_at > at else None


def issue(session: Session, cookie: str | None, at: datetime) -> tuple[str, str]:
    """The pre-session for a served login page and its form token: the browser's own while it lives, else a new
    one (the caller commits)."""
    if cookie and _live(session, cookie, at) is not None:
        return cookie, csrf_token(cookie)
    session.exec(delete(StaffPresession).where(col(StaffPresession.expires_at) <= at))
    fresh = secrets.token_urlsafe(32)
    session.add(StaffPresession(token_hash=token_hash(fresh), created_at=at, expires_at=at + LIFETIME))
    return fresh, csrf_token(fresh)


def accepts(session: Session, cookie: str | None, posted: str, at: datetime) -> bool:
    """Whether a login POST carries the token issued for a live pre-session of this cookie."""
    if _live(session, cookie, at) is None or cookie is None:
        return False
    return hmac.compare_digest(csrf_token(cookie), posted)


def consume(session: Session, cookie: str | None) -> None:
    """Delete the pre-session that has just signed someone in (the caller commits)."""
    if cookie:
        session.exec(delete(StaffPresession).where(col(StaffPresession.token_hash) == token_hash(cookie)))
