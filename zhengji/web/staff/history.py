"""A case's history for the reviewer: the mail thread (received and sent) and the audit trail in a clerk's words.

The audit log keeps machine values (mail states, action keys, dotted field paths); a clerk reads none of them:
this module says each in Chinese, and names a corrected field by the label its form prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from zhengji.mailbox.envelope import stored_envelope
from zhengji.parsers.titles import form_title
from zhengji.review.fields import show
from zhengji.review.labels import status_label
from zhengji.review.versions import path_label
from zhengji.storage.blobs import BlobStore
from zhengji.storage.models import AuditEvent, Document, Message, Reply
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
        if not message.envelope and not blobs.exists(message.sha256):
            items.append(ThreadItem(message.received_at, True, message.envelope_from or "", "", "（原始邮件缺失）", ""))
            continue
        mail = stored_envelope(message, blobs)
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


# A mail's states (``Message.state``) as a clerk says them.
MAIL_STATES = {
    "received": "已收到",
    "parsed": "附件已读取",
    "checked": "已核验",
    "replied": "已回复",
    "escalated": "转人工，正在通知发件人",
    "failed": "转人工处理",
    "ignored": "自动邮件，不予回复",
}
# Every audit action of a case, in words; an action missing here is shown as 其他记录, never by its key.
TRAIL_ACTIONS = {
    "state": "邮件处理",
    "failed": "转人工处理",
    "ignored": "自动邮件，不予回复",
    "status": "核验结果",
    "verdict": "核验结果",
    "recheck": "重新核验",
    "reprocess": "程序更新后重新核验",
    "decision": "审核决定",
    "resubmitted": "收到修改后的新版本",
    "correction": "更正栏目",
    "note": "备注",
    "assign": "分配审核人",
    "late_exception": "准许逾期提交",
    "reply_sent": "回复已发出",
    "reply_refused": "回复被对方服务器拒收",
    "reply_suppressed": "回复未发送",
    "question_filed": "归入咨询",
    "chat_linked": "聊天账号已绑定",
    "chat_unlinked": "聊天账号已解除绑定",
    "track_set": "设定征集事项",
    "not_submission": "标为非申报来信",
    "not_submission_cleared": "撤销“非申报来信”标记",
    "staff_answer": "工作人员答复来信",
}
SUPPRESSED = {
    "backfill": "补录的历史邮件，不回复",
    "no_address": "没有有效的回复地址",
    "daily_cap": "该发件人当日回复已达上限",
}
ACTORS = {"pipeline": "受理系统", "reprocess": "重新核验程序", "cli": "命令行", "system": "受理系统"}
CHANNELS = {"web": "网页咨询", "wechat": "微信", "telegram": "Telegram"}


def _shown(value: object) -> str:
    """A status, verdict or decision value in words (the audit log keeps the values)."""
    text = str(value)
    decided = {"accept": "予以受理", "return": "退回修改", "reject": "不予受理"}
    return decided.get(text) or status_label(text)


def _verdict(detail: dict[str, Any]) -> str:
    """A check's result: a change of the status shown, or the result that did not change (not a "change")."""
    before = detail.get("status_from") or detail.get("from")
    after = detail.get("status") or detail.get("to")
    if not after:
        return ""
    if before and before != after:
        text = f"{_shown(before)} → {_shown(after)}"
    else:
        text = f"结果：{_shown(after)}" + ("（未变）" if before == after else "")
    return f"{text}；{clean_line(str(detail['reason']), 200)}" if detail.get("reason") else text


def _field_name(detail: dict[str, Any], documents: dict[int, Document]) -> str:
    """A corrected field by the label its form prints, with the form and the copy it is in."""
    path = str(detail.get("path") or "")
    document = documents.get(int(detail.get("document_id") or 0))
    if document is None:
        return path_label("unknown", path)
    province = document.fields.get("province") if isinstance(document.fields.get("province"), str) else None
    name = path_label(document.form, path, province)
    if name == path and "." in path:  # a key the form data does not label: say where, never the dotted key
        name = "该栏"
    copy = "PDF版" if document.format == "pdf" else "Word版"
    return f"《{form_title(document.form, province)}》{copy}“{name}”"


def _describe(event: AuditEvent, documents: dict[int, Document]) -> str:
    detail: dict[str, Any] = event.detail or {}
    action = event.action
    if action in {"status", "verdict"}:
        return _verdict(detail)
    if action == "correction":
        return (
            f"更正{_field_name(detail, documents)}：{clean_line(show(detail.get('original')), 100) or '（空）'}"
            f" → {clean_line(show(detail.get('corrected')), 100) or '（空）'}"
        )
    if action == "decision":
        label = _shown(detail.get("decision") or detail.get("to"))
        mail = (
            "，邮件已排队发送"
            if detail.get("mail") == "pending"
            else f"，邮件未发送（{SUPPRESSED.get(str(detail.get('suppressed')), '未能发送')}）"
            if detail.get("mail")
            else ""
        )
        reason = f"：{clean_line(str(detail.get('reason')), 200)}" if detail.get("reason") else ""
        return f"{label}{reason}{mail}"
    if action == "resubmitted":
        return "申报人按退回意见发来新版本，原退回决定解除，待重新审核"
    if action == "note":
        return clean_line(str(detail.get("text")), 500)
    if action == "assign":
        return f"分配给 {detail.get('to')}" if detail.get("to") else "取消分配"
    if action == "late_exception":
        return f"准许至 {detail.get('until')} 前逾期提交：{clean_line(str(detail.get('reason')), 200)}"
    if action == "recheck":
        return _verdict(detail) or "已重新核验"
    if action in {"state", "failed"}:
        step = STEPS.get(str(detail.get("step")), "")
        before, after = MAIL_STATES.get(str(detail.get("from")), ""), MAIL_STATES.get(str(detail.get("to")), "")
        moved = f"{before} → {after}" if before and after else ""
        return "，".join(part for part in (step, moved) if part)
    if action == "ignored":
        return "自动回复或退信，不予回复"
    if action in {"reply_sent", "reply_refused", "reply_suppressed"}:
        text = f"第 {detail.get('sequence')} 封回复" if detail.get("sequence") else "回复"
        if action == "reply_suppressed" and detail.get("reason"):
            text += f"：{SUPPRESSED.get(str(detail.get('reason')), '未发送')}"
        return text
    if action == "reprocess":
        return "核验程序更新后重新核验" + ("，结果有变化" if detail.get("changed") else "，结果不变")
    if action == "track_set":
        return f"设定为“{clean_line(str(detail.get('label') or ''), 60)}”，并按该事项重新核验"
    if action == "not_submission":
        return f"不属于申报材料，移出待办：{clean_line(str(detail.get('reason') or ''), 200)}"
    if action == "not_submission_cleared":
        return "重新列入待办"
    if action == "staff_answer":
        mail = "，邮件已排队发送" if detail.get("mail") == "pending" else "，邮件未发送"
        return f"{clean_line(str(detail.get('text') or ''), 200)}{mail}"
    if action == "question_filed":
        return f"作为咨询归入 {clean_line(str(detail.get('reference') or ''), 40)}".strip()
    if action in {"chat_linked", "chat_unlinked"}:
        return CHANNELS.get(str(detail.get("channel")), "聊天渠道")
    return ""


@dataclass(frozen=True)
class TrailItem:
    at: datetime
    actor: str
    action: str
    text: str


def _actor(actor: str) -> str:
    if actor.startswith("chat:"):
        return f"申报人（{CHANNELS.get(actor[5:], '聊天渠道')}）"
    return ACTORS.get(actor, actor)


def trail(session: Session, submission_id: int) -> list[TrailItem]:
    """The case's audit events in a clerk's words: Chinese actions, mail states, and fields by their form labels.

    Every action is named in Chinese (an action this page does not know yet is 其他记录, never its key), and a
    check whose result is the one before is shown as a result, not as a status change to itself.
    """
    message_ids = select(Message.id).where(Message.submission_id == submission_id)
    events = session.exec(
        select(AuditEvent)
        .where(or_(col(AuditEvent.submission_id) == submission_id, col(AuditEvent.message_id).in_(message_ids)))
        .order_by(col(AuditEvent.id))
    ).all()
    wanted = {
        int(event.detail.get("document_id") or 0) for event in events if event.action == "correction" and event.detail
    }
    documents = {
        row.id: row for row in session.exec(select(Document).where(col(Document.id).in_(wanted))).all() if row.id
    }
    return [
        TrailItem(
            event.at, _actor(event.actor), TRAIL_ACTIONS.get(event.action, "其他记录"), _describe(event, documents)
        )
        for event in events
    ]
