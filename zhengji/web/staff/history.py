"""A case's history for the reviewer: the mail thread (received and sent) and the audit trail in words."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from zhengji.mailbox.pipeline import read_mail
from zhengji.review.fields import show
from zhengji.review.labels import DECISION_LABELS, action_label, status_label
from zhengji.storage.blobs import BlobNotFound, BlobStore
from zhengji.storage.models import AuditEvent, Message, Reply
from zhengji.textsafe import clean_line

BODY_LIMIT = 6000
REPLY_STATES = {
    "pending": "待发送",
    "sent": "已发出",
    "failed": "发送失败",
    "refused": "被拒收",
    "suppressed": "未发送",
}
STEPS = {
    "parse": "读取附件",
    "check": "核验材料",
    "reply": "发送回复",
    "notify": "通知转人工",
    "reprocess": "重新核验",
    "decision": "发送审核结果",
}


@dataclass
class ThreadItem:
    at: datetime
    incoming: bool
    sender: str
    to: str
    subject: str
    body: str
    files: list[str] = field(default_factory=list)
    state: str = ""
    version: int | None = None


def thread(session: Session, submission_id: int, blobs: BlobStore) -> list[ThreadItem]:
    """Every mail of the case and every reply to it, in time order."""
    items: list[ThreadItem] = []
    for message in session.exec(
        select(Message).where(Message.submission_id == submission_id).order_by(col(Message.id))
    ).all():
        try:
            mail = read_mail(blobs.get(message.sha256))
        except (BlobNotFound, OSError):
            items.append(ThreadItem(message.received_at, True, message.envelope_from or "", "", "（原始邮件缺失）", ""))
            continue
        sender = clean_line(f"{mail.from_name} <{mail.from_address}>" if mail.from_name else mail.from_address, 200)
        items.append(
            ThreadItem(
                at=message.received_at,
                incoming=True,
                sender=sender,
                to=clean_line("、".join(message.envelope_to or mail.to), 300),
                subject=clean_line(mail.subject, 300),
                body=mail.text[:BODY_LIMIT],
                files=[clean_line(attachment.filename, 200) for attachment in mail.attachments],
                version=message.version,
            )
        )
    for reply in session.exec(select(Reply).where(Reply.submission_id == submission_id).order_by(col(Reply.id))).all():
        items.append(
            ThreadItem(
                at=reply.sent_at or reply.created_at,
                incoming=False,
                sender="受理系统",
                to=clean_line(reply.to_address, 200),
                subject=clean_line(reply.subject, 300),
                body=reply.body,
                state=REPLY_STATES.get(reply.state.value, reply.state.value),
            )
        )
    return sorted(items, key=lambda item: item.at)


def _describe(event: AuditEvent) -> str:
    detail: dict[str, Any] = event.detail or {}
    action = event.action
    if action == "status":
        text = f"{status_label(str(detail.get('from')))} → {status_label(str(detail.get('to')))}"
        return f"{text}（{clean_line(str(detail['reason']), 200)}）" if detail.get("reason") else text
    if action == "correction":
        return (
            f"更正“{detail.get('path')}”：{clean_line(show(detail.get('original')), 100) or '（空）'}"
            f" → {clean_line(show(detail.get('corrected')), 100) or '（空）'}"
        )
    if action == "decision":
        label = DECISION_LABELS.get(str(detail.get("decision")), str(detail.get("decision")))
        mail = "，邮件已排队发送" if detail.get("mail") == "pending" else f"，邮件未发送（{detail.get('suppressed')}）"
        reason = f"：{clean_line(str(detail.get('reason')), 200)}" if detail.get("reason") else ""
        return f"{label}{reason}{mail}"
    if action == "note":
        return clean_line(str(detail.get("text")), 500)
    if action == "assign":
        return f"分配给 {detail.get('to')}" if detail.get("to") else "取消分配"
    if action == "late_exception":
        return f"准许至 {detail.get('until')} 前逾期提交：{clean_line(str(detail.get('reason')), 200)}"
    if action == "recheck":
        return f"重新核验，结果：{status_label(str(detail.get('status')))}"
    if action in {"state", "failed"}:
        step = STEPS.get(str(detail.get("step")), str(detail.get("step") or ""))
        return (
            f"{step}（{detail.get('from')} → {detail.get('to')}）"
            if step
            else f"{detail.get('from')} → {detail.get('to')}"
        )
    if action in {"reply_sent", "reply_refused", "reply_suppressed"}:
        return f"第 {detail.get('sequence')} 封回复"
    if action == "reprocess":
        return "核验程序更新后重新核验" + ("，结果有变化" if detail.get("changed") else "，结果不变")
    return ""


@dataclass(frozen=True)
class TrailItem:
    at: datetime
    actor: str
    action: str
    text: str


def trail(session: Session, submission_id: int) -> list[TrailItem]:
    message_ids = select(Message.id).where(Message.submission_id == submission_id)
    events = session.exec(
        select(AuditEvent)
        .where(or_(col(AuditEvent.submission_id) == submission_id, col(AuditEvent.message_id).in_(message_ids)))
        .order_by(col(AuditEvent.id))
    ).all()
    actors = {"pipeline": "受理系统", "reprocess": "重新核验", "cli": "命令行"}
    return [
        TrailItem(event.at, actors.get(event.actor, event.actor), action_label(event.action), _describe(event))
        for event in events
    ]
