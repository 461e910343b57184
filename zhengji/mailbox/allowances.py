"""The late exceptions a reviewer granted a sender, as the window check honours them.

A reviewer grants them in :mod:`zhengji.review.late`; the pipeline's check reads them here, below ``review``, so
that the mailbox never imports the review desk (ARCHITECTURE.md, "Layers").
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from zhengji.clock import shanghai_date
from zhengji.parsers.submission import LateAllowance
from zhengji.storage.models import LateException


def allowances(engine: Engine, sender: str | None, received: datetime) -> list[LateAllowance]:
    """The sender's exceptions still running on the day the mail was received."""
    if not sender:
        return []
    with Session(engine) as session:
        return sender_allowances(session, sender, received)


def sender_allowances(session: Session, sender: str, received: datetime) -> list[LateAllowance]:
    """:func:`allowances` in the caller's session (a re-check reads them beside the case)."""
    day = shanghai_date(received)
    rows = session.exec(
        select(LateException).where(LateException.sender == sender.strip().lower(), col(LateException.until) >= day)
    ).all()
    return [LateAllowance(row.track, row.until, row.reason) for row in rows]
