"""The three forms of 沪人社职〔2025〕140号 (推荐汇总表, 建议书, 主要考核内容), built and read back."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.forms.tables_docx import (
    INSTITUTION_GUIDANCE,
    PROJECT_GUIDANCE,
    SPECIAL_CONTENT,
    SPECIAL_PROPOSAL,
    SPECIAL_SUMMARY,
    folded,
    special_content_docx,
    special_proposal_docx,
    special_summary_docx,
    variant,
)
from zhengji.notices.registry import FormId
from zhengji.parsers.forms import classify, extract
from zhengji.parsers.forms.special_ability import split_domain, split_institution
from zhengji.parsers.model import Layout
from zhengji.parsers.readers.docx import read_docx
from zhengji.parsers.readers.legacy import convert_with_libreoffice
from zhengji.parsers.readers.pdf import read_pdf


def _fields(layout: Layout, form: FormId) -> dict[str, Any]:
    assert classify(layout) == form
    return extract(form, layout)


# --- 推荐汇总表 ---------------------------------------------------------------------------------------------


def test_summary_word_form_drops_the_sample_row() -> None:
    fields = _fields(read_docx(special_summary_docx()), FormId.special_ability_summary)
    assert fields == SPECIAL_SUMMARY
    assert all(row["credit_code"] != "111111111111111111" for row in fields["rows"])


def test_summary_retyped() -> None:
    """Title in the page header, the code before the domain name, a spaced label, a blank row."""
    assert _fields(read_docx(special_summary_docx(retyped=True)), FormId.special_ability_summary) == SPECIAL_SUMMARY


def test_summary_pdf_export() -> None:
    pdf = convert_with_libreoffice(special_summary_docx(), "docx", "pdf")
    assert folded(_fields(read_pdf(pdf), FormId.special_ability_summary)) == folded(SPECIAL_SUMMARY)


def test_summary_fill_date_is_the_opinion_date() -> None:
    data = variant(SPECIAL_SUMMARY, fill_date="2025-11-21")
    assert _fields(read_docx(special_summary_docx(data)), FormId.special_ability_summary)["fill_date"] == "2025-11-21"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("软件和信息技术服务人员 4-04-05", ("软件和信息技术服务人员", "4-04-05")),
        ("4-04-05 软件和信息技术服务人员", ("软件和信息技术服务人员", "4-04-05")),
        ("软件和信息技术服务人员（4-04-05）", ("软件和信息技术服务人员", "4-04-05")),
        ("软件和信息技术服务人员", ("软件和信息技术服务人员", None)),
    ],
)
def test_domain_and_code_are_split(text: str, expected: tuple[str | None, str | None]) -> None:
    assert split_domain(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("上海×××有限公司 (111111111111111111)", ("上海×××有限公司", "111111111111111111")),
        ("上海康乐养老服务培训中心（52310000MJ4998765K）", ("上海康乐养老服务培训中心", "52310000MJ4998765K")),
        ("上海智算技能评价有限公司\n91310115MA1H7XYZ3B", ("上海智算技能评价有限公司", "91310115MA1H7XYZ3B")),
        ("上海智算（Shanghai AI Lab）有限公司", ("上海智算（Shanghai AI Lab）有限公司", None)),
    ],
)
def test_institution_and_credit_code_are_split(text: str, expected: tuple[str | None, str | None]) -> None:
    assert split_institution(text) == expected


# --- 建议书 ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("guidance", [False, True])
@pytest.mark.parametrize("in_table", [False, True])
def test_proposal_sections_without_the_template_guidance(guidance: bool, in_table: bool) -> None:
    layout = read_docx(special_proposal_docx(guidance=guidance, in_table=in_table))
    assert _fields(layout, FormId.special_ability_proposal) == SPECIAL_PROPOSAL


def test_proposal_left_as_the_template_is_blank() -> None:
    data = variant(SPECIAL_PROPOSAL, project_section=None, institution_section=None)
    fields = _fields(read_docx(special_proposal_docx(data, guidance=True)), FormId.special_ability_proposal)
    assert fields == {"project_section": None, "institution_section": None}


def test_proposal_typed_on_after_the_guidance_keeps_the_applicants_text() -> None:
    data = variant(
        SPECIAL_PROPOSAL,
        project_section=PROJECT_GUIDANCE + "本项目面向养老机构护理人员。",
        institution_section=INSTITUTION_GUIDANCE,
    )
    fields = _fields(read_docx(special_proposal_docx(data)), FormId.special_ability_proposal)
    assert fields == {"project_section": "本项目面向养老机构护理人员。", "institution_section": None}


def test_proposal_pdf_export() -> None:
    pdf = convert_with_libreoffice(special_proposal_docx(guidance=True), "docx", "pdf")
    assert folded(_fields(read_pdf(pdf), FormId.special_ability_proposal)) == folded(SPECIAL_PROPOSAL)


# --- 主要考核内容 -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("template_notes", [True, False])
def test_content_word_form(template_notes: bool) -> None:
    layout = read_docx(special_content_docx(template_notes=template_notes))
    fields = _fields(layout, FormId.special_ability_content)
    assert fields == SPECIAL_CONTENT
    assert sum(task["weight"] for task in fields["tasks"]) == 100


def test_content_left_as_the_template() -> None:
    blank = variant(SPECIAL_CONTENT, project=None, definition=None, ability_name=None, domain=None, tasks=[])
    fields = _fields(read_docx(special_content_docx(blank)), FormId.special_ability_content)
    assert fields == blank


def test_content_pdf_export() -> None:
    pdf = convert_with_libreoffice(special_content_docx(), "docx", "pdf")
    assert folded(_fields(read_pdf(pdf), FormId.special_ability_content)) == folded(SPECIAL_CONTENT)
