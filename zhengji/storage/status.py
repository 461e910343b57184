"""The two workflows and the functions allowed to change each: a submission's verdict and decision, a mail's state.

A submission has two things that are never mixed (the contract's "Submission statuses"): the machine's
**verdict** on its latest version (complete, incomplete, rejected, unknown), which a check, a re-check after a
correction, a reprocess or a later mail may change, and a reviewer's **decision** (accepted, returned, declined),
which only a person changes. :func:`record_verdict` is the machine's one writer and :func:`record_decision` the
person's; both go through :func:`_show`, the one place that sets ``Submission.status``, the status shown (the
decision where there is one, else the verdict), which the queue and the bot read. Keeping them apart is what
lets a re-check after a second reviewer's correction change what the machine thinks without overturning what a
person decided.

Likewise ``move_mail`` is the only writer of ``Message.state``: the pipeline, the retry of failed mail and the
reprocessing of a case all move a mail through it, so that every move is allowed by ``MAIL_ALLOWED``, made only if
the mail is still where the mover saw it (compare-and-set), and audited. A reply's state (``REPLY_ALLOWED``) and a
chat push's (``PUSH_ALLOWED``) change only through :func:`move_replies` and :func:`move_pushes` in the same way.

Every verdict is also a row of its own (:class:`zhengji.storage.models.VerdictRecord`, written by
:func:`record_verdict`), and :func:`last_verdict` is the one reader of the findings it recorded.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, update
from sqlmodel import Session, col, select

from zhengji.clock import now as clock_now

if TYPE_CHECKING:
    from zhengji.storage.models import AuditEvent, VerdictRecord


class Verdict(StrEnum):
    """What the checks say of a submission's latest version (the contract's checked ``status``)."""

    received = "received"  # 已收到，待检查: only between opening a case and recording its first check
    complete = "complete"
    incomplete = "incomplete"
    rejected = "rejected"  # outside the window or the wrong mailbox: the machine's 不予受理
    unknown = "unknown"

    @property
    def label(self) -> str:
        return VERDICT_LABELS[self]


class Decision(StrEnum):
    """What a reviewer decided: the actions ``accept``, ``return`` and ``reject``."""

    accepted = "accepted"
    returned = "returned"
    declined = "declined"  # 不予受理 by a person (the action ``reject``)

    @property
    def label(self) -> str:
        return DECISION_LABELS[self]


class SubmissionStatus(StrEnum):
    """The status shown: the decision where there is one, else the verdict."""

    received = "received"
    complete = "complete"
    incomplete = "incomplete"
    rejected = "rejected"
    unknown = "unknown"
    returned = "returned"
    accepted = "accepted"
    declined = "declined"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


VERDICT_LABELS: dict[Verdict, str] = {
    Verdict.received: "待检查",
    Verdict.complete: "材料齐全",
    Verdict.incomplete: "材料需补正",
    Verdict.rejected: "不予受理（不在受理时间内或投错邮箱）",
    Verdict.unknown: "待人工确认",
}
DECISION_LABELS: dict[Decision, str] = {
    Decision.accepted: "予以受理",
    Decision.returned: "退回修改",
    Decision.declined: "不予受理",
}
STATUS_LABELS: dict[SubmissionStatus, str] = {
    SubmissionStatus.received: "已收到，待检查",
    SubmissionStatus.complete: "材料齐全，待审核",
    SubmissionStatus.incomplete: "材料需补正",
    SubmissionStatus.rejected: "不予受理",
    SubmissionStatus.unknown: "待人工确认",
    SubmissionStatus.returned: "已退回修改",
    SubmissionStatus.accepted: "已受理",
    SubmissionStatus.declined: "经审核不予受理",
}

# The machine's verdicts on a checked version (the contract's `status` of a checked submission).
CHECK_RESULTS = frozenset(
    {
        SubmissionStatus.complete,
        SubmissionStatus.incomplete,
        SubmissionStatus.rejected,
        SubmissionStatus.unknown,
    }
)
VERDICTS = frozenset({Verdict.complete, Verdict.incomplete, Verdict.rejected, Verdict.unknown})
# Decisions after which a later mail is filed to the case without reopening it (the contract).
STANDING = frozenset({Decision.accepted, Decision.declined})
# Shown statuses a reviewer still has to act on.
AWAITING_REVIEW = frozenset({SubmissionStatus.complete, SubmissionStatus.unknown})


class TransitionError(ValueError):
    """A change the workflow does not allow."""


def decidable(submission: Any) -> bool:
    """A reviewer may decide: the case was checked and no decision stands.

    A decision stands until the applicant's new version after ``returned`` clears it (:func:`reopen_for_review`);
    ``accepted`` and ``declined`` stand for good, so that a later mail or a re-check never reopens them and a
    second reviewer cannot overwrite a first one's decision by deciding again.
    """
    return submission.decision is None and Verdict(submission.verdict) in VERDICTS


def _show(submission: Any, moment: datetime) -> tuple[str, str]:
    """Set the shown status from the decision and the verdict; the only assignment of ``Submission.status``."""
    before = str(submission.status)
    shown = SubmissionStatus(str(submission.decision or submission.verdict))
    submission.status = shown
    submission.updated_at = moment
    return before, shown.value


def record_verdict(
    session: Session,
    submission: Any,
    verdict: Verdict | str,
    *,
    actor: str,
    action: str = "verdict",
    reason: str | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
    findings: list[dict[str, Any]] | None = None,
    documents: dict[str, list[dict[str, Any]]] | None = None,
    message_id: int | None = None,
    version: int | None = None,
    parser_version: str | None = None,
) -> AuditEvent:
    """Record the machine's verdict on the case, its row in ``verdicts`` and its audit event; a decision that
    stands is left as it is.

    Every check writes one (a new version, a re-check after a correction with ``action="recheck"``, a reprocess with
    ``action="reprocess"``), even when the verdict is the same, because its row keeps the findings the queue, the
    case page and the bot read (:func:`last_verdict`). The audit detail names the verdict before and after
    (``from``, ``to``) and the shown status before and after (``shown_from``, ``shown``), so that the notifier
    tells a chat only a change it can see; it repeats the findings for the trail. Findings given in ``detail``
    (as callers wrote them before the table existed) are the row's when ``findings`` is not given. The caller
    commits; the event is returned for a caller that adds to its detail what it learns afterwards.
    """
    from zhengji.storage.models import AuditEvent, VerdictRecord

    if findings is None and detail is not None and isinstance(detail.get("findings"), list):
        findings = list(detail["findings"])

    new = Verdict(verdict)
    if new is Verdict.received:
        raise TransitionError(f"submission {submission.reference}: a check cannot leave it unchecked")
    moment = at or clock_now()
    old = Verdict(str(submission.verdict))
    submission.verdict = new
    shown_before, shown = _show(submission, moment)
    session.add(submission)
    if submission.id is None:
        session.flush()
    event = AuditEvent(
        at=moment,
        actor=actor,
        action=action,
        submission_id=submission.id,
        detail={
            "from": old.value,
            "to": new.value,
            "shown_from": shown_before,
            "shown": shown,
            "reason": reason,
            **({"message_id": message_id, "version": version} if message_id is not None else {}),
            **({"findings": list(findings)} if findings is not None else {}),
            **({"documents": dict(documents)} if documents is not None else {}),
            **(detail or {}),
        },
    )
    session.add(event)
    session.flush()  # the row names its event, so that a reader can go from the verdict to the trail
    assert submission.id is not None
    session.add(
        VerdictRecord(
            submission_id=submission.id,
            message_id=message_id,
            event_id=event.id,
            version=version,
            verdict=new,
            action=action,
            actor=actor,
            parser_version=parser_version,
            findings=list(findings or []),
            documents=dict(documents or {}),
            created_at=moment,
        )
    )
    return event


def last_verdict(session: Session, submission_id: int | None) -> VerdictRecord | None:
    """The case's latest verdict with its findings (None for a case never checked): the one reader of them."""
    from zhengji.storage.models import VerdictRecord

    if submission_id is None:
        return None
    return session.exec(
        select(VerdictRecord)
        .where(VerdictRecord.submission_id == submission_id)
        .order_by(col(VerdictRecord.id).desc())
        .limit(1)
    ).first()


def last_verdicts(session: Session, submission_ids: list[int]) -> dict[int, VerdictRecord]:
    """:func:`last_verdict` of many cases in one query (the queue index rebuilds hundreds at a time)."""
    from sqlalchemy import func

    from zhengji.storage.models import VerdictRecord

    if not submission_ids:
        return {}
    newest = (
        select(func.max(VerdictRecord.id))
        .where(col(VerdictRecord.submission_id).in_(submission_ids))
        .group_by(col(VerdictRecord.submission_id))
    )
    rows = session.exec(select(VerdictRecord).where(col(VerdictRecord.id).in_(newest))).all()
    return {row.submission_id: row for row in rows}


def record_decision(
    session: Session,
    submission: Any,
    decision: Decision,
    *,
    actor: str,
    reason: str | None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """Record a reviewer's decision, with the reviewer and the reason, and its audit event ``decision``.

    Refused when the case is not :func:`decidable`: a person's decision is never silently replaced. The verdict is
    left as it is, so that the staff page shows both (系统核验 · 审核决定). The caller commits.
    """
    from zhengji.storage.models import AuditEvent

    if not decidable(submission):
        raise TransitionError(f"submission {submission.reference}: no decision can be made now")
    moment = at or clock_now()
    submission.decision = decision
    shown_before, shown = _show(submission, moment)
    session.add(submission)
    if submission.id is None:
        session.flush()
    session.add(
        AuditEvent(
            at=moment,
            actor=actor,
            action="decision",
            submission_id=submission.id,
            detail={
                "from": None,
                "to": decision.value,
                "shown_from": shown_before,
                "shown": shown,
                "reason": reason,
                **(detail or {}),
            },
        )
    )


def reopen_for_review(
    session: Session, submission: Any, *, actor: str, detail: dict[str, Any] | None = None, at: datetime | None = None
) -> bool:
    """Clear a ``returned`` decision because the applicant sent the new version it asked for; False otherwise.

    The contract's "a later mail after ``returned`` opens a new version for review": the case is the reviewer's to
    decide again, on the new version's verdict. Audited as ``resubmitted``. The caller records the new verdict.
    """
    from zhengji.storage.models import AuditEvent

    if submission.decision != Decision.returned:
        return False
    moment = at or clock_now()
    submission.decision = None
    shown_before, shown = _show(submission, moment)
    session.add(submission)
    if submission.id is None:
        session.flush()
    session.add(
        AuditEvent(
            at=moment,
            actor=actor,
            action="resubmitted",
            submission_id=submission.id,
            detail={
                "from": Decision.returned.value,
                "to": None,
                "shown_from": shown_before,
                "shown": shown,
                **(detail or {}),
            },
        )
    )
    return True


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


class ReplyState(StrEnum):
    """Where a reply to a mail stands: queued, handed over, or why it will not be."""

    pending = "pending"
    sent = "sent"
    failed = "failed"  # the outgoing server could not be reached for about a day; retried with its mail
    refused = "refused"  # the outgoing server refused it for good (5xx: no such recipient, content refused)
    suppressed = "suppressed"  # not sent on purpose (automatic sender, rate cap); the reason is kept


REPLY_ALLOWED: dict[ReplyState, frozenset[ReplyState]] = {
    # handed over; refused for good (5xx); given up after about a day of failures
    ReplyState.pending: frozenset({ReplyState.sent, ReplyState.refused, ReplyState.failed}),
    # `zhengji reprocess --failed` sends it again once the outgoing account works
    ReplyState.failed: frozenset({ReplyState.pending}),
    # Sent, refused and suppressed are final: a refused reply retried is how an account gets blocked, and a
    # suppressed one was held back on purpose (a reviewer's new mail is a new reply).
    ReplyState.sent: frozenset(),
    ReplyState.refused: frozenset(),
    ReplyState.suppressed: frozenset(),
}


class ChatPushState(StrEnum):
    """Where a status notice for a linked chat stands."""

    pending = "pending"
    sent = "sent"
    failed = "failed"  # the channel refused it for good, or it kept failing
    expired = "expired"  # a chat that never came back for it


PUSH_ALLOWED: dict[ChatPushState, frozenset[ChatPushState]] = {
    ChatPushState.pending: frozenset({ChatPushState.sent, ChatPushState.failed, ChatPushState.expired}),
    ChatPushState.sent: frozenset(),
    ChatPushState.failed: frozenset(),
    ChatPushState.expired: frozenset(),
}


def move_replies(
    session: Session, before: ReplyState, after: ReplyState, *where: ColumnElement[bool], **values: Any
) -> int:
    """Move the replies that match ``where`` and are still ``before`` to ``after``; how many moved.

    The one writer of ``Reply.state`` after a reply is queued: a move ``REPLY_ALLOWED`` does not list raises
    :class:`TransitionError` before anything is written, and the ``WHERE state = before`` makes it a
    compare-and-set, so that two senders (or a sender and a clerk's retry) cannot both record an outcome. The
    caller commits, with whatever else the change belongs to.
    """
    from zhengji.storage.models import Reply

    if after not in REPLY_ALLOWED[before]:
        raise TransitionError(f"reply: {before.value} → {after.value} is not allowed")
    result = session.exec(update(Reply).where(col(Reply.state) == before, *where).values(state=after, **values))
    return int(result.rowcount)


def move_pushes(
    session: Session, before: ChatPushState, after: ChatPushState, *where: ColumnElement[bool], **values: Any
) -> int:
    """Move the chat pushes that match ``where`` and are still ``before`` to ``after``, as :func:`move_replies`
    moves replies (``PUSH_ALLOWED``); how many moved."""
    from zhengji.storage.models import ChatPush

    if after not in PUSH_ALLOWED[before]:
        raise TransitionError(f"chat push: {before.value} → {after.value} is not allowed")
    result = session.exec(update(ChatPush).where(col(ChatPush.state) == before, *where).values(state=after, **values))
    return int(result.rowcount)
