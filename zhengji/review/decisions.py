"""Decisions on a submission: accept, return for correction, reject; and the reviewer's note and assignment.

Each decision goes through one path, as pretalx's ``set_submission_state`` does: validate, queue the mail to the
applicant through the reply queue (:func:`zhengji.mailbox.replies.queue_reply`: threaded under
the case's latest mail, numbered after its earlier replies, capped per sender, and sent by the reply step at once),
and record the decision through :func:`zhengji.storage.status.record_decision`, whose one audit event keeps the
reviewer, the reason and the mail. The decision lives beside the machine's verdict and is never changed by a
check: the action ``reject`` records ``declined``, a person's 不予受理. A case is decidable while no decision
stands (:func:`zhengji.storage.status.decidable`). :func:`prepare` composes the same mail without writing
anything, so that the reviewer reads it before it goes. A late exception's mail (:func:`announce_late`) takes the
same path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined
from sqlmodel import Session, col, select

from zhengji.clock import SHANGHAI, real_now, shanghai_date
from zhengji.mailbox.compose import ComposedReply, reply_subject
from zhengji.mailbox.envelope import Envelope, stored_envelope
from zhengji.mailbox.replies import ReplyDesk
from zhengji.notices.calendar import cn_date, opening_text, position
from zhengji.notices.registry import Center, Track, load_registry
from zhengji.review.labels import DECISION_STATUS, track_label
from zhengji.review.recheck import current_rows
from zhengji.storage.models import (
    Assignment,
    AuditEvent,
    DecisionTemplate,
    Message,
    MessageState,
    Reply,
    ReplyState,
    StaffUser,
    Submission,
)
from zhengji.storage.status import Decision, SubmissionStatus, Verdict, decidable, move_mail, record_decision
from zhengji.textsafe import clean_line

ACTIONS = ("accept", "return", "reject")
REASON_LIMIT = 4000
SUBJECT_TAIL = {"accept": "审核结果：予以受理", "return": "审核意见：请修改后重新发送", "reject": "审核结果：不予受理"}
OUTCOME = {
    "accept": "现将审核结果告知如下。",
    "return": "现将审核意见告知如下。",
    "reject": "现将审核结果告知如下。",
}
DEFAULT_TEMPLATES = [
    (
        "return",
        "缺少盖章或签字",
        "1. 请在申报材料的签章处加盖单位公章或由申报人签字，并将盖章（签字）后的PDF版与WORD版一并发送。",
    ),
    ("return", "材料内容不完整", "1. 申报材料中部分必填栏目空缺，请对照通知附件逐项填写完整后重新发送。"),
    ("return", "PDF版与WORD版不一致", "1. 申报材料的PDF版与WORD版内容不一致，请核对后以一致的版本重新发送。"),
    (
        "reject",
        "不属于征集范围",
        "1. 经核对，所申报的职业（工种）已收录于《中华人民共和国职业分类大典（2022年版）》，不属于本次征集范围。",
    ),
    # Early is not late: mail before a window opens is told when to send again, never that it is 逾期.
    (
        "reject",
        "逾期提交（受理时间已截止后收到）",
        "1. 申报材料在受理时间截止后收到，按照通知要求，逾期不予受理。",
    ),
    (
        "reject",
        "未到受理时间（受理开始前收到）",
        "1. 申报材料在受理时间开始前收到，该期征集尚未开始受理，本次不予受理。请在受理时间内重新发送。",
    ),
]


class DecisionError(ValueError):
    """A decision cannot be made as asked; ``str()`` is a sentence for the reviewer."""


@dataclass
class Prepared:
    """A decision ready to record: its mail, and where the mail goes."""

    action: str
    reason: str
    composed: ComposedReply
    to_address: str
    message: Message
    envelope: Envelope


@dataclass(frozen=True)
class Decided:
    reference: str
    status: SubmissionStatus
    mail: ReplyState  # pending: queued for the reply step; suppressed: not sent (cap, no address, back-filled mail)
    suppressed_reason: str | None = None


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("zhengji.review", "templates"),
        autoescape=False,  # plain-text mail
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def voice(submission: Submission, message: Message) -> Center:
    """The center a decision speaks for: the owner of the mailbox the case's mail was received at, whatever form
    it brought (a Guangdong 建议书 mailed to the Shanghai mailbox is decided by Shanghai); without that mailbox, the
    center of the case's track (:meth:`zhengji.notices.registry.Registry.voice`)."""
    track = submission.track if submission.track in Track.__members__ else None
    return load_registry().voice(message.envelope_to, track)


def _indented(reason: str) -> str:
    lines = [clean_line(line, 500) for line in reason.strip().splitlines()]
    return "\n".join(f"    {line}" if line else "" for line in lines)


def _received(moment: datetime) -> str:
    local = moment.astimezone(SHANGHAI)
    return f"{cn_date(local.date())}{local.hour}时{local.minute:02d}分"


def _early(submission: Submission, message: Message) -> bool:
    """The case's mail came before a window opened (尚未开始受理): its 不予受理 says when to send again."""
    if submission.track not in Track.__members__:
        return False
    return position(submission.track, message.received_at).early


def _window_text(submission: Submission, at: datetime) -> str:
    if submission.track not in Track.__members__:
        return ""
    pos = position(submission.track, at)
    if pos.window is not None:
        return f"本期受理时间截至{cn_date(pos.window.end)}。"
    return opening_text(pos)


def letter(
    template: str,
    submission: Submission,
    message: Message,
    *,
    today: datetime,
    about: str = "材料",
    greeting: str = "申报单位（个人）",
    **context: object,
) -> str:
    """A reviewer's mail to the applicant (a decision, a late exception, a clerk's answer): the same letterhead
    as the automatic replies, in the voice of the center whose mailbox received the case's mail."""
    name = track_label(submission.track) if submission.track in Track.__members__ else ""
    subject_line = f"{name}{about}" if name else ("申报材料" if about == "材料" else about)
    shown = clean_line(submission.subject, 200)
    if shown:
        subject_line += f"（邮件主题：{shown}）"
    center = voice(submission, message)
    return (
        _environment()
        .get_template(template)
        .render(
            greeting=clean_line(submission.sender_name, 64) or greeting,
            received=_received(message.received_at),
            subject_line=subject_line,
            reference=submission.reference,
            office=center.name,
            contact=center.contact,
            today=cn_date(shanghai_date(today)),
            **context,
        )
    )


def compose_decision(
    submission: Submission, message: Message, action: str, reason: str, *, today: datetime
) -> ComposedReply:
    """The mail that tells the applicant the decision, in the register of the automatic replies."""
    wants_window = action == "return" or (action == "reject" and _early(submission, message))
    body = letter(
        "decision.txt.j2",
        submission,
        message,
        today=today,
        outcome=OUTCOME[action],
        action=action,
        reason=_indented(reason),
        window_text=_window_text(submission, today) if wants_window else "",
    )
    subject = f"{reply_subject(submission.subject, submission.reference)}（{SUBJECT_TAIL[action]}）"
    return ComposedReply(subject, body)


def _latest_message(session: Session, submission: Submission, *, lock: bool = False) -> Message:
    query = select(Message).where(Message.submission_id == submission.id).order_by(col(Message.id).desc())
    if lock:
        query = query.with_for_update()
    message = session.exec(query).first()
    if message is None:
        raise DecisionError("该申报没有可回复的邮件。")
    return message


def check_decision(submission: Submission, action: str, reason: str) -> str:
    """The reason, trimmed, when the decision may be made; else :class:`DecisionError` says why."""
    if action not in ACTIONS:
        raise DecisionError("请选择审核决定：通过、退回修改或不予受理。")
    reason = reason.strip()
    if action in {"return", "reject"} and not reason:
        raise DecisionError("退回修改或不予受理时，须填写理由（将写入发给申报人的邮件）。")
    if len(reason) > REASON_LIMIT:
        raise DecisionError(f"理由不能超过 {REASON_LIMIT} 字。")
    if submission.decision is not None:
        raise DecisionError(f"该申报已有审核决定“{Decision(submission.decision).label}”，不能再作审核决定。")
    if not decidable(submission):
        raise DecisionError(f"该申报当前状态为“{Verdict(submission.verdict).label}”，尚不能作审核决定。")
    return reason


def prepare(
    session: Session, pipeline: ReplyDesk, submission: Submission, action: str, reason: str, *, lock: bool = False
) -> Prepared:
    """Validate the decision and compose its mail; nothing is written."""
    reason = check_decision(submission, action, reason)
    message = _latest_message(session, submission, lock=lock)
    envelope = stored_envelope(message, pipeline.blobs)
    to_address = envelope.reply_to
    composed = compose_decision(submission, message, action, reason, today=pipeline.now())
    return Prepared(action, reason, composed, to_address, message, envelope)


def _busy(message: Message) -> bool:
    """The pipeline is still working on the case's latest mail: a staff mail now could race its reply."""
    return message.state in {MessageState.received, MessageState.parsed, MessageState.escalated} or (
        message.state is MessageState.checked
        and message.claimed_until is not None
        and message.claimed_until > real_now()
    )


def _queue(
    session: Session,
    pipeline: ReplyDesk,
    submission: Submission,
    message: Message,
    composed: ComposedReply,
    to_address: str,
    envelope: Envelope,
    *,
    actor: str,
    at: datetime,
) -> Reply:
    """Queue a staff mail under the case's latest mail in the reply queue (the reply step sends it at once)."""
    assert message.id is not None and submission.id is not None
    reply = pipeline.add_reply(
        session, message, submission, composed, to_address=to_address, envelope=envelope, moment=at
    )
    if reply.state is ReplyState.pending and message.state in {MessageState.replied, MessageState.failed}:
        moved = move_mail(
            session,
            message.id,
            message.state,
            MessageState.checked,
            actor=actor,
            at=at,
            submission_id=submission.id,
            detail={"step": "decision"},
            next_attempt_at=None,
            attempts=0,
        )
        if not moved:
            raise DecisionError("该申报的邮件状态刚刚发生变化，请刷新页面后重试。")
    return reply


def compose_late(
    submission: Submission, message: Message, *, until: date, verdict: str, today: datetime
) -> ComposedReply:
    """The mail that tells the applicant a late exception was granted, in the center's voice like a decision."""
    body = letter(
        "late.txt.j2",
        submission,
        message,
        today=today,
        until=cn_date(until),
        decided=submission.decision is not None,
        status=verdict,
    )
    subject = f"{reply_subject(submission.subject, submission.reference)}（同意逾期补交）"
    return ComposedReply(subject, body)


def announce_late(
    session: Session, pipeline: ReplyDesk, submission: Submission, *, until: date, actor: str, at: datetime
) -> ReplyState:
    """Tell the applicant that a late exception was granted, after the case was re-checked under it.

    Without this mail a sender let in late would never learn it and would not send the corrected files in time.
    Queued like a decision's mail (threaded, capped per sender, sent by the reply step) and audited.
    """
    message = _latest_message(session, submission, lock=True)
    if _busy(message):
        raise DecisionError("该申报的邮件正在处理中，请稍候片刻再准许逾期提交。")
    envelope = stored_envelope(message, pipeline.blobs)
    to_address = envelope.reply_to
    composed = compose_late(submission, message, until=until, verdict=str(submission.verdict), today=at)
    reply = _queue(session, pipeline, submission, message, composed, to_address, envelope, actor=actor, at=at)
    session.add(
        AuditEvent(
            at=at,
            actor=actor,
            action="late_mail",
            submission_id=submission.id,
            message_id=message.id,
            detail={"subject": composed.subject, "to_address": to_address, "mail": reply.state.value},
        )
    )
    return reply.state


def decide(
    session: Session, pipeline: ReplyDesk, submission: Submission, action: str, reason: str, *, actor: str
) -> Decided:
    """Record the decision and queue its mail, in the caller's transaction (the caller commits)."""
    prepared = prepare(session, pipeline, submission, action, reason, lock=True)
    message = prepared.message
    assert message.id is not None and submission.id is not None
    if _busy(message):
        raise DecisionError("该申报的邮件正在处理中，请稍候片刻再作决定。")
    at = pipeline.now()
    reply = _queue(
        session, pipeline, submission, message, prepared.composed, prepared.to_address, prepared.envelope,
        actor=actor, at=at,
    )  # fmt: skip
    suppressed = None
    if reply.state is ReplyState.suppressed:
        suppressed = (
            "该邮件为导入的历史邮件，系统不向其发件人回信"
            if not message.reply_wanted
            else "发件地址无效"
            if not prepared.to_address
            else "该发件人今日收到的回复已达上限"
        )
    record_decision(
        session,
        submission,
        DECISION_STATUS[action],
        actor=actor,
        at=at,
        reason=prepared.reason or None,
        detail={
            "decision": action,
            "message_id": message.id,
            "subject": prepared.composed.subject,
            "to_address": prepared.to_address,
            "mail": reply.state.value,
            "suppressed": suppressed,
            # The version and the documents decided on: an export takes what was accepted, never a later mail's.
            "version": submission.version,
            "documents": [row.id for row in current_rows(session, submission.id)],
        },
    )
    return Decided(submission.reference, SubmissionStatus(submission.status), reply.state, suppressed)


def assign(session: Session, submission: Submission, staff: StaffUser | None, *, actor: str, at: datetime) -> None:
    """Give the case to a reviewer (None: to nobody); audited."""
    assert submission.id is not None
    current = session.get(Assignment, submission.id)
    if staff is None:
        if current is not None:
            session.delete(current)
    else:
        assert staff.id is not None
        if current is None:
            current = Assignment(submission_id=submission.id, staff_id=staff.id, assigned_by=actor, at=at)
        current.staff_id, current.assigned_by, current.at = staff.id, actor, at
        session.add(current)
    session.add(
        AuditEvent(
            at=at,
            actor=actor,
            action="assign",
            submission_id=submission.id,
            detail={"to": staff.name if staff else None},
        )
    )


def note(session: Session, submission: Submission, text: str, *, actor: str, at: datetime) -> None:
    text = text.strip()
    if not text:
        raise DecisionError("备注不能为空。")
    if len(text) > REASON_LIMIT:
        raise DecisionError(f"备注不能超过 {REASON_LIMIT} 字。")
    session.add(AuditEvent(at=at, actor=actor, action="note", submission_id=submission.id, detail={"text": text}))


def templates(session: Session, *, at: datetime) -> list[DecisionTemplate]:
    """The reasons reviewers reuse; the first call puts in the defaults."""
    found = list(
        session.exec(select(DecisionTemplate).order_by(col(DecisionTemplate.position), col(DecisionTemplate.id))).all()
    )
    if found:
        return found
    for number, (action, title, body) in enumerate(DEFAULT_TEMPLATES):
        session.add(
            DecisionTemplate(action=action, title=title, body=body, position=number, updated_by="系统", updated_at=at)
        )
    session.commit()
    return list(session.exec(select(DecisionTemplate).order_by(col(DecisionTemplate.position))).all())


def mails_of(session: Session, submission_id: int) -> list[Reply]:
    return list(session.exec(select(Reply).where(Reply.submission_id == submission_id).order_by(col(Reply.id))).all())
