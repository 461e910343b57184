"""The two workflows and the one function allowed to change each: a submission's status, a mail's state.

Statuses form named groups (pretalx-style) so that the web queue and the bot ask "is it open?" instead of
listing states. ``transition`` validates, saves and writes the audit event in one place; nothing else assigns
``Submission.status``. Likewise ``move_mail`` is the only writer of ``Message.state``: the pipeline, the retry
of failed mail and the reprocessing of a case all move a mail through it, so that every move is allowed by
``MAIL_ALLOWED``, made only if the mail is still where the mover saw it (compare-and-set), and audited.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col

from zhengji.clock import now as clock_now


class SubmissionStatus(StrEnum):
    received = "received"  # 已收到，待检查
    complete = "complete"  # 材料齐全
    incomplete = "incomplete"  # 材料不全或有误，待补正
    rejected = "rejected"  # 不予受理（逾期、投错邮箱）
    unknown = "unknown"  # 无法识别所属征集事项
    in_review = "in_review"  # 工作人员审核中
    returned = "returned"  # 退回修改
    accepted = "accepted"  # 已受理
    declined = "declined"  # 审核不通过
    withdrawn = "withdrawn"  # 申报人撤回

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS: dict[SubmissionStatus, str] = {
    SubmissionStatus.received: "已收到，待检查",
    SubmissionStatus.complete: "材料齐全，待审核",
    SubmissionStatus.incomplete: "材料需补正",
    SubmissionStatus.rejected: "不予受理",
    SubmissionStatus.unknown: "待人工确认",
    SubmissionStatus.in_review: "审核中",
    SubmissionStatus.returned: "已退回修改",
    SubmissionStatus.accepted: "已受理",
    SubmissionStatus.declined: "审核未通过",
    SubmissionStatus.withdrawn: "已撤回",
}

# The machine's verdict on a checked version (the contract's `status`).
CHECK_RESULTS = frozenset(
    {
        SubmissionStatus.complete,
        SubmissionStatus.incomplete,
        SubmissionStatus.rejected,
        SubmissionStatus.unknown,
    }
)
# Statuses a reviewer still has to act on.
AWAITING_REVIEW = frozenset({SubmissionStatus.complete, SubmissionStatus.unknown, SubmissionStatus.in_review})
# Statuses in which the applicant may still send a new version.
OPEN = frozenset({SubmissionStatus.received, SubmissionStatus.returned, *CHECK_RESULTS, SubmissionStatus.in_review})
FINAL = frozenset({SubmissionStatus.accepted, SubmissionStatus.declined, SubmissionStatus.withdrawn})

ALLOWED: dict[SubmissionStatus, frozenset[SubmissionStatus]] = {
    SubmissionStatus.received: CHECK_RESULTS | {SubmissionStatus.withdrawn},
    # A new version is checked again, so a verdict may follow a verdict.
    **{status: CHECK_RESULTS | {SubmissionStatus.in_review, SubmissionStatus.withdrawn} for status in CHECK_RESULTS},
    SubmissionStatus.in_review: frozenset(
        {
            SubmissionStatus.accepted,
            SubmissionStatus.returned,
            SubmissionStatus.declined,
            SubmissionStatus.rejected,  # a reviewer's 不予受理 (the contract's status after review)
            SubmissionStatus.complete,
            SubmissionStatus.incomplete,
            SubmissionStatus.unknown,
        }
    ),
    SubmissionStatus.returned: CHECK_RESULTS | {SubmissionStatus.withdrawn},
    SubmissionStatus.accepted: frozenset(),
    SubmissionStatus.declined: frozenset(),
    SubmissionStatus.withdrawn: frozenset(),
}


class TransitionError(ValueError):
    """A status change the workflow does not allow."""


def transition(
    session: Session,
    submission: Any,
    to: SubmissionStatus,
    *,
    actor: str,
    reason: str | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """Change a submission's status: validate the step, set it, and write the audit event, in one session.

    Steps: (1) refuse a step ``ALLOWED`` does not list; (2) set status and ``updated_at``; (3) add an
    ``AuditEvent`` naming actor, old and new status and reason. The caller commits, so the status and its
    audit event land together or not at all. ``at`` is the service's clock (``ZHENGJI_NOW`` in rehearsals).
    """
    from zhengji.storage.models import AuditEvent

    old = SubmissionStatus(submission.status)
    if to not in ALLOWED[old]:
        raise TransitionError(f"submission {submission.reference}: {old.value} → {to.value} is not allowed")
    moment = at or clock_now()
    submission.status = to
    submission.updated_at = moment
    session.add(submission)
    session.add(
        AuditEvent(
            at=moment,
            actor=actor,
            action="status",
            submission_id=submission.id,
            detail={"from": old.value, "to": to.value, "reason": reason, **(detail or {})},
        )
    )


class MessageState(StrEnum):
    """How far a mail has come on its path: received → parsed → checked → replied."""

    received = "received"
    parsed = "parsed"
    checked = "checked"
    replied = "replied"
    # Parsing or checking gave up after retries; the sender is being told that staff took the mail over.
    escalated = "escalated"
    failed = "failed"  # gave up after retries; staff see it in the queue (`zhengji reprocess --failed` retries)
    ignored = "ignored"  # automatic mail (bounces, auto-replies): kept, never answered


MAIL_ALLOWED: dict[MessageState, frozenset[MessageState]] = {
    # parse; an automatic mail is ignored; a parse that keeps failing goes to staff (with a notice, or without)
    MessageState.received: frozenset(
        {MessageState.parsed, MessageState.ignored, MessageState.escalated, MessageState.failed}
    ),
    # check; a check that keeps failing goes to staff
    MessageState.parsed: frozenset({MessageState.checked, MessageState.escalated, MessageState.failed}),
    # reply; a reply the outgoing server did not take for about a day waits for staff
    MessageState.checked: frozenset({MessageState.replied, MessageState.failed}),
    # the notice that staff took the mail over was sent (or could not be)
    MessageState.escalated: frozenset({MessageState.failed}),
    # `zhengji reprocess --reply` queued a corrected answer for the reply step
    MessageState.replied: frozenset({MessageState.checked}),
    # `zhengji reprocess --failed` puts the mail back at the step it failed at (--reply: at the reply step)
    MessageState.failed: frozenset({MessageState.received, MessageState.parsed, MessageState.checked}),
    MessageState.ignored: frozenset(),
}


def move_mail(
    session: Session,
    message_id: int,
    before: MessageState,
    after: MessageState,
    *,
    actor: str,
    at: datetime,
    action: str = "state",
    holder: str | None = None,
    submission_id: int | None = None,
    detail: dict[str, Any] | None = None,
    **values: Any,
) -> bool:
    """Move a mail from ``before`` to ``after`` in the caller's transaction; False when it was not there any more.

    Steps: (1) refuse a move ``MAIL_ALLOWED`` does not list; (2) ``UPDATE … WHERE state = before`` (and, with
    ``holder``, ``AND claimed_by = holder``: a worker whose claim was lost cannot record over another's result),
    setting ``values`` beside the state; (3) add one ``AuditEvent`` (``action``, from, to, ``detail``). The caller
    commits, so the state, what the step produced and the audit event land together or not at all.
    """
    from zhengji.storage.models import AuditEvent, Message

    if after not in MAIL_ALLOWED[before]:
        raise TransitionError(f"message {message_id}: {before.value} → {after.value} is not allowed")
    conditions = [col(Message.id) == message_id, col(Message.state) == before]
    if holder is not None:
        conditions.append(col(Message.claimed_by) == holder)
    result = session.exec(update(Message).where(*conditions).values(state=after, **values))
    if result.rowcount != 1:
        return False
    session.add(
        AuditEvent(
            at=at,
            actor=actor,
            action=action,
            message_id=message_id,
            submission_id=submission_id,
            detail={"from": before.value, "to": after.value, **(detail or {})},
        )
    )
    return True
