"""The submission check: each submission-level finding is raised when it should be, and only then."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from zhengji.clock import SHANGHAI
from zhengji.mailbox.compose import compose_reply
from zhengji.parsers.model import Finding, ParsedDocument
from zhengji.parsers.submission import CheckedSubmission, Mail, judge

IN_JUNE = datetime(2025, 6, 21, 10, 0, tzinfo=SHANGHAI)
SH = "yanfa312@126.com"
GD = "jnzx_zzyfk@gd.gov.cn"
UNSIGNED = Finding(code="unsigned", severity="error", message="未盖章或签字。", file="x")


def doc(file: str, fmt: str, form: str, **fields: Any) -> ParsedDocument:
    return ParsedDocument(file=file, format=fmt, form=form, fields=fields)


def proposal(file: str, fmt: str, name: str = "无人机群飞表演编队师", **extra: Any) -> ParsedDocument:
    return doc(file, fmt, "new_occupation_proposal", name=name, province="shanghai", **extra)


def summary(file: str, fmt: str, *names: str) -> ParsedDocument:
    rows = [{"seq": i, "name": name, "proposer": "某单位"} for i, name in enumerate(names, 1)]
    return doc(file, fmt, "new_occupation_summary", rows=rows, province="shanghai")


def complete_sh() -> list[ParsedDocument]:
    return [
        proposal("建议书.docx", "docx"),
        proposal("建议书.pdf", "pdf"),
        summary("汇总表.docx", "docx", "无人机群飞表演编队师"),
        summary("汇总表.pdf", "pdf", "无人机群飞表演编队师"),
    ]


def mail(to: str | None = SH, at: datetime = IN_JUNE, subject: str = "新职业征集材料") -> Mail:
    return Mail(attachments=[], received=at, to=[to] if to else [], subject=subject, sender_name="某科技有限公司")


def codes(checked: CheckedSubmission) -> list[str]:
    return sorted(finding.code for finding in checked.findings)


def test_a_complete_shanghai_submission() -> None:
    checked = judge(mail(), complete_sh())
    assert (checked.track, checked.status, codes(checked)) == ("new_occupation", "complete", [])
    assert checked.as_json()["notice"] == "沪人社职〔2025〕77号"
    assert checked.as_json()["window"] == {"start": "2025-06-20", "end": "2025-06-30"}


def test_missing_document_names_the_form() -> None:
    checked = judge(mail(), complete_sh()[:2])
    assert codes(checked) == ["missing_document"]
    assert "新职业汇总表" in checked.findings[0].message
    assert checked.status == "incomplete"


def test_missing_format_for_each_form_without_its_pdf() -> None:
    checked = judge(mail(), [d for d in complete_sh() if d.format != "pdf"])
    assert codes(checked) == ["missing_format", "missing_format"]
    assert all("缺少PDF电子版" in finding.message for finding in checked.findings)


def test_an_xlsx_counts_as_the_editable_version_of_a_table_form() -> None:
    rows = [{"seq": 1, "code": "4-04-05-05", "occupation": "人工智能训练师"}]
    docs = [
        doc("推荐表.xlsx", "xlsx", "skill_level_recommendation", rows=rows),
        doc("推荐表.pdf", "pdf", "skill_level_recommendation", rows=rows),
    ]
    assert codes(judge(mail(), docs)) == []
    assert codes(judge(mail(), docs[:1])) == ["missing_format"]


def test_summary_row_without_its_proposal_and_proposal_without_its_row() -> None:
    docs = [
        *complete_sh()[:2],
        summary("汇总表.docx", "docx", "无人机群飞表演编队师", "算力调度员"),
        summary("汇总表.pdf", "pdf", "无人机群飞表演编队师", "算力调度员"),
        proposal("另一份建议书.docx", "docx", name="数字孪生运维师"),
        proposal("另一份建议书.pdf", "pdf", name="数字孪生运维师"),
    ]
    checked = judge(mail(), docs)
    mismatches = [finding for finding in checked.findings if finding.code == "mismatch"]
    assert {finding.severity for finding in mismatches} == {"error"}
    assert any("算力调度员" in finding.message and finding.row == 2 for finding in mismatches)
    assert any("数字孪生运维师" in finding.message for finding in mismatches)


def test_pdf_and_word_that_differ_is_a_warning() -> None:
    docs = complete_sh()
    docs[1] = proposal("建议书.pdf", "pdf", definition="另一种定义")
    checked = judge(mail(), docs)
    assert [(f.code, f.severity, f.field) for f in checked.findings] == [("mismatch", "warning", "definition")]
    assert checked.status == "complete"


def test_outside_the_window_is_rejected_and_names_the_next_window() -> None:
    checked = judge(mail(at=datetime(2025, 7, 1, 0, 0, tzinfo=SHANGHAI)), complete_sh())
    assert codes(checked) == ["outside_window"]
    assert checked.status == "rejected"
    assert "2025年9月20日" in checked.findings[0].message
    assert "尚未开始受理" in checked.findings[0].message and "逾期" not in checked.findings[0].message


def test_wrong_mailbox_is_rejected_but_the_window_is_still_computed() -> None:
    docs = [doc("新职业建议书.docx", "docx", "new_occupation_proposal", name="X", province="guangdong")]
    checked = judge(mail(to=SH, at=datetime(2026, 7, 1, 10, 0, tzinfo=SHANGHAI)), docs)
    assert checked.track == "gd_new_occupation"
    assert codes(checked) == ["wrong_mailbox"]
    assert GD in checked.findings[0].message
    assert checked.as_json()["window"] == {"start": "2026-06-02", "end": "2026-08-10"}


def test_guangdong_proposal_alone_is_complete_but_a_summary_needs_every_proposal() -> None:
    at = datetime(2026, 7, 1, 10, 0, tzinfo=SHANGHAI)
    gd_proposal = doc("新职业建议书.docx", "docx", "new_occupation_proposal", name="甲", province="guangdong")
    assert judge(mail(to=GD, at=at), [gd_proposal]).status == "complete"
    gd_summary = doc(
        "汇总表.docx", "docx", "new_occupation_summary", province="guangdong",
        rows=[{"seq": 1, "name": "甲"}, {"seq": 2, "name": "乙"}],
    )  # fmt: skip
    checked = judge(mail(to=GD, at=at), [gd_proposal, gd_summary])
    assert codes(checked) == ["mismatch"]
    assert checked.findings[0].row == 2


def test_a_red_seal_on_the_pdf_signs_the_word_file_too() -> None:
    docs = complete_sh()
    docs[0] = docs[0].model_copy(update={"findings": [UNSIGNED]})
    docs[1] = docs[1].model_copy(update={"findings": [UNSIGNED], "red_seals": 1})
    checked = judge(mail(), docs)
    assert checked.status == "complete"
    unsigned_left = [d for d in checked.documents if any(f.code == "unsigned" for f in d.findings)]
    assert unsigned_left == []


def test_without_a_seal_unsigned_stays() -> None:
    docs = complete_sh()
    docs[0] = docs[0].model_copy(update={"findings": [UNSIGNED]})
    assert judge(mail(), docs).status == "incomplete"


def test_a_scanned_pdf_takes_the_form_of_its_word_twin() -> None:
    scanned = Finding(code="scanned", severity="warning", message="扫描件", file="建议书.pdf")
    docs = complete_sh()
    docs[1] = ParsedDocument(file="建议书.pdf", format="pdf", form="unknown", findings=[scanned], text_layer=False)
    checked = judge(mail(), docs)
    assert checked.documents[1].form == "new_occupation_proposal"
    assert checked.documents[1].findings == []
    assert checked.status == "complete"


def test_a_scan_on_its_own_stays_unknown_and_scanned() -> None:
    scanned = Finding(code="scanned", severity="warning", message="扫描件", file="扫描.pdf")
    alone = ParsedDocument(file="扫描.pdf", format="pdf", form="unknown", findings=[scanned], text_layer=False)
    checked = judge(mail(subject="材料"), [alone])
    assert checked.track == "unknown" and checked.status == "unknown"
    assert checked.documents[0].findings == [scanned]
    assert checked.as_json()["window"] is None and checked.as_json()["next_window"] is None


def test_a_mail_without_files_is_a_question_whatever_its_subject_names() -> None:
    # It once became a 新职业 case demanding the 建议书 and the 汇总表 of someone who only asked.
    checked = judge(mail(subject="关于新职业征集的咨询"), [])
    assert (checked.track, checked.status, codes(checked)) == ("unknown", "unknown", [])


def test_subject_names_the_track_when_no_form_is_attached() -> None:
    letter = ParsedDocument(file="说明.docx", format="docx", form="unknown")
    checked = judge(mail(subject="关于新职业征集的材料"), [letter])
    assert checked.track == "new_occupation"
    assert codes(checked) == ["missing_document", "missing_document"]


def test_evaluator_materials_are_looked_for_by_name() -> None:
    at = datetime(2025, 6, 25, 10, 0, tzinfo=SHANGHAI)
    letter = doc("推荐函.docx", "docx", "evaluator_recommendation_letter", applicant="某公司")
    present = [letter] + [
        doc(name, "pdf", "unknown")
        for name in ("信用报告.pdf", "申请表.pdf", "营业执照.pdf", "职业技能等级认定工作方案.pdf", "题库样卷.pdf")
    ]
    assert codes(judge(mail(at=at), present)) == []
    checked = judge(mail(at=at), present[:3])
    assert codes(checked) == ["missing_document"] * 3


def test_forms_of_two_tracks_in_one_mail() -> None:
    stray = doc("推荐表.docx", "docx", "skill_level_recommendation", rows=[])
    checked = judge(mail(), [*complete_sh(), stray])
    assert checked.track == "new_occupation"
    assert [(f.code, f.severity) for f in checked.findings] == [("unknown_form", "warning")]


def test_the_reply_lists_the_files_the_problems_and_the_windows() -> None:
    checked = judge(mail(), complete_sh()[:2])
    reply = compose_reply(checked, reference="ZJ-2025Q2-7K3M9P", today=IN_JUNE.date())
    assert reply.subject == "Re: 【ZJ-2025Q2-7K3M9P】新职业征集材料"
    body = reply.body
    assert body.startswith("某科技有限公司：")
    assert "上海市职业技能鉴定中心已于2025年6月21日10时00分收到" in body
    assert "建议书.docx：《新职业信息建议书》（Word版）" in body
    assert "未收到《新职业汇总表》（附件2）" in body
    assert "本期受理时间为2025年6月20日至6月30日，截至收件时尚余 9 天。" in body
    assert "下一期受理时间为2025年9月20日至9月30日。" in body


def test_the_reply_to_a_complete_submission_says_so() -> None:
    reply = compose_reply(judge(mail(), complete_sh()), reference=None, today=IN_JUNE.date())
    assert "材料齐全" in reply.body
    assert "存在以下问题" not in reply.body
    assert reply.subject == "Re: 新职业征集材料"


def test_the_guangdong_reply_is_signed_by_the_guangdong_office() -> None:
    at = datetime(2026, 7, 1, 10, 0, tzinfo=SHANGHAI)
    gd_proposal = doc("新职业建议书.docx", "docx", "new_occupation_proposal", name="甲", province="guangdong")
    reply = compose_reply(judge(mail(to=GD, at=at), [gd_proposal]), reference=None, today=at.date())
    assert "广东省职业技能服务指导中心" in reply.body
    assert "上海市职业技能鉴定中心" not in reply.body


def test_guangdong_wants_the_word_version_only() -> None:
    at = datetime(2026, 7, 1, 10, 0, tzinfo=SHANGHAI)
    pdf_only = doc("新职业建议书.pdf", "pdf", "new_occupation_proposal", name="甲", province="guangdong")
    checked = judge(mail(to=GD, at=at), [pdf_only])
    assert codes(checked) == ["missing_format"]
    assert "须提交WORD电子版，本次缺少WORD电子版" in checked.findings[0].message


BAD_EMAIL = Finding(code="bad_email", severity="error", message="“off”不是有效的电子邮箱地址", field="contact.email")


def test_a_paired_pdf_is_not_judged_again_but_a_pdf_alone_is() -> None:
    docs = complete_sh()
    docs[1] = docs[1].model_copy(update={"findings": [BAD_EMAIL]})
    checked = judge(mail(), docs)
    assert [f.code for f in checked.all_findings()] == []
    assert checked.status == "complete"
    alone = judge(mail(), [docs[1]])
    assert "bad_email" in [f.code for f in alone.all_findings()]


def test_an_unreadable_word_copy_leaves_the_pdf_as_the_text_of_record() -> None:
    unreadable = Finding(code="unreadable", severity="error", message="无法打开", file="建议书.doc")
    docs = complete_sh()
    docs[0] = ParsedDocument(file="建议书.doc", format="doc", form="unknown", findings=[unreadable])
    docs[1] = docs[1].model_copy(update={"findings": [BAD_EMAIL]})
    checked = judge(mail(), docs)
    assert sorted(f.code for f in checked.all_findings()) == ["bad_email", "missing_format", "unreadable"]


def test_twins_that_differ_only_in_width_spacing_and_hyphenation_agree() -> None:
    docs = complete_sh()
    word: dict[str, Any] = {
        "contact": {"phone": "021-54781234", "email": "office@fengfei-air.com"},
        "definition": "management",
    }
    pdf: dict[str, Any] = {
        "contact": {"phone": "０２１－ 5478 1234", "email": "office@fengfei-\nair.com"},
        "definition": "manage-\nment",
    }
    docs[0] = proposal("建议书.docx", "docx", **word)
    docs[1] = proposal("建议书.pdf", "pdf", **pdf)
    assert codes(judge(mail(), docs)) == []


def test_each_really_differing_field_is_one_warning_with_both_values() -> None:
    docs = complete_sh()
    docs[0] = proposal("建议书.docx", "docx", contact={"phone": "021-54781234", "person": "王敏"})
    docs[1] = proposal("建议书.pdf", "pdf", contact={"phone": "021-54781299", "person": "李华"})
    checked = judge(mail(), docs)
    mismatches = [f for f in checked.findings if f.code == "mismatch"]
    assert [(f.severity, f.field) for f in mismatches] == [("warning", "contact.phone"), ("warning", "contact.person")]
    assert "021-54781234" in mismatches[0].message and "021-54781299" in mismatches[0].message
    assert checked.status == "complete"


def test_a_field_one_copy_did_not_locate_is_no_mismatch() -> None:
    unlocated = Finding(code="unlocated_field", severity="warning", message="未找到", field="definition")
    docs = complete_sh()
    docs[0] = proposal("建议书.docx", "docx", definition="从事无人机集群表演的人员。")
    docs[1] = docs[1].model_copy(update={"findings": [unlocated]})
    assert codes(judge(mail(), docs)) == []
