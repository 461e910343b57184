"""Composing the reply to a checked submission: polite, official Chinese, in the notices' register.

The wording lives in a Jinja2 template (``templates/reply.txt.j2``) so that the clerks' office can change a
sentence without touching code; this module only decides what goes into it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined

from zhengji.clock import SHANGHAI
from zhengji.notices.calendar import Window
from zhengji.notices.registry import FormId, load_registry
from zhengji.parsers.document import format_name
from zhengji.parsers.forms import form_title
from zhengji.parsers.model import Finding, ParsedDocument
from zhengji.parsers.submission import CheckedSubmission

DEFAULT_OFFICE = "上海市职业技能鉴定中心"


@dataclass(frozen=True)
class ComposedReply:
    subject: str
    body: str

    def as_json(self) -> dict[str, str]:
        return {"subject": self.subject, "body": self.body}


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("zhengji.mailbox", "templates"),
        autoescape=False,  # plain-text mail
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def cn_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def cn_window(window: Window) -> str:
    if window.start.year == window.end.year:
        return f"{cn_date(window.start)}至{window.end.month}月{window.end.day}日"
    return f"{cn_date(window.start)}至{cn_date(window.end)}"


def _received(moment: datetime) -> str:
    local = moment.astimezone(SHANGHAI)
    return f"{cn_date(local.date())}{local.hour}时{local.minute:02d}分"


def _describe(document: ParsedDocument) -> str:
    if document.form != FormId.unknown:
        title = form_title(document.form, document.fields.get("province"))
        return f"{document.file}：《{title}》（{format_name(document.format)}版）"
    if any(finding.code == "unreadable" for finding in document.findings):
        return f"{document.file}：无法读取"
    return f"{document.file}：附加材料"


def _item(finding: Finding) -> str:
    return f"【{finding.file}】{finding.message}" if finding.file else finding.message


def _window_text(checked: CheckedSubmission) -> str:
    pos = checked.position
    if pos is None:
        return "各征集事项的受理时间以相应通知为准，可在回复中询问。"
    parts = []
    if pos.window:
        left = pos.days_left()
        tail = "，今天截止" if left == 0 else f"，截至收件时尚余 {left} 天"
        parts.append(f"本期受理时间为{cn_window(pos.window)}{tail}。")
    else:
        parts.append("收件时不在受理时间内。")
    if pos.next_window:
        parts.append(f"下一期受理时间为{cn_window(pos.next_window)}。")
    else:
        parts.append("该事项暂无后续受理安排，以后续通知为准。")
    return "".join(parts)


def reply_subject(original: str | None, reference: str | None) -> str:
    subject = (original or "").strip() or "申报材料"
    while subject[:3].lower() in {"re:", "re："} or subject.startswith("回复："):
        subject = subject.split(":", 1)[-1].split("：", 1)[-1].strip()
    tag = f"【{reference}】" if reference and reference not in subject else ""
    return f"Re: {tag}{subject}"


def compose_reply(
    checked: CheckedSubmission,
    reference: str | None,
    today: date,
    changes: list[str] | None = None,
    *,
    reissued: bool = False,
) -> ComposedReply:
    """The reply for a checked submission; ``reference`` is None when nothing was stored (``zhengji check``).

    ``changes`` says what a new version of a case changed (files received anew, problems corrected);
    ``reissued`` marks a corrected answer to a mail already answered, after a clerk re-checked it.
    """
    notice = checked.notice
    office = notice.office if notice else _office_for(checked.mail.to)
    everything = checked.all_findings()
    errors = [_item(finding) for finding in everything if finding.severity == "error"]
    warnings = [_item(finding) for finding in everything if finding.severity == "warning"]
    name = checked.rule.name if checked.rule else None
    subject_line = f"{name}材料" if name else "邮件"
    if checked.mail.subject:
        subject_line += f"（邮件主题：{checked.mail.subject}）"
    body = (
        _environment()
        .get_template("reply.txt.j2")
        .render(
            greeting=checked.mail.sender_name or "申报单位（个人）",
            office=office,
            received=_received(checked.received),
            subject_line=subject_line,
            reference=reference,
            documents=[_describe(document) for document in checked.documents],
            status=checked.status,
            errors=errors,
            warnings=warnings,
            window_text=_window_text(checked),
            changes=changes or [],
            reissued=reissued,
            today=cn_date(today),
        )
    )
    return ComposedReply(reply_subject(checked.mail.subject, reference), body)


def compose_handed_to_staff(
    *, sender_name: str | None, subject: str | None, to: list[str], received: datetime, today: date
) -> ComposedReply:
    """The notice for a mail the pipeline gave up on: received, and taken over by staff (no verdict, no reference).

    Without it an applicant whose mail trips a fault would hear nothing and send it again and again.
    """
    subject_line = f"邮件（邮件主题：{subject}）" if subject else "邮件"
    body = (
        _environment()
        .get_template("handed_to_staff.txt.j2")
        .render(
            greeting=sender_name or "申报单位（个人）",
            office=_office_for(to),
            received=_received(received),
            subject_line=subject_line,
            today=cn_date(today),
        )
    )
    return ComposedReply(reply_subject(subject, None), body)


def _office_for(addresses: list[str]) -> str:
    wanted = {address.lower() for address in addresses}
    for notice in load_registry().notices:
        if any(rule.mailbox.lower() in wanted for rule in notice.tracks):
            return notice.office
    return DEFAULT_OFFICE
