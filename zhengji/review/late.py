"""Late exceptions: a reviewer lets one sender submit to one track after its window, with a reason on record.

The check honours them (:class:`zhengji.parsers.submission.LateAllowance`): the pipeline looks up the sender's
exceptions when it checks a mail (:mod:`zhengji.mailbox.allowances`, below this desk), so that the sender's next
mail is judged as if in time, and granting one re-checks the case at once (:func:`zhengji.review.recheck.recheck`).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session, col, select

from zhengji.clock import shanghai_date
from zhengji.mailbox.allowances import allowances, sender_allowances
from zhengji.storage.models import AuditEvent, LateException, Submission

__all__ = ["LateError", "allowances", "exceptions_of", "grant", "sender_allowances"]


class LateError(ValueError):
    """A late exception cannot be granted as asked; ``str()`` is a sentence for the reviewer."""


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
