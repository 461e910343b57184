"""Table forms: 汇总表 (SH/GD), 推荐表 (319号, 76号) and the 专项 推荐汇总表 (140号)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.parsers.checks import samples
from tests.parsers.checks.conftest import MakeContext
from zhengji.notices.registry import FormId
from zhengji.parsers.checks import CheckContext, check_document
from zhengji.parsers.model import Finding

SUMMARY = FormId.new_occupation_summary
RECOMMENDATION = FormId.skill_level_recommendation
SPECIAL = FormId.special_ability_summary


def _short(findings: list[Finding]) -> list[tuple[str, str | None, int | None, str]]:
    return [(f.code, f.field, f.row, f.severity) for f in findings]


@pytest.fixture
def rec76(make_context: MakeContext) -> CheckContext:
    return make_context("沪人社职〔2025〕76号", RECOMMENDATION)


@pytest.fixture
def special(make_context: MakeContext) -> CheckContext:
    return make_context("沪人社职〔2025〕140号", SPECIAL)


# 新职业汇总表 ------------------------------------------------------------------------------------------------


def test_correct_summaries_have_no_finding(make_context: MakeContext) -> None:
    assert check_document(SUMMARY, samples.summary_shanghai(), make_context("沪人社职〔2025〕77号", SUMMARY)) == []
    assert check_document(SUMMARY, samples.summary_guangdong(), make_context("粤人社函〔2026〕159号", SUMMARY)) == []


def test_shanghai_summary_row_needs_name_and_proposer(make_context: MakeContext) -> None:
    fields = samples.summary_shanghai()
    fields["rows"].append({"seq": 2, "name": "智能网联汽车测试员", "proposer": None})
    findings = check_document(SUMMARY, fields, make_context("沪人社职〔2025〕77号", SUMMARY))
    assert _short(findings) == [("missing_field", "proposer", 2, "error")]
    assert findings[0].message == "第 2 行缺少“新职业建议单位”，请补充填写。"


def test_guangdong_summary_row_needs_its_ten_columns(make_context: MakeContext) -> None:
    fields = samples.summary_guangdong()
    fields["rows"][0].update(category=None, definition="", contact=None)
    findings = check_document(SUMMARY, fields, make_context("粤人社函〔2026〕159号", SUMMARY))
    assert [(f.field, f.row) for f in findings] == [("category", 1), ("definition", 1), ("contact", 1)]
    assert findings[0].message == "第 1 行缺少“申报类别”，请补充填写。"


def test_summary_without_rows(make_context: MakeContext) -> None:
    fields = samples.summary_shanghai()
    fields["rows"] = [{"seq": 1, "name": None, "proposer": " "}]
    findings = check_document(SUMMARY, fields, make_context("沪人社职〔2025〕77号", SUMMARY))
    assert _short(findings) == [("missing_field", "rows", None, "error")]


def test_summary_contact_and_stamp_line(make_context: MakeContext) -> None:
    fields = samples.summary_shanghai()
    fields.update(contact_person=None, contact_phone="5028", recommender=None)
    findings = check_document(SUMMARY, fields, make_context("沪人社职〔2025〕77号", SUMMARY))
    assert _short(findings) == [
        ("missing_field", "contact_person", None, "error"),
        ("bad_phone", "contact_phone", None, "error"),
        ("unsigned", "recommender", None, "error"),
    ]
    assert findings[2].message == "“推荐单位（加盖公章）”处没有签字或盖章，请签字或盖章后重新发送。"


# 推荐表 ----------------------------------------------------------------------------------------------------


def test_correct_recommendation_has_no_finding(rec76: CheckContext, make_context: MakeContext) -> None:
    assert check_document(RECOMMENDATION, samples.recommendation(), rec76) == []
    assert (
        check_document(RECOMMENDATION, samples.recommendation(), make_context("沪人社职〔2024〕319号", RECOMMENDATION))
        == []
    )


@pytest.mark.parametrize(
    "column",
    [
        "code",
        "occupation",
        "standard_name",
        "standard_version",
        "shortage_listed",
        "industries",
        "estimated_count",
        "reason",
    ],
)
def test_recommendation_row_required_columns(column: str, rec76: CheckContext) -> None:
    fields = samples.recommendation()
    fields["rows"][1][column] = [] if column == "industries" else None
    assert _short(check_document(RECOMMENDATION, fields, rec76)) == [("missing_field", column, 2, "error")]


def test_no_and_zero_are_values(rec76: CheckContext) -> None:
    fields = samples.recommendation()
    fields["rows"][0].update(shortage_listed=False, estimated_count=0)
    assert check_document(RECOMMENDATION, fields, rec76) == []


def test_recommendation_header_fields(rec76: CheckContext) -> None:
    fields = samples.recommendation()
    fields.update(contact_person="", fill_date=None, contact_phone="zhangwei@sheitc.sh.gov.cn")
    assert _short(check_document(RECOMMENDATION, fields, rec76)) == [
        ("missing_field", "contact_person", None, "error"),
        ("missing_field", "fill_date", None, "error"),
    ]
    fields["contact_phone"] = "张伟"
    assert ("bad_phone", "contact_phone", None, "error") in _short(check_document(RECOMMENDATION, fields, rec76))


@pytest.mark.parametrize("code", ["4-4-5-5", "6-18-01", "61801 04"])
def test_malformed_code_is_bad_code(code: str, rec76: CheckContext) -> None:
    fields = samples.recommendation()
    fields["rows"][1]["code"] = code
    findings = check_document(RECOMMENDATION, fields, rec76)
    assert _short(findings) == [("bad_code", "code", 2, "error")]
    assert findings[0].message == f"第 2 行的职业编码“{code}”格式有误，应为“4-04-05-05”形式的《大典》编码。"


def test_full_width_code_is_fine(rec76: CheckContext) -> None:
    fields = samples.recommendation()
    fields["rows"][0]["code"] = "６－１８－０１－０４"
    assert check_document(RECOMMENDATION, fields, rec76) == []


def test_code_that_names_another_occupation(rec76: CheckContext) -> None:
    fields = samples.recommendation()
    fields["rows"][0].update(code="6-18-01-01", occupation="磨工")
    findings = check_document(RECOMMENDATION, fields, rec76)
    assert _short(findings) == [("bad_code", "code", 1, "error")]
    assert "职业编码与职业名称不一致" in findings[0].message
    assert "“车工”" in findings[0].message


def _listed_row(**changes: Any) -> dict[str, Any]:
    row = dict(samples.recommendation()["rows"][0])
    row.update(
        code="4-04-05-05", occupation="人工智能训练师", work_type=None, standard_name="人工智能训练师国家职业技能标准"
    )
    row.update(changes)
    return row


def test_listed_occupation_under_76(rec76: CheckContext) -> None:
    fields = samples.recommendation()
    fields["rows"].append(_listed_row())
    findings = check_document(RECOMMENDATION, fields, rec76)
    assert _short(findings) == [("already_listed", "code", 3, "warning")]
    assert findings[0].message == (
        "第 3 行的“人工智能训练师”已在《社会培训评价组织征集遴选职业（工种）目录（已发布）》中，无需重复推荐。"
    )


def test_listed_work_type_by_name_without_code(rec76: CheckContext) -> None:
    fields = samples.recommendation()
    fields["rows"][0] = _listed_row(code=None, occupation="家政服务员", work_type="母婴护理员")
    findings = check_document(RECOMMENDATION, fields, rec76)
    # No code: the code is missing, and the name finds the catalog row.
    assert _short(findings) == [("missing_field", "code", 1, "error"), ("already_listed", "work_type", 1, "warning")]
    assert "“家政服务员（母婴护理员）”" in findings[1].message


def test_new_work_type_of_a_listed_code_is_not_listed(rec76: CheckContext) -> None:
    fields = samples.recommendation()
    fields["rows"][0] = _listed_row(code="4-10-01-06", occupation="家政服务员", work_type="整理收纳师")
    assert check_document(RECOMMENDATION, fields, rec76) == []


def test_catalog_not_applied_before_76(make_context: MakeContext) -> None:
    fields = samples.recommendation()
    fields["rows"].append(_listed_row())
    assert check_document(RECOMMENDATION, fields, make_context("沪人社职〔2024〕319号", RECOMMENDATION)) == []


def test_no_notice_means_no_catalog(registry: Any) -> None:
    fields = samples.recommendation()
    fields["rows"].append(_listed_row())
    assert check_document(RECOMMENDATION, fields, CheckContext(registry=registry)) == []


@pytest.mark.parametrize("tag", ["3+6产业", "两大民生产业", "其他产业"])
def test_group_label_as_industry_tag(tag: str, rec76: CheckContext) -> None:
    fields = samples.recommendation()
    fields["rows"][0]["industries"] = ["高端装备", tag]
    findings = check_document(RECOMMENDATION, fields, rec76)
    assert _short(findings) == [("bad_industry_tag", "industries", 1, "warning")]
    assert f"“{tag}”是产业分组名称" in findings[0].message


def test_industries_as_one_text_cell(rec76: CheckContext) -> None:
    fields = samples.recommendation()
    fields["rows"][0]["industries"] = "高端装备、其他产业：低空经济"
    assert check_document(RECOMMENDATION, fields, rec76) == []


# 专项职业能力考核项目及考核机构推荐汇总表 ------------------------------------------------------------------


def test_correct_special_summary_has_no_finding(special: CheckContext) -> None:
    assert check_document(SPECIAL, samples.special_summary(), special) == []


@pytest.mark.parametrize(
    "column",
    ["domain", "domain_code", "project", "industries", "institution", "credit_code", "estimated_count", "reason"],
)
def test_special_summary_row_required_columns(column: str, special: CheckContext) -> None:
    fields = samples.special_summary()
    fields["rows"][0][column] = None
    assert _short(check_document(SPECIAL, fields, special)) == [("missing_field", column, 1, "error")]


def test_domain_code_must_be_a_minor_group(special: CheckContext) -> None:
    fields = samples.special_summary()
    fields["rows"][0]["domain_code"] = "4-04-05-05"
    findings = check_document(SPECIAL, fields, special)
    assert _short(findings) == [("bad_code", "domain_code", 1, "error")]
    assert "应为“4-04-05”形式的《大典》小类编码" in findings[0].message


def test_wrong_credit_code(special: CheckContext) -> None:
    fields = samples.special_summary()
    fields["rows"][0]["credit_code"] = "914403001922038217"
    findings = check_document(SPECIAL, fields, special)
    assert _short(findings) == [("bad_credit_code", "credit_code", 1, "error")]
    assert findings[0].message == (
        "第 1 行的统一社会信用代码“914403001922038217”最后一位校验码不符，请对照营业执照或登记证书核对后更正。"
    )


def test_credit_code_typed_loosely_is_fine(special: CheckContext) -> None:
    fields = samples.special_summary()
    fields["rows"][0]["credit_code"] = "9144 0300 1922 0382 16"
    assert check_document(SPECIAL, fields, special) == []


def test_copied_sample_row_is_not_accepted(special: CheckContext) -> None:
    fields = samples.special_summary()
    fields["rows"][0].update(
        project="人工智能模型运用", institution="上海×××有限公司", credit_code="111111111111111111"
    )
    findings = check_document(SPECIAL, fields, special)
    assert _short(findings) == [
        ("missing_field", "institution", 1, "error"),
        ("bad_credit_code", "credit_code", 1, "error"),
    ]
    assert (
        findings[0].message
        == "第 1 行的“拟承担评价任务的考核机构”仍是样例中的占位内容“上海×××有限公司”，请填写实际内容。"
    )


def test_special_summary_tags_and_phone(special: CheckContext) -> None:
    fields = samples.special_summary()
    fields["rows"][0]["industries"] = "“3+6”产业"
    fields["contact_phone"] = "021-2311"
    assert _short(check_document(SPECIAL, fields, special)) == [
        ("bad_industry_tag", "industries", 1, "warning"),
        ("bad_phone", "contact_phone", None, "error"),
    ]


def test_recommendation_contact_may_be_an_email_but_not_a_name(rec76: CheckContext) -> None:
    fields = samples.recommendation()
    fields["contact_phone"] = "张伟"
    findings = check_document(RECOMMENDATION, fields, rec76)
    assert _short(findings) == [("bad_phone", "contact_phone", None, "error")]
    assert findings[0].message == (
        "“联系方式”中的“张伟”不是有效的电话号码或电子邮箱，请填写手机号码、带区号的固定电话或电子邮箱。"
    )


def test_industry_message_suggests_a_tag_of_the_same_group(rec76: CheckContext) -> None:
    fields = samples.recommendation()
    fields["rows"][0]["industries"] = "两大民生产业"
    (finding,) = check_document(RECOMMENDATION, fields, rec76)
    assert finding.message == (
        "第 1 行的产业类别“两大民生产业”是产业分组名称，请改填该组中的具体标签（如“养老护理”）；"
        "其他产业请按实填写产业名称。"
    )
