"""新职业（信息）建议书 (new_occupation_proposal) in Shanghai (77号) and Guangdong (159号)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.parsers.checks import samples
from tests.parsers.checks.conftest import MakeContext
from zhengji.notices.registry import FormId
from zhengji.parsers.checks import CheckContext, check_document
from zhengji.parsers.model import Finding

FORM = FormId.new_occupation_proposal
SH = "沪人社职〔2025〕77号"
GD = "粤人社函〔2026〕159号"


def _codes(findings: list[Finding]) -> list[tuple[str, str | None, str]]:
    return [(finding.code, finding.field, finding.severity) for finding in findings]


@pytest.fixture
def sh(make_context: MakeContext) -> CheckContext:
    return make_context(SH, FORM)


@pytest.fixture
def gd(make_context: MakeContext) -> CheckContext:
    return make_context(GD, FORM)


def test_correct_shanghai_proposal_has_no_finding(sh: CheckContext) -> None:
    assert check_document(FORM, samples.proposal_shanghai(), sh) == []


def test_correct_guangdong_proposal_has_no_finding(gd: CheckContext) -> None:
    assert check_document(FORM, samples.proposal_guangdong(), gd) == []


def test_context_follows_the_notice(sh: CheckContext, gd: CheckContext) -> None:
    assert (sh.province, sh.optional_sections, sh.sections_waived_for) == ("shanghai", "warning", frozenset())
    assert (gd.province, gd.optional_sections, gd.sections_waived_for) == ("guangdong", "error", {"adjustment"})


@pytest.mark.parametrize(
    ("path", "label"),
    [
        ("name", "新职业名称"),
        ("definition", "新职业定义"),
        ("related_occupations", "与相关职业的关系"),
        ("industry", "所属行业"),
        ("analysis.background", "新职业产生背景"),
        ("analysis.role", "新职业在经济社会发展中的作用"),
        ("analysis.tech_change", "与新职业直接相关的技术和从业方式的发展变化情况"),
        ("analysis.prospects", "新职业的发展前景"),
        ("contact.person", "联系人"),
        ("contact.phone", "联系电话"),
        ("fill_date", "填写时间"),
    ],
)
def test_required_field_blank_is_an_error(path: str, label: str, sh: CheckContext) -> None:
    fields = samples.proposal_shanghai()
    head, _, tail = path.partition(".")
    if tail:
        fields[head][tail] = "  "
    else:
        fields[head] = None
    findings = check_document(FORM, fields, sh, file="建议书.docx")
    assert _codes(findings) == [("missing_field", path, "error")]
    assert findings[0].message == f"缺少“{label}”，请补充填写。"
    assert findings[0].file == "建议书.docx"


def test_guangdong_labels_name_guangdong_form(gd: CheckContext) -> None:
    fields = samples.proposal_guangdong()
    fields["name"] = ""
    assert [finding.message for finding in check_document(FORM, fields, gd)] == ["缺少“职业（工种）名称”，请补充填写。"]


def test_blank_date_template_is_missing_not_bad(sh: CheckContext) -> None:
    fields = samples.proposal_shanghai()
    fields["fill_date"] = "年 月 日"
    assert _codes(check_document(FORM, fields, sh)) == [("missing_field", "fill_date", "error")]


def test_tasks_need_one_with_content(sh: CheckContext) -> None:
    fields = samples.proposal_shanghai()
    fields["tasks"] = [{"content": None, "tools": "平台", "techniques": None}]
    findings = check_document(FORM, fields, sh)
    assert _codes(findings) == [("missing_field", "tasks", "error")]
    fields["tasks"] = []
    assert _codes(check_document(FORM, fields, sh)) == [("missing_field", "tasks", "error")]


def test_task_row_without_content_is_named_by_row(sh: CheckContext) -> None:
    fields = samples.proposal_shanghai()
    fields["tasks"].append({"content": "", "tools": "巡检终端", "techniques": "巡检"})
    findings = check_document(FORM, fields, sh)
    assert [(f.code, f.field, f.row) for f in findings] == [("missing_field", "tasks.content", 4)]
    assert findings[0].message == "“主要工作任务”第 4 行缺少“内容”，请补充填写。"


@pytest.mark.parametrize(("ticks", "fragment"), [(0, "未勾选"), (2, "勾选了 2 项")])
def test_no_or_several_ticks_is_unchecked_category(ticks: int, fragment: str, sh: CheckContext) -> None:
    fields = samples.proposal_shanghai()
    fields.update(category=None, category_ticks=ticks)
    findings = check_document(FORM, fields, sh)
    assert _codes(findings) == [("unchecked_category", "category", "error")]
    assert fragment in findings[0].message


def test_blank_category_without_tick_count_is_missing(sh: CheckContext) -> None:
    fields = samples.proposal_shanghai()
    fields["category"] = None
    del fields["category_ticks"]
    assert _codes(check_document(FORM, fields, sh)) == [("missing_field", "category", "error")]


def test_one_tick_with_a_category_is_fine(gd: CheckContext) -> None:
    fields = samples.proposal_guangdong()
    fields.update(category="adjustment", category_ticks=1)
    assert check_document(FORM, fields, gd) == []


def _blank_sections(fields: dict[str, Any]) -> None:
    for key in ("requirements", "workforce", "foreign"):
        fields[key] = {name: None for name in fields[key]}
    fields.update(employers=[], schools=[], training_orgs=[], laws=None)


SECTION_PATHS = [
    "requirements.ethics",
    "requirements.education",
    "requirements.special_ability",
    "requirements.physique",
    "requirements.teamwork",
    "requirements.safety",
    "workforce.national_count",
    "workforce.distribution",
    "workforce.supply_demand",
    "workforce.salary",
    "workforce.data_source",
    "laws",
    "foreign.regions",
    "foreign.similar_names",
    "foreign.main_tasks",
    "foreign.requirements",
    "foreign.standards",
    "foreign.training",
    "employers",
    "schools",
    "training_orgs",
]


def test_blank_sections_warn_in_shanghai(sh: CheckContext) -> None:
    fields = samples.proposal_shanghai()
    _blank_sections(fields)
    findings = check_document(FORM, fields, sh)
    assert [f.field for f in findings] == SECTION_PATHS
    assert {(f.code, f.severity) for f in findings} == {("missing_field", "warning")}
    assert findings[0].message == "“职业操守与职业道德”未填写，建议补充完整。"


def test_blank_sections_are_errors_in_guangdong(gd: CheckContext) -> None:
    fields = samples.proposal_guangdong()
    _blank_sections(fields)
    findings = check_document(FORM, fields, gd)
    assert [f.field for f in findings] == SECTION_PATHS
    assert {(f.code, f.severity) for f in findings} == {("missing_field", "error")}
    assert findings[-1].message == "缺少“培训机构情况”，请补充填写。"


def test_guangdong_adjustment_needs_no_sections(gd: CheckContext) -> None:
    fields = samples.proposal_guangdong()
    fields["category"] = "adjustment"
    _blank_sections(fields)
    assert check_document(FORM, fields, gd) == []


def test_guangdong_adjustment_needs_no_analysis_either(gd: CheckContext) -> None:
    """Footnote ② waives 三 to 八, and 五、职业（工种）分析 is among them."""
    fields = samples.proposal_guangdong()
    fields["category"] = "adjustment"
    _blank_sections(fields)
    fields["analysis"] = {"background": None, "role": None, "tech_change": None, "prospects": None}
    assert check_document(FORM, fields, gd) == []
    fields["category"] = "new_occupation"
    assert {f.field for f in check_document(FORM, fields, gd)} >= {"analysis.background", "analysis.prospects"}


def test_half_filled_employer_row(sh: CheckContext) -> None:
    fields = samples.proposal_shanghai()
    fields["employers"].append({"name": "上海某某无人机公司", "address": None, "phone": None})
    findings = check_document(FORM, fields, sh)
    assert [(f.field, f.row, f.severity) for f in findings] == [
        ("employers.address", 2, "warning"),
        ("employers.phone", 2, "warning"),
    ]


@pytest.mark.parametrize(
    ("path", "limit", "label"),
    [
        ("background", 400, "新职业产生背景"),
        ("role", 300, "新职业在经济社会发展中的作用"),
        ("tech_change", 400, "与新职业直接相关的技术和从业方式的发展变化情况"),
        ("prospects", 200, "新职业的发展前景"),
    ],
)
def test_analysis_over_limit_is_too_long(path: str, limit: int, label: str, sh: CheckContext) -> None:
    fields = samples.proposal_shanghai()
    fields["analysis"][path] = "低空经济" * (limit // 4) + "，再加一句。"
    over = limit + 6
    findings = check_document(FORM, fields, sh)
    assert [(f.code, f.field, f.limit, f.length) for f in findings] == [("too_long", f"analysis.{path}", limit, over)]
    assert findings[0].message == f"“{label}”超过 {limit} 字（现为 {over} 字），请精简后重新发送。"


def test_analysis_at_limit_with_spaces_is_fine(sh: CheckContext) -> None:
    fields = samples.proposal_shanghai()
    fields["analysis"]["prospects"] = "前景 " * 100  # 200 字 and 100 spaces
    assert check_document(FORM, fields, sh) == []


@pytest.mark.parametrize(
    ("mutate", "code", "field", "row"),
    [
        (lambda f: f["contact"].update(phone="6428123"), "bad_phone", "contact.phone", None),
        (lambda f: f["employers"][0].update(phone="021-5888"), "bad_phone", "employers.phone", 1),
        (lambda f: f["training_orgs"][0].update(phone="电话待定"), "bad_phone", "training_orgs.phone", 1),
        (lambda f: f["contact"].update(email="wangmin#example.com"), "bad_email", "contact.email", None),
        (lambda f: f.update(fill_date="2025年6月31日"), "bad_date", "fill_date", None),
    ],
)
def test_bad_contact_values(mutate: Any, code: str, field: str, row: int | None, sh: CheckContext) -> None:
    fields = samples.proposal_shanghai()
    mutate(fields)
    findings = check_document(FORM, fields, sh)
    assert [(f.code, f.field, f.row, f.severity) for f in findings] == [(code, field, row, "error")]


def test_bad_phone_message_quotes_the_wrong_number(sh: CheckContext) -> None:
    fields = samples.proposal_shanghai()
    fields["contact"]["phone"] = "13812345678、021-6428"
    findings = check_document(FORM, fields, sh)
    assert findings[0].message == (
        "“联系电话”中的“021-6428”不是有效的电话号码，请填写手机号码或带区号的固定电话（如“021-12345678”）。"
    )


def test_date_as_written_is_accepted(sh: CheckContext) -> None:
    fields = samples.proposal_shanghai()
    fields["fill_date"] = "2025年6月22日"
    assert check_document(FORM, fields, sh) == []


def test_blank_signer_is_unsigned(sh: CheckContext) -> None:
    fields = samples.proposal_shanghai()
    fields["signer"] = None
    findings = check_document(FORM, fields, sh)
    assert _codes(findings) == [("unsigned", "signer", "error")]
    assert findings[0].message == "“建议人（盖章或签字）”处没有签字或盖章，请签字或盖章后重新发送。"


def test_seal_found_elsewhere_signs(make_context: MakeContext) -> None:
    fields = samples.proposal_shanghai()
    fields["signer"] = None
    assert check_document(FORM, fields, make_context(SH, FORM, signed_elsewhere=True)) == []


def test_seal_picture_on_signature_line_signs(sh: CheckContext) -> None:
    fields = samples.proposal_shanghai()
    fields["signer"] = "\ufffc"
    assert check_document(FORM, fields, sh) == []


def test_findings_serialise_in_contract_shape(sh: CheckContext) -> None:
    fields = samples.proposal_shanghai()
    fields["analysis"]["prospects"] = "前" * 201
    (finding,) = check_document(FORM, fields, sh, file="a.docx")
    assert finding.as_json() == {
        "code": "too_long",
        "severity": "error",
        "message": "“新职业的发展前景”超过 200 字（现为 201 字），请精简后重新发送。",
        "field": "analysis.prospects",
        "file": "a.docx",
        "limit": 200,
        "length": 201,
    }


def test_a_value_that_is_a_label_of_the_form_goes_to_staff_not_to_the_applicant(sh: CheckContext) -> None:
    """A reading that slipped one row: the phone cell read the label of the next row ("电子邮箱"), the person's cell
    its own value and the phone's label below it. Neither is the applicant's answer, so no bad_phone and no demand:
    each field is ``unlocated_field`` for staff, and the fields read right are still judged."""
    fields = samples.proposal_shanghai()
    fields["contact"] = {**fields["contact"], "person": "周立新\n联系电话", "phone": "电子邮箱"}
    findings = check_document(FORM, fields, sh)
    assert sorted(_codes(findings)) == [
        ("unlocated_field", "contact.person", "warning"),
        ("unlocated_field", "contact.phone", "warning"),
    ]
    assert "请工作人员人工核对" in findings[0].message


def test_a_label_word_inside_a_longer_value_is_not_a_misalignment(sh: CheckContext) -> None:
    """Only a whole line that is a label counts: an address or a name holding a label's words is a value."""
    fields = samples.proposal_shanghai()
    fields["contact"] = {**fields["contact"], "person": "周立新（办公室电话同上）", "address": "上海市联系路 8 号"}
    assert check_document(FORM, fields, sh) == []
