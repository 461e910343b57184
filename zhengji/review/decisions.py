"""Decisions on a submission: accept, return for correction, reject; and the reviewer's note and assignment.

Each decision goes through one path, as pretalx's ``set_submission_state`` does: validate, change the status
through :func:`zhengji.storage.status.transition` (which writes the audit event), write the decision's own
audit event, and queue the mail to the applicant through the pipeline's reply path
(:meth:`zhengji.mailbox.pipeline.Pipeline.add_reply`): threaded under the case's latest mail, numbered after its
earlier replies, capped per sender, and sent by the reply step at once. :func:`prepare` composes the same mail
without writing anything, so that the reviewer reads it before it goes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined
from sqlmodel import Session, col, select

from zhengji.clock import SHANGHAI, real_now, shanghai_date
from zhengji.mailbox.compose import ComposedReply, reply_subject
from zhengji.mailbox.mime import IncomingMail
from zhengji.mailbox.pipeline import Pipeline, read_mail, reply_address
from zhengji.notices.calendar import cn_date, cn_window, position
from zhengji.notices.registry import Track, load_registry
from zhengji.review.labels import DECISION_STATUS, track_label
from zhengji.storage.blobs import BlobNotFound
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
from zhengji.storage.status import CHECK_RESULTS, SubmissionStatus, move_mail, transition
from zhengji.textsafe import clean_line

ACTIONS = ("accept", "return", "reject")
DECIDABLE = frozenset({*CHECK_RESULTS, SubmissionStatus.in_review})
"""Statuses a reviewer may decide on: a machine verdict, or a case under review."""
REASON_LIMIT = 4000
SUBJECT_TAIL = {"accept": "审核结果：予以受理", "return": "审核意见：请修改后重新发送", "reject": "审核结果：不予受理"}
OUTCOME = {
    "accept": "现将审核结果告知如下。",
    "return": "现将审核意见告知如下。",
    "reject": "现将审核结果告知如下。",
}
DEFAULT_OFFICE = "上海市职业技能鉴定中心"
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
    ("reject", "逾期提交", "1. 申报材料在受理时间截止后收到，按照通知要求，逾期不予受理。"),
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
    incoming: IncomingMail


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


def _office(submission: Submission) -> str:
    registry = load_registry()
    for notice in registry.notices:
        if notice.number == submission.notice:
            return notice.office
    if submission.track in Track.__members__:
        return registry.track_rules(submission.track)[-1][0].office
    return DEFAULT_OFFICE


def _indented(reason: str) -> str:
    lines = [clean_line(line, 500) for line in reason.strip().splitlines()]
    return "\n".join(f"    {line}" if line else "" for line in lines)


def _received(moment: datetime) -> str:
    local = moment.astimezone(SHANGHAI)
    return f"{cn_date(local.date())}{local.hour}时{local.minute:02d}分"


def _window_text(submission: Submission, at: datetime) -> str:
    if submission.track not in Track.__members__:
        return ""
    pos = position(submission.track, at)
    if pos.window is not None:
        return f"本期受理时间截至{cn_date(pos.window.end)}。"
    if pos.next_window is not None:
        return f"下一期受理时间为{cn_window(pos.next_window)}。"
    return ""


def compose_decision(
    submission: Submission, message: Message, action: str, reason: str, *, today: datetime
) -> ComposedReply:
    """The mail that tells the applicant the decision, in the register of the automatic replies."""
    name = track_label(submission.track) if submission.track != "unknown" else ""
    subject_line = f"{name}材料" if name else "申报材料"
    shown = clean_line(submission.subject, 200)
    if shown:
        subject_line += f"（邮件主题：{shown}）"
    body = (
        _environment()
        .get_template("decision.txt.j2")
        .render(
            greeting=clean_line(submission.sender_name, 64) or "申报单位（个人）",
            received=_received(message.received_at),
            subject_line=subject_line,
            reference=submission.reference,
            office=_office(submission),
            outcome=OUTCOME[action],
            action=action,
            reason=_indented(reason),
            window_text=_window_text(submission, today) if action == "return" else "",
            today=cn_date(shanghai_date(today)),
        )
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
    if SubmissionStatus(submission.status) not in DECIDABLE:
        raise DecisionError(f"该申报当前状态为“{SubmissionStatus(submission.status).label}”，不能再作审核决定。")
    return reason


def prepare(
    session: Session, pipeline: Pipeline, submission: Submission, action: str, reason: str, *, lock: bool = False
) -> Prepared:
    """Validate the decision and compose its mail; nothing is written."""
    reason = check_decision(submission, action, reason)
    message = _latest_message(session, submission, lock=lock)
    try:
        incoming = read_mail(pipeline.blobs.get(message.sha256))
    except (BlobNotFound, OSError):
        incoming = IncomingMail()
    to_address = reply_address(incoming.from_address, message.envelope_from)
    composed = compose_decision(submission, message, action, reason, today=pipeline.now())
    return Prepared(action, reason, composed, to_address, message, incoming)


def decide(
    session: Session, pipeline: Pipeline, submission: Submission, action: str, reason: str, *, actor: str
) -> Decided:
    """Record the decision and queue its mail, in the caller's transaction (the caller commits)."""
    prepared = prepare(session, pipeline, submission, action, reason, lock=True)
    message = prepared.message
    assert message.id is not None and submission.id is not None
    if message.state in {MessageState.received, MessageState.parsed, MessageState.escalated} or (
        message.state is MessageState.checked
        and message.claimed_until is not None
        and message.claimed_until > real_now()
    ):
        raise DecisionError("该申报的邮件正在处理中，请稍候片刻再作决定。")
    at = pipeline.now()
    target = DECISION_STATUS[action]
    if SubmissionStatus(submission.status) is not SubmissionStatus.in_review:
        transition(session, submission, SubmissionStatus.in_review, actor=actor, at=at, reason="审核")
    transition(
        session, submission, target, actor=actor, at=at, reason=prepared.reason or None, detail={"decision": action}
    )
    reply = pipeline.add_reply(
        session,
        message,
        submission,
        prepared.composed,
        to_address=prepared.to_address,
        incoming=prepared.incoming,
        moment=at,
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
    suppressed = None
    if reply.state is ReplyState.suppressed:
        suppressed = (
            "该邮件为导入的历史邮件，系统不向其发件人回信"
            if not message.reply_wanted
            else "发件地址无效"
            if not prepared.to_address
            else "该发件人今日收到的回复已达上限"
        )
    session.add(
        AuditEvent(
            at=at,
            actor=actor,
            action="decision",
            submission_id=submission.id,
            message_id=message.id,
            detail={
                "decision": action,
                "reason": prepared.reason,
                "subject": prepared.composed.subject,
                "to": prepared.to_address,
                "mail": reply.state.value,
                "suppressed": suppressed,
            },
        )
    )
    return Decided(submission.reference, target, reply.state, suppressed)


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
