"""The reply as the applicant reads it: the decisive reason first, each problem once, grouped by document.

Where it matters the documents are real: a filled 建议书 built as a .docx, exported to PDF by LibreOffice,
parsed and checked as the service does; a mail built as Foxmail sends it. Elsewhere the parsed documents are
built directly, in the shape the parsers give them.
"""

from __future__ import annotations

import unicodedata
import zipfile
from dataclasses import replace
from datetime import datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from io import BytesIO

import pytest

from tests.fixtures.forms.proposal_docx import build_proposal_docx, sample_proposal
from tests.mailbox.eml_builders import foxmail_mail
from tests.parsers.readers.office_files import soffice_convert
from tests.parsers.test_submission import complete_sh, proposal
from zhengji.clock import SHANGHAI
from zhengji.mailbox.compose import compose_handed_to_staff, compose_reply
from zhengji.mailbox.mime import parse_mail
from zhengji.parsers.document import ParseOptions, parse_attachments, parse_document
from zhengji.parsers.model import Finding, ParsedDocument
from zhengji.parsers.submission import CheckedSubmission, Mail, judge

IN_JUNE = datetime(2025, 6, 21, 10, 0, tzinfo=SHANGHAI)
IN_JULY = datetime(2025, 7, 2, 9, 15, tzinfo=SHANGHAI)  # between the June and September windows
SH = "yanfa312@126.com"
GD = "jnzx_zzyfk@gd.gov.cn"
OPTIONS = ParseOptions(at=IN_JUNE, isolate=False)
NO_DEFINITION = "缺少“新职业定义”"
BAD_PHONE = Finding(
    code="bad_phone",
    severity="error",
    message="“联系电话”不是有效的电话号码，请核对后填写。",
    field="contact.phone",
    file="建议书.pdf",
)
HOSTILE_MEMBER = "b\r\n【审核结果】材料齐全，已通过审核。\r\n.docx"
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"


def unlocated(file: str, field: str) -> Finding:
    return Finding(code="unlocated_field", severity="warning", message=f"未能定位“{field}”。", field=field, file=file)


def mail(at: datetime = IN_JUNE, to: str = SH, subject: str = "新职业征集材料") -> Mail:
    return Mail(attachments=[], received=at, to=[to], subject=subject, sender_name="某科技有限公司")


def body_of(checked: CheckedSubmission) -> str:
    return compose_reply(checked, reference="ZJ-2025Q2-7K3M9P", today=checked.received.date()).body


def findings_part(body: str) -> str:
    """Section 二 (the verdict and the problems), without the list of files received."""
    return body.split("二、初步核验结果", 1)[1]


def numbered(body: str) -> list[str]:
    """The numbered lines of section 二, without their numbers."""
    lines = [line.strip() for line in findings_part(body).splitlines()]
    return [line.split(". ", 1)[1] for line in lines if line[:1].isdigit() and ". " in line]


@pytest.fixture(scope="module")
def word_and_pdf() -> list[ParsedDocument]:
    """A 建议书 with its 新职业定义 left blank, as Word and as its LibreOffice PDF export, parsed and checked."""
    docx = build_proposal_docx(replace(sample_proposal(), definition=None))
    pdf = soffice_convert({"建议书.docx": docx}, "pdf")["建议书.pdf"]
    return [parse_document("建议书.docx", docx, "docx", OPTIONS), parse_document("建议书.pdf", pdf, "pdf", OPTIONS)]


def fresh(documents: list[ParsedDocument]) -> list[ParsedDocument]:
    return [document.model_copy(deep=True) for document in documents]


def test_a_problem_in_the_word_and_the_pdf_copy_is_told_once_naming_both(word_and_pdf: list[ParsedDocument]) -> None:
    for document in word_and_pdf:  # both copies really carry the finding: the reply is what merges them
        assert [finding.code for finding in document.findings if finding.field == "definition"] == ["missing_field"]
    summaries = [document for document in complete_sh() if document.form == "new_occupation_summary"]
    body = body_of(judge(mail(), [*fresh(word_and_pdf), *summaries]))
    part = findings_part(body).split("以下事项供参考")[0]
    assert part.count(NO_DEFINITION) == 1, body
    assert "《新职业信息建议书》（Word版、PDF版）" in part
    heading = part.index("《新职业信息建议书》（Word版、PDF版）")
    assert heading < part.index(NO_DEFINITION)
    assert "建议书.docx" not in part and "建议书.pdf" not in part  # the copies are named by kind, not file twice
    # The receipt still lists every file the mail brought.
    assert "建议书.docx：《新职业信息建议书》（Word版）" in body and "建议书.pdf：《新职业信息建议书》（PDF版）" in body


def test_a_problem_read_in_the_pdf_copy_only_is_not_told(word_and_pdf: list[ParsedDocument]) -> None:
    """The Word copy is the text of record: a field error only the PDF's reading makes (issue 17) is not told."""
    documents = fresh(word_and_pdf)
    documents[1].findings.append(BAD_PHONE)
    items = numbered(body_of(judge(mail(), documents)))
    assert not any(BAD_PHONE.message in item for item in items)
    assert sum(NO_DEFINITION in item for item in items) == 1


def test_items_are_grouped_by_document_the_submission_first() -> None:
    first = proposal("甲.docx", "docx", name="无人机群飞表演编队师")
    first_pdf = proposal("甲.pdf", "pdf", name="无人机群飞表演编队师")
    second = proposal("乙.docx", "docx", name="低空物流调度员")
    first.findings = [Finding(code="missing_field", severity="error", message="缺少“所属行业”，请补充填写。",
                              field="industry", file="甲.docx")]  # fmt: skip
    first_pdf.findings = [first.findings[0].model_copy(update={"file": "甲.pdf"})]
    second.findings = [Finding(code="missing_field", severity="error", message="缺少“新职业定义”，请补充填写。",
                               field="definition", file="乙.docx")]  # fmt: skip
    body = body_of(judge(mail(), [first, second, first_pdf]))
    part = findings_part(body)
    headings = [line.strip() for line in part.splitlines() if line.strip().startswith("（")]
    assert headings == [
        "（一）申报材料整体",
        "（二）《新职业信息建议书》“无人机群飞表演编队师”（Word版、PDF版）",
        "（三）《新职业信息建议书》“低空物流调度员”（Word版）",
    ], body
    # Each item under its own heading, numbered on across the groups.
    assert part.index("未收到《新职业汇总表》") < part.index("（二）") < part.index("所属行业") < part.index("（三）")
    assert part.index("（三）") < part.index("缺少“新职业定义”")
    assert [item[:2] for item in numbered(body)][-2:] == ["缺少", "缺少"]
    assert sum("缺少“所属行业”" in item for item in numbered(body)) == 1


def test_the_wrong_mailbox_comes_first_before_any_other_problem(word_and_pdf: list[ParsedDocument]) -> None:
    checked = judge(mail(to=GD), fresh(word_and_pdf))
    assert checked.status == "rejected"
    body = body_of(checked)
    items = numbered(body)
    # In the voice of the Guangdong center that received it, naming the Shanghai mailbox (was: no voice at all).
    assert items[0].startswith("本邮箱（jnzx_zzyfk@gd.gov.cn）为广东省职业技能服务指导中心的受理邮箱")
    assert "新职业征集的材料应发送至 yanfa312@126.com（上海市职业技能鉴定中心）" in items[0]
    assert any(NO_DEFINITION in item for item in items[1:])
    part = findings_part(body)
    assert part.index("原因如下") < part.index("yanfa312@126.com") < part.index(NO_DEFINITION)


def test_outside_the_window_the_reply_is_short_and_names_the_next_window(word_and_pdf: list[ParsedDocument]) -> None:
    documents = fresh(word_and_pdf)
    documents[1].findings.append(BAD_PHONE)
    stray = Finding(
        code="unknown_form", severity="warning", message="“照片.png”不是所附的表格，已留存。", file="照片.png"
    )
    extra = ParsedDocument(file="照片.png", format="png", form="unknown", findings=[stray])
    late = body_of(judge(mail(at=IN_JULY), [*documents, extra]))
    timely = body_of(judge(mail(at=IN_JUNE), fresh([*documents, extra])))

    items = numbered(late)
    # Between the June and September windows the mail is early for the next one, never late (it was "逾期").
    assert items[0].startswith("本邮件于2025年7月2日收到，新职业征集下一期尚未开始受理（上一期已于2025年6月30日结束）")
    assert "下一期受理时间为2025年9月20日至9月30日，请届时重新发送。" in items[0]
    assert "逾期" not in late
    # The other problems in brief: how many, then one line a document.
    assert "材料中另有 2 处问题" in late
    assert "《新职业信息建议书》（Word版、PDF版）：缺少“新职业定义”，请补充填写。" in late
    # A problem only the PDF copy's reading has is not the applicant's: the Word copy is the text of record.
    assert "联系电话" not in late
    assert "未收到《新职业汇总表》（附件2），请补充发送。" in items
    assert len(items) == 3
    # No advice, no window section: nothing of this mail can be accepted now.
    assert "供参考，不影响受理" not in late and "三、受理时间" not in late
    assert len(late.splitlines()) < len(timely.splitlines())


def test_unlocated_fields_are_never_an_item_and_the_clerk_checks_by_hand() -> None:
    documents = complete_sh()
    documents[0].findings = [unlocated("建议书.docx", "industry"), unlocated("建议书.docx", "laws")]
    documents[1].findings = [unlocated("建议书.pdf", "industry")]
    checked = judge(mail(), documents)
    assert checked.status == "complete"
    body = body_of(checked)
    note = (
        "《新职业信息建议书》（Word版、PDF版）已收到，其中部分内容系统未能自动识别，"
        "将由工作人员人工核对，无需重新发送。"
    )
    assert body.count(note) == 1, body
    assert "未能定位" not in body and "存在以下问题" not in body and "供参考" not in body
    assert "材料齐全" in body and "人工审核" in body
    assert numbered(body) == []
    assert "《新职业汇总表》（Word版、PDF版）已收到" not in body  # only the document that has them


def test_unlocated_fields_beside_real_problems(word_and_pdf: list[ParsedDocument]) -> None:
    documents = fresh(word_and_pdf)
    documents[1].findings.append(unlocated("建议书.pdf", "laws"))
    body = body_of(judge(mail(), documents))
    assert all("未能定位" not in item for item in numbered(body))
    assert body.count("部分内容系统未能自动识别，将由工作人员人工核对") == 1
    assert any(NO_DEFINITION in item for item in numbered(body))
    # A rejected mail is not reviewed: the reply promises no clerk's check.
    late = body_of(judge(mail(at=IN_JULY), fresh(documents)))
    assert "人工核对" not in late and "未能定位" not in late


def test_when_no_form_is_recognised_the_reply_says_why_a_file_could_not_be_read() -> None:
    docx = build_proposal_docx(sample_proposal())
    broken = parse_document("汇总表.docx", docx[: len(docx) // 2], "docx", OPTIONS)
    reason = broken.findings[0]
    assert reason.code == "unreadable" and reason.message
    checked = judge(mail(subject="材料"), [broken])
    assert checked.status == "unknown"
    body = body_of(checked)
    assert "汇总表.docx：无法读取" in body
    assert reason.message in findings_part(body)
    assert "系统未能识别本邮件所属的征集事项" in body


def test_hostile_subject_sender_and_member_names_come_out_on_one_clean_line() -> None:
    docx = build_proposal_docx(sample_proposal())
    archive = BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr(HOSTILE_MEMBER, docx[:2000])
        bundle.writestr(f"{BIDI}建议书.docx", docx)
    subject = f"新职业征集材料\r\n【审核结果】已通过{BIDI}" + "长" * 400
    sender = f"某科技\r\n【审核结果】材料齐全{BIDI}有限公司"
    raw = foxmail_mail(subject, (sender, "hr@example.com"), [SH], "附件请查收", [("材料.zip", archive.getvalue())],
                       charset="UTF-8")  # fmt: skip
    incoming = parse_mail(raw)
    letter = Mail(
        attachments=[(item.filename, item.data) for item in incoming.attachments],
        received=IN_JUNE,
        to=incoming.to,
        sender=incoming.from_address,
        sender_name=incoming.from_name,
        subject=incoming.subject,
    )
    documents = parse_attachments(letter.attachments, OPTIONS)
    assert any("\r\n" in document.file for document in documents)  # the hostile name reached the reply step
    reply = compose_reply(judge(letter, documents), reference="ZJ-2025Q2-7K3M9P", today=IN_JUNE.date())

    for text in (reply.subject, *reply.body.splitlines()):
        assert not any(unicodedata.category(char) == "Cc" or char in BIDI for char in text), repr(text)
        assert not text.strip().startswith("【审核结果】"), reply.body
    assert "\r" not in reply.body
    assert reply.body.splitlines()[0] == "某科技 【审核结果】材料齐全有限公司："
    quoted = next(line for line in reply.body.splitlines() if "邮件主题：" in line)
    assert "新职业征集材料 【审核结果】已通过长" in quoted and "…）" in quoted
    assert reply.subject.startswith("Re: 【ZJ-2025Q2-7K3M9P】新职业征集材料 【审核结果】已通过长")
    assert reply.subject.endswith("…") and len(reply.subject) <= 200 + len("Re: 【ZJ-2025Q2-7K3M9P】")
    assert "材料.zip › b 【审核结果】材料齐全，已通过审核。 .docx：无法读取" in reply.body
    assert "材料.zip › 建议书.docx：《新职业信息建议书》（Word版）" in reply.body
    outgoing = EmailMessage()
    outgoing["Subject"] = reply.subject  # the mail library refuses a CR/LF here: the reply could never be sent
    outgoing.set_content(reply.body)
    assert message_from_bytes(outgoing.as_bytes(), policy=default)["Subject"] == reply.subject


def test_the_handed_to_staff_notice_is_cleaned_too() -> None:
    notice = compose_handed_to_staff(
        sender_name=f"张三\r\n【审核结果】{BIDI}",
        subject="材料\n【审核结果】通过",
        to=[SH],
        received=IN_JUNE,
        today=IN_JUNE.date(),
    )
    assert notice.subject == "Re: 材料 【审核结果】通过"
    assert notice.body.splitlines()[0] == "张三 【审核结果】："
    assert not any(line.lstrip().startswith("【审核结果】") for line in notice.body.splitlines())
