"""Status and binding in words: what a linked chat learns of its submission, and the privacy answers.

A status answer says which documents of the latest version arrived, what is missing or wrong (the errors the
check found, never ``unlocated_field``, which is zhengji's blind spot and not the applicant's fault), the
reviewer's decision, and what to do next. Everything the sender wrote (file names, quoted values) is cleaned
before it is repeated.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from zhengji.bot.answers.windows import track_name
from zhengji.bot.wording import days_text
from zhengji.clock import SHANGHAI
from zhengji.notices.calendar import cn_date, cn_window, position
from zhengji.notices.registry import Track, load_registry
from zhengji.storage.models import AuditEvent, Document, Submission
from zhengji.storage.status import SubmissionStatus, last_verdict
from zhengji.textsafe import clean_line

NEEDS_CHAT = (
    "申报进度只向已验证发件邮箱的会话提供。请在网页在线咨询、微信公众号或 Telegram 中发送“绑定 申报编号”，"
    "验证码将发送至该申报材料的发件邮箱，验证后即可查询。"
)
ASK_REFERENCE = (
    "请发送“绑定”加申报编号，例如“绑定 ZJ-2025Q2-7K3M9P”（申报编号见受理回复邮件的主题），"
    "也可发送“绑定”加申报材料的发件邮箱。验证码将发送至该邮箱。"
)
WEAK_CHAT = "为保护申报信息，请在本中心网站的在线咨询页面发起绑定（当前会话标识无法确保只有您本人可用）。"
TOO_MANY_CODES = "您申请验证码过于频繁，请稍后再试（每个会话每小时最多 3 次，每天最多 10 次）。"
NO_PENDING_CODE = "没有待验证的验证码，或验证码已过期、已失效。请重新发送“绑定 申报编号”获取新的验证码。"
NOTHING_TO_LINK = "验证通过，但该邮箱下暂无可关联的申报材料。"
NOT_LINKED = (
    "本会话尚未关联申报材料。为保护申报信息，进度只向已验证发件邮箱的会话提供：请发送“绑定 申报编号”"
    "（编号见受理回复邮件的主题，如 ZJ-2025Q2-7K3M9P），验证码将发送至该申报材料的发件邮箱，验证后即可查询进度。"
)
NOT_LINKED_TO_UNLINK = "本会话没有关联任何申报材料，无需解绑。"

_FORMAT_NAMES = {
    "docx": "WORD版",
    "doc": "WORD版",
    "wps": "WORD版",
    "pdf": "PDF版",
    "xlsx": "Excel版",
    "xls": "Excel版",
}
_NEXT_STEP: dict[SubmissionStatus, str] = {
    SubmissionStatus.received: "材料已收到，正在检查，请稍候。",
    SubmissionStatus.complete: "材料齐全，等待工作人员审核，审核结果将通过邮件和本会话通知您。",
    SubmissionStatus.incomplete: "请按上述问题补正后，在受理时间内回复受理邮件（主题保留申报编号）重新发送全部材料。",
    SubmissionStatus.rejected: "本次材料不予受理，原因见上；请按说明在正确的受理时间内发送至正确的邮箱。",
    SubmissionStatus.unknown: "系统未能识别所属征集事项，工作人员将人工确认，请耐心等待。",
    SubmissionStatus.returned: "请按审核意见修改后，在受理时间内回复受理邮件（主题保留申报编号）重新提交。",
    SubmissionStatus.accepted: "材料已受理，后续评估安排以受理单位的通知为准。",
    SubmissionStatus.declined: (
        "经工作人员审核，本次申报不予受理，理由见上。如对审核结论有疑问，请回复审核结果邮件或咨询受理单位。"
    ),
}
MAX_ITEMS = 12
NAME_LIMIT = 80
ITEM_LIMIT = 300


def code_sent(reference: str | None, address: str | None, minutes: int, attempts: int) -> str:
    """The same words whether or not the reference (or address) is known: a reference alone reveals nothing."""
    if reference:
        target = f"如申报编号 {reference} 正确，验证码已发送至该申报材料的发件邮箱"
    else:
        target = f"如邮箱 {clean_line(address, NAME_LIMIT)} 曾发送申报材料，验证码已发送至该邮箱"
    return (
        f"{target}，{minutes} 分钟内有效，最多可尝试 {attempts} 次。请将邮件中的 6 位验证码发送给我，即可完成绑定。"
        "如未收到，请检查垃圾邮件箱，或稍后重新发送“绑定”。"
    )


def already_linked(reference: str) -> str:
    return f"本会话已关联申报编号 {reference}，发送“进度”即可查询。"


def wrong_code(remaining: int) -> str:
    if remaining <= 0:
        return "验证码不正确，已达到最多尝试次数，该验证码已失效。请重新发送“绑定 申报编号”获取新的验证码。"
    return f"验证码不正确，还可尝试 {remaining} 次。"


def linked(references: Sequence[str]) -> str:
    return (
        f"验证成功，本会话已关联申报编号 {'、'.join(references)}。申报材料状态变化时，将在本会话通知您；"
        "发送“解绑”可取消关联。"
    )


def unlinked(references: Sequence[str]) -> str:
    return f"已解除本会话与申报编号 {'、'.join(references)} 的关联，今后不再通知其进度。"


def not_linked_to(reference: str) -> str:
    return f"本会话未关联申报编号 {reference}。如需查询，请发送“绑定 {reference}”，验证码将发送至该申报材料的发件邮箱。"


def _when(moment: datetime) -> str:
    local = moment.astimezone(SHANGHAI)
    return f"{cn_date(local.date())}{local.hour}时{local.minute:02d}分"


def _form_names(track: str) -> dict[str, str]:
    names: dict[str, str] = {}
    if track in Track.__members__:
        for _, rule in load_registry().track_rules(track):
            for document in rule.documents:
                names[document.form.value] = document.name
    return names


def _document_line(document: Document, names: dict[str, str]) -> str:
    file = clean_line(document.filename, NAME_LIMIT)
    fmt = _FORMAT_NAMES.get(document.format, f"{document.format.upper()}版" if document.format else "")
    if document.form in names:
        return f"{file}：《{names[document.form]}》（{fmt}）"
    return f"{file}：附加材料"


def _errors(findings: list[dict[str, Any]]) -> list[str]:
    return [
        clean_line(str(finding.get("message", "")), ITEM_LIMIT)
        for finding in findings
        if finding.get("severity") == "error" and finding.get("code") != "unlocated_field"
    ]


def _decision(session: Session, submission: Submission) -> AuditEvent | None:
    """The audit event of the reviewer's decision that stands (with the reviewer's reason), if there is one."""
    if submission.decision is None:
        return None
    return session.exec(
        select(AuditEvent)
        .where(AuditEvent.submission_id == submission.id, AuditEvent.action == "decision")
        .order_by(col(AuditEvent.id).desc())
    ).first()


def _window(track: str, moment: datetime) -> str:
    if track not in Track.__members__:
        return ""
    pos = position(track, moment)
    if pos.window:
        return f"本期受理时间为{cn_window(pos.window)}，{days_text(pos)}。"
    if pos.next_window:
        return f"目前不在受理时间内，下一期为{cn_window(pos.next_window)}。"
    return ""


def describe(session: Session, submission: Submission, moment: datetime) -> str:
    """One submission's status as its linked chat reads it."""
    assert submission.id is not None
    status = SubmissionStatus(submission.status)
    name = track_name(Track(submission.track)) if submission.track in Track.__members__ else "征集事项待确认"
    notice = f"，{submission.notice}" if submission.notice else ""
    lines = [
        f"申报编号 {submission.reference}（{name}{notice}）",
        f"当前状态：{status.label}（更新于{_when(submission.updated_at)}）",
    ]
    documents = session.exec(
        select(Document)
        .where(Document.submission_id == submission.id, col(Document.superseded).is_(False))
        .order_by(col(Document.id))
    ).all()
    names = _form_names(submission.track)
    if documents:
        lines.append(f"已收到的材料（第 {submission.version} 版）：")
        lines += [f"· {_document_line(document, names)}" for document in documents[:MAX_ITEMS]]
        if len(documents) > MAX_ITEMS:
            lines.append(f"· 另有 {len(documents) - MAX_ITEMS} 个文件")
    problems: list[str] = []
    for document in documents:
        title = f"《{names[document.form]}》" if document.form in names else clean_line(document.filename, NAME_LIMIT)
        problems += [f"{title}：{error}" for error in _errors(document.findings)]
    verdict = last_verdict(session, submission.id)  # the pipeline's check, a reprocess or a reviewer's re-check
    if verdict is not None:
        problems += _errors(list(verdict.findings))
    if problems and status in {SubmissionStatus.incomplete, SubmissionStatus.rejected, SubmissionStatus.returned}:
        lines.append("需补正的问题：")
        lines += [f"{number}. {problem}" for number, problem in enumerate(problems[:MAX_ITEMS], 1)]
        if len(problems) > MAX_ITEMS:
            lines.append(f"（另有 {len(problems) - MAX_ITEMS} 项，详见受理回复邮件。）")
    decision = _decision(session, submission)
    if decision is not None:
        reason = clean_line(str(decision.detail.get("reason") or ""), ITEM_LIMIT)
        if reason and not reason.endswith(("。", "！", "？", ".")):
            reason += "。"
        lines.append(f"审核结论：{status.label}（{_when(decision.at)}）" + (f"，意见：{reason}" if reason else "。"))
    step = _NEXT_STEP[status]
    if status in {SubmissionStatus.incomplete, SubmissionStatus.returned, SubmissionStatus.rejected}:
        step += _window(submission.track, moment)
    lines.append(f"下一步：{step}")
    return "\n".join(lines)
