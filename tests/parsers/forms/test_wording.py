"""The one label normaliser and the tolerant matcher: labels as people retype them, values never read as labels."""

from __future__ import annotations

import pytest

from zhengji.notices.forms import form_specs
from zhengji.notices.registry import FormId
from zhengji.parsers.forms.matching import LabelIndex
from zhengji.parsers.forms.wording import is_heading_numbered, normalise, without_glued_digits


@pytest.mark.parametrize(
    "typed",
    [
        "新职业名称",
        "新职业名称²",
        "新职业名称 ^2",
        "新职业名称^{2}",
        "新职业名称②",
        "新职业名称⑫",
        "新职业名称(2)",
        "新职业名称（2）",
        "新职业名称[2]",
        "新职业名称【2】",
        "新职业名称注2",
        "新职业名称（必填）",
        "新职业名称(选填)",
        "*新职业名称",
        "新职业名称※",
        "新 职 业 名 称 ：",
        "新\u3000职\u3000业\u3000名\u3000称:",
        "二、新职业名称",
    ],
)
def test_marks_markers_spaces_and_colons_fold_away(typed: str) -> None:
    assert normalise(typed) == "新职业名称"


@pytest.mark.parametrize(
    ("heading", "folded"),
    [
        ("七、有关法律法规情况⁷", "有关法律法规情况"),
        ("7. 有关法律法规情况", "有关法律法规情况"),
        ("（七）有关法律法规情况", "有关法律法规情况"),
        ("第七部分 有关法律法规情况", "有关法律法规情况"),
        ("五、职业（工种）分析", "职业(工种)分析"),
        ("新职业产生背景（400 字以内）", "新职业产生背景"),
        ("ＡＢＣ１２３", "ABC123"),
    ],
)
def test_headings_lose_their_numerals_and_limits(heading: str, folded: str) -> None:
    assert normalise(heading) == folded


def test_a_digit_glued_to_a_label_is_dropped_only_on_request() -> None:
    assert normalise("所属行业5") == "所属行业5"
    assert without_glued_digits("所属行业5") == "所属行业"
    assert without_glued_digits("所属行业") is None
    assert without_glued_digits("4-04-05") is None


def test_numbered_headings_are_told_from_text() -> None:
    assert is_heading_numbered("七、有关法律法规情况7")
    assert is_heading_numbered("（八）国外相关情况")
    assert is_heading_numbered("第九部分 建议人情况")
    assert not is_heading_numbered("七彩云南文化旅游有限公司")
    assert not is_heading_numbered("13800138000")


def _proposal_index() -> LabelIndex:
    spec = form_specs()[FormId.new_occupation_proposal]
    return LabelIndex({field.key: field.wordings for field in spec.fields})


@pytest.mark.parametrize(
    ("typed", "field"),
    [
        ("新职业名称(必填)", "name"),
        ("建议新职业名称", "name"),
        ("新职业的定义", "definition"),
        ("新职业定义3", "definition"),
        ("所属行业领域", "industry"),
        ("新职业产生的背景", "analysis.background"),
        ("职业(工种)名称③", "name"),
        ("与相关职业的关系⁴", "related_occupations"),
    ],
)
def test_reworded_labels_are_found(typed: str, field: str) -> None:
    match = _proposal_index().match(typed)
    assert match is not None and match.field == field


@pytest.mark.parametrize(
    "value",
    ["发展前景广阔", "无人机群飞表演编队师", "13800138000", "数据来源于行业协会统计", "上海", "职业"],
)
def test_values_are_never_read_as_labels(value: str) -> None:
    assert _proposal_index().match(value) is None


def test_a_value_typed_after_its_label_is_kept() -> None:
    match = _proposal_index().match("新职业名称²：无人机群飞表演编队师")
    assert match is not None
    assert (match.field, match.remainder) == ("name", "无人机群飞表演编队师")


def test_a_text_between_two_labels_is_not_guessed() -> None:
    index = LabelIndex({"a": ["职业操守与职业道德"], "b": ["职业操守与职业规范"]})
    assert index.match("职业操守与职业") is None
