"""Late exceptions: a reviewer lets one sender submit to one track after its window, with a reason on record.

The check honours them (:class:`zhengji.parsers.submission.LateAllowance`): the pipeline looks up the sender's
exceptions when it checks a mail, so that the sender's next mail is judged as if in time, and granting one
re-checks the case at once (:func:`zhengji.review.recheck.recheck`).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from zhengji.clock import shanghai_date
from zhengji.parsers.submission import LateAllowance
from zhengji.storage.models import AuditEvent, LateException, Submission


class LateError(ValueError):
    """A late exception cannot be granted as asked; ``str()`` is a sentence for the reviewer."""


def allowances(engine: Engine, sender: str | None, received: datetime) -> list[LateAllowance]:
    """The sender's exceptions still running on the day the mail was received."""
    if not sender:
        return []
    with Session(engine) as session:
        return sender_allowances(session, sender, received)


def sender_allowances(session: Session, sender: str, received: datetime) -> list[LateAllowance]:
    day = shanghai_date(received)
    rows = session.exec(
        select(LateException).where(LateException.sender == sender.strip().lower(), col(LateException.until) >= day)
    ).all()
    return [LateAllowance(row.track, row.until, row.reason) for row in rows]


def grant(
    session: Session, submission: Submission, *, until: date, reason: str, actor: str, at: datetime
) -> LateException:
    """Record the exception and its audit event (the caller re-checks the case and commits)."""
    reason = reason.strip()
    if not reason:
        raise LateError("请填写准许逾期提交的理由。")
    if until < shanghai_date(submission.created_at):
        raise LateError("截止日期不能早于该申报的收件日期。")
    if submission.track == "unknown":
        raise LateError("该申报尚未识别所属征集事项，无法准许逾期提交。")
    exception = LateException(
        sender=submission.sender.lower(),
        track=submission.track,
        until=until,
        reason=reason,
        granted_by=actor,
        granted_at=at,
        submission_id=submission.id,
    )
    session.add(exception)
    session.add(
        AuditEvent(
            at=at,
            actor=actor,
            action="late_exception",
            submission_id=submission.id,
            detail={"sender": exception.sender, "track": exception.track, "until": until.isoformat(), "reason": reason},
        )
    )
    return exception


def exceptions_of(session: Session, submission: Submission) -> list[LateException]:
    return list(
        session.exec(
            select(LateException)
            .where(LateException.sender == submission.sender.lower(), LateException.track == submission.track)
            .order_by(col(LateException.id))
        ).all()
    )
