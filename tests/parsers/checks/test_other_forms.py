"""推荐函 (76号 附件3), 专项 建议书 and 主要考核内容 (140号 附件2、3), and the tables behind every message."""

from __future__ import annotations

import pytest

from tests.parsers.checks import samples
from tests.parsers.checks.conftest import MakeContext
from zhengji.notices.registry import FormId
from zhengji.parsers.checks import RULES_BY_FORM, CheckContext, check_document
from zhengji.parsers.checks.labels import has_label
from zhengji.parsers.checks.view import FieldView

LETTER = FormId.evaluator_recommendation_letter
PROPOSAL = FormId.special_ability_proposal
CONTENT = FormId.special_ability_content


@pytest.fixture
def ctx(make_context: MakeContext) -> CheckContext:
    return make_context("沪人社职〔2025〕140号", CONTENT)


def test_correct_letter_has_no_finding(make_context: MakeContext) -> None:
    assert check_document(LETTER, samples.recommendation_letter(), make_context("沪人社职〔2025〕76号", LETTER)) == []


def test_letter_required_fields_and_stamp(make_context: MakeContext) -> None:
    fields = {"altered_fixed_paragraph": False}
    findings = check_document(LETTER, fields, make_context("沪人社职〔2025〕76号", LETTER))
    assert [(f.code, f.field) for f in findings] == [
        ("missing_field", "applicant"),
        ("missing_field", "occupations"),
        ("missing_field", "fill_date"),
        ("unsigned", "recommender"),
    ]
    assert findings[3].message == "“主管部门（盖章）”处没有签字或盖章，请签字或盖章后重新发送。"


def test_altered_paragraph(make_context: MakeContext) -> None:
    fields = samples.recommendation_letter()
    fields["altered_fixed_paragraph"] = True
    findings = check_document(LETTER, fields, make_context("沪人社职〔2025〕76号", LETTER))
    assert [(f.code, f.severity) for f in findings] == [("altered_text", "error")]
    assert "此段请勿更改" in findings[0].message


def test_special_proposal(ctx: CheckContext) -> None:
    assert check_document(PROPOSAL, samples.special_proposal(), ctx) == []
    findings = check_document(PROPOSAL, {"project_section": "……"}, ctx)
    assert [(f.code, f.field) for f in findings] == [("missing_field", "institution_section")]
    assert findings[0].message == "缺少“拟承担评价任务的考核机构推荐情况”，请补充填写。"


def test_correct_content_has_no_finding(ctx: CheckContext) -> None:
    assert check_document(CONTENT, samples.special_content(), ctx) == []


def test_weights_not_adding_up(ctx: CheckContext) -> None:
    fields = samples.special_content()
    fields["tasks"][1]["weight"] = 10
    findings = check_document(CONTENT, fields, ctx)
    assert [(f.code, f.field, f.severity) for f in findings] == [("bad_weights", "tasks", "error")]
    assert findings[0].message == "各项工作任务的“考核比重”合计为 90%，应为 100%，请调整后重新发送。"


@pytest.mark.parametrize("weights", [(33.3, 33.3, 33.4), (33.33, 33.33, 33.33), ("40%", "20％", "40")])
def test_weights_with_rounding_or_percent_signs(weights: tuple[float | str, ...], ctx: CheckContext) -> None:
    fields = samples.special_content()
    for task, weight in zip(fields["tasks"], weights, strict=True):
        task["weight"] = weight
    assert check_document(CONTENT, fields, ctx) == []


def test_weight_that_is_no_number(ctx: CheckContext) -> None:
    fields = samples.special_content()
    fields["tasks"][2]["weight"] = "约四成"
    findings = check_document(CONTENT, fields, ctx)
    assert [(f.code, f.field, f.row) for f in findings] == [("bad_weights", "tasks.weight", 3)]


def test_missing_weight_is_missing_not_a_bad_total(ctx: CheckContext) -> None:
    fields = samples.special_content()
    fields["tasks"][2]["weight"] = None
    findings = check_document(CONTENT, fields, ctx)
    assert [(f.code, f.field, f.row) for f in findings] == [("missing_field", "tasks.weight", 3)]
    assert findings[0].message == "“能力标准与评价内容”第 3 行缺少“考核比重”，请补充填写。"


def test_content_required_fields(ctx: CheckContext) -> None:
    findings = check_document(CONTENT, {}, ctx)
    assert [f.field for f in findings] == ["project", "definition", "ability_name", "domain", "tasks"]


def test_unknown_form_has_no_field_rules(ctx: CheckContext) -> None:
    assert check_document(FormId.unknown, {}, ctx) == []


@pytest.mark.parametrize("form", [form for form in FormId if form is not FormId.unknown])
@pytest.mark.parametrize("province", ["shanghai", "guangdong"])
def test_every_message_names_a_printed_label(form: FormId, province: str, registry: object) -> None:
    """An empty document makes every required-field rule speak: none may fall back to a raw key."""
    ctx = CheckContext(province=province, optional_sections="error")  # type: ignore[arg-type]
    findings = check_document(form, {"rows": [{"seq": 1, "x": "1"}], "tasks": [{"weight": "1"}]}, ctx)
    assert findings
    for finding in findings:
        assert finding.field is not None
        assert "“" in finding.message and finding.message.endswith("。")
        if finding.row is not None and form in (FormId.new_occupation_proposal, FormId.special_ability_content):
            assert has_label(form, finding.field, province)
        elif finding.row is not None:
            assert has_label(form, f"rows.{finding.field}", province)
        else:
            assert has_label(form, finding.field, province)
    assert FieldView(form, {}).form is form
    assert RULES_BY_FORM[form]
