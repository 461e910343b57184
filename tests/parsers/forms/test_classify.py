"""Which form a file is: every form as published and as retyped, in Word, Excel and PDF; and files that are none."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from docx import Document

from tests.fixtures.forms import tables_docx as docs
from tests.fixtures.forms import tables_xlsx as sheets
from tests.fixtures.forms.proposal_docx import build_proposal_docx, sample_proposal
from zhengji.notices.registry import FormId
from zhengji.parsers.forms import FORM_TITLES, classify, extract, form_title
from zhengji.parsers.model import Cell, Layout, Table
from zhengji.parsers.readers.docx import read_docx
from zhengji.parsers.readers.legacy import convert_with_libreoffice
from zhengji.parsers.readers.pdf import read_pdf
from zhengji.parsers.readers.xlsx import read_xlsx

WORD_FILES: dict[str, tuple[Callable[[], bytes], FormId]] = {
    "sh_summary": (docs.sh_summary_docx, FormId.new_occupation_summary),
    "sh_summary_retyped": (lambda: docs.sh_summary_docx(retyped=True), FormId.new_occupation_summary),
    "gd_summary": (docs.gd_summary_docx, FormId.new_occupation_summary),
    "gd_summary_retyped": (lambda: docs.gd_summary_docx(retyped=True), FormId.new_occupation_summary),
    "recommendation": (docs.recommendation_docx, FormId.skill_level_recommendation),
    "recommendation_2024": (lambda: docs.recommendation_docx(year=2024), FormId.skill_level_recommendation),
    "recommendation_retyped": (
        lambda: docs.recommendation_docx(retyped=True),
        FormId.skill_level_recommendation,
    ),
    "letter": (docs.letter_docx, FormId.evaluator_recommendation_letter),
    "letter_altered": (
        lambda: docs.letter_docx(fixed="我单位将积极配合开展相关工作。", marker=False),
        FormId.evaluator_recommendation_letter,
    ),
    "special_summary": (docs.special_summary_docx, FormId.special_ability_summary),
    "special_summary_retyped": (lambda: docs.special_summary_docx(retyped=True), FormId.special_ability_summary),
    "special_proposal": (docs.special_proposal_docx, FormId.special_ability_proposal),
    "special_proposal_table": (
        lambda: docs.special_proposal_docx(guidance=True, in_table=True),
        FormId.special_ability_proposal,
    ),
    "special_content": (docs.special_content_docx, FormId.special_ability_content),
    "special_content_plain": (
        lambda: docs.special_content_docx(template_notes=False),
        FormId.special_ability_content,
    ),
    "proposal_sh": (lambda: build_proposal_docx(sample_proposal("shanghai")), FormId.new_occupation_proposal),
    "proposal_gd": (lambda: build_proposal_docx(sample_proposal("guangdong")), FormId.new_occupation_proposal),
    "proposal_title_in_header": (
        lambda: build_proposal_docx(sample_proposal("shanghai"), title_in="header"),
        FormId.new_occupation_proposal,
    ),
    "cover_letter": (docs.cover_letter_docx, FormId.unknown),
    "empty": (docs.empty_docx, FormId.unknown),
}


@pytest.mark.parametrize("name", sorted(WORD_FILES))
def test_classify_word_file(name: str) -> None:
    build, expected = WORD_FILES[name]
    assert classify(read_docx(build())) == expected


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (sheets.recommendation_xlsx, FormId.skill_level_recommendation),
        (sheets.gd_summary_xlsx, FormId.new_occupation_summary),
        (sheets.sh_summary_xlsx, FormId.new_occupation_summary),
    ],
)
def test_classify_excel_copy(build: Callable[[], bytes], expected: FormId) -> None:
    assert classify(read_xlsx(build())) == expected


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (docs.recommendation_docx, FormId.skill_level_recommendation),
        (docs.letter_docx, FormId.evaluator_recommendation_letter),
        (docs.special_content_docx, FormId.special_ability_content),
        (docs.cover_letter_docx, FormId.unknown),
    ],
)
def test_classify_pdf_export(build: Callable[[], bytes], expected: FormId) -> None:
    pdf = convert_with_libreoffice(build(), "docx", "pdf")
    assert classify(read_pdf(pdf)) == expected


def _word(paragraphs: list[str], table: list[list[str]] | None = None) -> Layout:
    document = Document()
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for row_index, row in enumerate(table):
            for col, text in enumerate(row):
                grid.cell(row_index, col).text = text
    buffer = io.BytesIO()
    document.save(buffer)
    return read_docx(buffer.getvalue())


def test_title_with_prefix_suffix_and_spaces_is_recognised() -> None:
    layout = _word(["附件１", "专项职业能力考核项目及考核机构建议书（参考）", "一、考核项目推荐情况", "略"])
    assert classify(layout) == FormId.special_ability_proposal


def test_content_titled_with_the_project_name_and_template_suffix() -> None:
    layout = _word(
        ["人工智能模型运用主要考核内容【参考模板】", "一、定义", "运用大模型工具的能力。"],
        [["能力名称", "人工智能模型运用", "所属领域", "软件"], ["工作任务", "操作规范", "相关知识", "考核比重"]],
    )
    assert classify(layout) == FormId.special_ability_content


def test_summary_without_title_is_known_by_its_columns() -> None:
    layout = _word(
        ["推荐单位（加盖公章）：上海市商务委员会"],
        [["序　号", "新 职 业 名 称", "新职业建议单位"], ["1", "算力调度员", "上海市人工智能行业协会"]],
    )
    assert classify(layout) == FormId.new_occupation_summary


def test_recommendation_without_title_is_known_by_its_columns() -> None:
    header = ["序号", "职业编码", "职业", "工种", "国家职业标准名称", "国家职业标准版本", "是否已纳入急需紧缺职业目录"]
    assert classify(_word([], [header, ["1", "4-04-05-05", "人工智能训练师", "", "", "", "是"]])) == (
        FormId.skill_level_recommendation
    )


def test_a_business_licence_scan_is_unknown() -> None:
    layout = _word(["营业执照", "统一社会信用代码 91310115MA1H7XYZ3B", "名称 上海智算技能评价有限公司", "\ufffc"])
    assert classify(layout) == FormId.unknown


def test_a_cover_letter_naming_every_form_is_unknown() -> None:
    layout = _word(
        [
            "关于报送专项职业能力考核项目推荐材料的函",
            "现报送专项职业能力考核项目及考核机构推荐汇总表、专项职业能力考核项目及考核机构建议书、"
            "人工智能模型运用主要考核内容，请查收。",
        ]
    )
    assert classify(layout) == FormId.unknown


def test_title_in_first_table_row() -> None:
    table = Table(
        cells=[
            Cell(0, 0, 1, 3, "新职业汇总表"),
            Cell(1, 0, 1, 1, "序号"),
            Cell(1, 1, 1, 1, "新职业名称"),
            Cell(1, 2, 1, 1, "新职业建议单位"),
        ],
        n_rows=2,
        n_cols=3,
    )
    assert classify(Layout("docx", [table])) == FormId.new_occupation_summary


def test_unknown_has_no_fields_and_every_form_has_a_title() -> None:
    assert extract(FormId.unknown, Layout("docx", ["你好"])) == {}
    assert set(FORM_TITLES) == set(FormId)
    assert form_title("new_occupation_summary", "guangdong") == "新职业信息汇总表"
    assert form_title(FormId.new_occupation_summary) == "新职业汇总表"


def test_proposal_dispatches_to_its_extractor() -> None:
    data: Any = sample_proposal("shanghai")
    layout = read_docx(build_proposal_docx(data))
    fields = extract(classify(layout), layout)
    assert fields["name"] == data.name


@pytest.mark.parametrize(
    "title",
    [
        "《社会化职业技能等级认定职业(工种)推荐表》",
        "附件1：社会化职业技能等级认定职业（工种）推荐表〔参考〕",
        "社 会 化 职 业 技 能 等 级 认 定 职 业 （ 工 种 ） 推 荐 表",
    ],
)
def test_title_spellings(title: str) -> None:
    layout = _word([title, "推荐单位（加盖公章）：上海市商务委员会"], [["序号", "职业编码", "职业", "工种"]])
    assert classify(layout) == FormId.skill_level_recommendation
