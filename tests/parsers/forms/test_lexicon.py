"""How a reworded label, header or heading is told apart: clearly one field, or none (issue 9)."""

from __future__ import annotations

import pytest

from zhengji.notices.forms import require_spec
from zhengji.notices.registry import FormId
from zhengji.parsers.forms.classify import LineLabels, Unit
from zhengji.parsers.forms.headings import Headings, numbering
from zhengji.parsers.forms.lexicon import label_key, match_header
from zhengji.parsers.forms.matching import LabelIndex, score, thresholds
from zhengji.parsers.model import Cell

RECOMMENDATION = require_spec(FormId.skill_level_recommendation)
COLUMNS = RECOMMENDATION.header_aliases()
LINES = LabelIndex.for_headers(
    {
        "recommender": RECOMMENDATION.wordings_of("recommender"),
        "contact_person": RECOMMENDATION.wordings_of("contact_person"),
        "contact_phone": RECOMMENDATION.wordings_of("contact_phone"),
    }
)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("联系人（办公室）", "contact_person"),  # a bracketed qualifier
        ("本单位联系人", "contact_person"),  # words before the head noun
        ("联系人员", "contact_person"),
        ("联系人电话", "contact_phone"),  # the head noun decides: a 电话
        ("联系电话（办公）", "contact_phone"),
        ("推荐单位全称（公章）", "recommender"),
        ("联系", None),  # as near to the person as to the phone
        ("发展前景广阔", None),
    ],
)
def test_a_reworded_line_label_goes_to_the_field_it_clearly_reads_as(text: str, field: str | None) -> None:
    assert LINES.field_of(text) == field


def test_similarity_prefers_the_printed_wording() -> None:
    exact = score(label_key("推荐理由"), label_key("推荐理由"))
    generic = score(label_key("推荐理由说明"), label_key("推荐理由"))
    contained = score(label_key("理由"), label_key("推荐理由"))
    assert exact > generic > contained >= 75
    assert score(label_key("标准版本"), label_key("国家职业标准名称")) < 75


def _cells(texts: list[str]) -> list[Cell]:
    return [Cell(0, col, 1, 1, text) for col, text in enumerate(texts)]


def test_each_header_cell_goes_to_one_column_the_surest_first() -> None:
    """A bare "职业标准" is as near the standard's name as its version until a surer cell takes the version."""
    header = match_header(_cells(["序号", "职业编码", "职业", "职业标准", "国家职业技能标准版本"]), COLUMNS)
    assert header.columns == {"seq": 0, "code": 1, "occupation": 2, "standard_name": 3, "standard_version": 4}


def test_the_last_header_of_a_full_width_table_is_read_by_elimination() -> None:
    texts = ["序号", "职业编码", "职业", "工种", "国家职业标准名称", "国家职业标准版本", "是否已纳入急需紧缺职业目录",
             "产业类别", "预计评价人次", "申报说明"]  # fmt: skip
    assert match_header(_cells(texts), COLUMNS).columns["reason"] == 9
    # With a column more than the form has, an unknown header stays unknown.
    assert "reason" not in match_header(_cells([*texts, "备注"]), COLUMNS).columns


def test_a_row_of_values_is_no_header() -> None:
    values = ["1", "4-04-05-05", "人工智能训练师", "", "人工智能训练师", "2021年版", "是", "人工智能", "800人",
              "行业规划"]  # fmt: skip
    assert not match_header(_cells(values), COLUMNS).is_header(2)


def test_line_labels_end_a_value_at_the_next_label_and_its_marks() -> None:
    lines = LineLabels(
        {name: RECOMMENDATION.wordings_of(name) for name in ("recommender", "contact_person", "contact_phone")},
        signature=("recommender",),
    )
    found = [Unit("推荐单位（盖章）：上海市商务委员会 ▲本单位联系人：王芳 ▲联系电话（办公）：021-63211234")]
    assert [lines.value(found, name) for name in ("recommender", "contact_person", "contact_phone")] == [
        "上海市商务委员会",
        "王芳",
        "021-63211234",
    ]
    assert lines.located(found, "contact_person")
    assert not lines.located([Unit("上海市商务委员会")], "contact_person")


@pytest.mark.parametrize(
    ("text", "number"),
    [("七、", 7), ("7.", 7), ("（七）", 7), ("第七部分 ", 7), ("十一、", 11), ("二十、", 20), ("2025年", None)],
)
def test_heading_numerals(text: str, number: int | None) -> None:
    assert numbering(text + "标题")[0] == number


def test_a_heading_is_found_by_its_numeral_and_most_of_its_words() -> None:
    headings = Headings.of(require_spec(FormId.special_ability_proposal))
    assert headings.rest("（一）推荐的考核项目情况", "project") == ""
    assert headings.rest("一、考核项目推荐情况说明", "project") == ""
    assert headings.rest("一、考核项目推荐情况：本项目面向养老机构。", "project") == "本项目面向养老机构。"
    # Another section's numeral, or a body line that merely shares words, is not the heading.
    assert headings.rest("（二）推荐的考核项目情况", "project") is None
    assert headings.rest("1. 本项目已在本市二十家养老机构试点。", "project") is None


def test_a_one_character_header_is_read_by_its_accepted_wording() -> None:
    header = match_header(_cells(["序", "职业编码", "职业"]), COLUMNS)
    assert header.columns == {"seq": 0, "code": 1, "occupation": 2}


def test_header_cells_no_wording_names_are_read_by_their_place() -> None:
    # "行业方向" and "申请缘由" are no wording of any column and share one character each with the column of their
    # place: between 是否已纳入急需紧缺职业目录 and 预计评价人次 the form has 产业类别, after it 推荐理由.
    texts = [
        "序号", "职业编码", "职业", "工种", "国家职业标准名称", "国家职业标准版本", "是否已纳入急需紧缺职业目录",
        "行业方向", "预计评价人次", "申请缘由",
    ]  # fmt: skip
    header = match_header([Cell(0, col, 1, 1, text) for col, text in enumerate(texts)], COLUMNS)
    assert header.columns["industries"] == 7
    assert header.columns["reason"] == 9
    assert header.columns["estimated_count"] == 8


def test_a_header_cell_in_a_place_the_form_has_no_column_for_stays_unread() -> None:
    # Two cells between the same neighbours, one free column: only the cell that shares words with it is read.
    texts = [
        "序号",
        "职业编码",
        "职业",
        "工种",
        "国家职业标准名称",
        "国家职业标准版本",
        "备注",
        "目录情况",
        "预计评价人次",
    ]
    header = match_header([Cell(0, col, 1, 1, text) for col, text in enumerate(texts)], COLUMNS)
    assert header.columns.get("shortage_listed") == 7
    assert 6 not in header.columns.values()


def test_line_labels_and_label_cells_share_one_scorer_and_its_folded_words() -> None:
    """One scorer: a table form's header is folded like a 建议书's label cell ("其他可选" is 备选), and a score means
    the same on both; only the thresholds differ, and they come from the form data."""
    summary = require_spec(FormId.new_occupation_summary).header_aliases()
    assert LabelIndex.for_headers(summary).field_of("其他可选名称") == "alt_names"
    assert score(label_key("本单位联络人"), label_key("联系人")) == score(
        label_key("本单位联系人"), label_key("联系人")
    )
    settings = thresholds()
    assert (LINES.threshold, LINES.margin) == (settings.header_threshold, settings.header_margin)


def test_a_form_may_override_the_default_thresholds_and_only_known_ones() -> None:
    spec = require_spec(FormId.skill_level_recommendation)
    data = spec.model_dump()
    assert thresholds(FormId.skill_level_recommendation.value) == thresholds()
    with pytest.raises(ValueError, match="no setting"):
        type(spec).model_validate({**data, "matching": {"treshold": 80.0}})
    stricter = type(spec).model_validate({**data, "matching": {"header_threshold": 90.0}})
    assert stricter.matching == {"header_threshold": 90.0}
