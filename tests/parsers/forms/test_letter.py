"""关于推荐（申报单位全称）成为评价机构的函 (004 附件3), built and read back."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.forms.tables_docx import FIXED, LETTER, letter_docx, variant
from zhengji.notices.registry import FormId
from zhengji.parsers.forms import classify, extract
from zhengji.parsers.model import Layout
from zhengji.parsers.readers.docx import read_docx
from zhengji.parsers.readers.legacy import convert_with_libreoffice
from zhengji.parsers.readers.pdf import read_pdf


def _fields(layout: Layout) -> dict[str, Any]:
    assert classify(layout) == FormId.evaluator_recommendation_letter
    return extract(FormId.evaluator_recommendation_letter, layout)


def test_letter_as_the_reference_text() -> None:
    assert _fields(read_docx(letter_docx())) == LETTER


def test_sender_line_without_the_stamp_label_and_marker_removed() -> None:
    assert _fields(read_docx(letter_docx(stamp_label=False, marker=False))) == LETTER


def test_pdf_export() -> None:
    assert _fields(read_pdf(convert_with_libreoffice(letter_docx(), "docx", "pdf"))) == LETTER


def test_body_date_is_not_the_fill_date() -> None:
    fields = _fields(read_docx(letter_docx(background="该单位成立于2016年3月1日，2020年5月8日通过备案。")))
    assert fields["fill_date"] == LETTER["fill_date"]


@pytest.mark.parametrize(
    "fixed",
    [
        FIXED.replace("，", ",").replace("。", "."),
        FIXED.replace("组织推动", "组织 推动"),
        " " + FIXED + "　",
    ],
)
def test_fixed_paragraph_retyped_with_other_punctuation_or_spaces_is_not_altered(fixed: str) -> None:
    assert _fields(read_docx(letter_docx(fixed=fixed)))["altered_fixed_paragraph"] is False


@pytest.mark.parametrize(
    "fixed",
    [
        FIXED.replace("负责", "协助"),
        FIXED.replace("，配合各级人社部门开展质量督导工作", ""),
        "我单位将积极支持该单位开展评价工作。",
    ],
)
def test_changed_fixed_paragraph_is_altered(fixed: str) -> None:
    assert _fields(read_docx(letter_docx(fixed=fixed)))["altered_fixed_paragraph"] is True


def test_template_placeholders_are_blank() -> None:
    blank = variant(LETTER, applicant=None, occupations=[], recommender=None, fill_date=None)
    fields = _fields(read_docx(letter_docx(blank)))
    assert fields == {**blank, "altered_fixed_paragraph": False}


def test_single_occupation_without_brackets() -> None:
    data = variant(LETTER, occupations=["电工"])
    assert _fields(read_docx(letter_docx(data)))["occupations"] == ["电工"]


def test_occupations_with_work_types_in_brackets() -> None:
    data = variant(LETTER, occupations=["车工（数控车工）", "焊工（电焊工）", "电工"])
    assert _fields(read_docx(letter_docx(data)))["occupations"] == ["车工（数控车工）", "焊工（电焊工）", "电工"]


def test_date_in_chinese_numerals() -> None:
    assert _fields(read_docx(letter_docx(date_text="二〇二五年六月二十四日")))["fill_date"] == "2025-06-24"
