"""推荐表 (001 附件, 004 附件1) built as Word, Excel and PDF files and read back field by field."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.forms.tables_docx import RECOMMENDATION, folded, recommendation_docx, variant
from tests.fixtures.forms.tables_xlsx import recommendation_xlsx
from zhengji.notices.registry import FormId, load_registry
from zhengji.parsers.forms import classify, extract
from zhengji.parsers.model import Layout
from zhengji.parsers.readers.docx import read_docx
from zhengji.parsers.readers.legacy import convert_with_libreoffice
from zhengji.parsers.readers.pdf import read_pdf
from zhengji.parsers.readers.xlsx import read_xlsx


def _fields(layout: Layout) -> dict[str, Any]:
    assert classify(layout) == FormId.skill_level_recommendation
    return extract(FormId.skill_level_recommendation, layout)


def _assert_same(fields: dict[str, Any], data: dict[str, Any]) -> None:
    assert set(fields) == set(data)
    for name in ("recommender", "contact_person", "contact_phone", "fill_date"):
        assert fields[name] == data[name], name
    assert len(fields["rows"]) == len(data["rows"])
    for got, want in zip(fields["rows"], data["rows"], strict=True):
        assert got == want


@pytest.mark.parametrize("year", [2024, 2025])
def test_word_form_of_each_year(year: int) -> None:
    _assert_same(_fields(read_docx(recommendation_docx(year=year))), RECOMMENDATION)


def test_retyped_word_form() -> None:
    """Columns reordered, labels spaced, title in the page header, 推荐单位 in the first table row, the
    contact labels and values in cells of the last row, a blank row in the middle."""
    _assert_same(_fields(read_docx(recommendation_docx(retyped=True))), RECOMMENDATION)


def test_excel_copy() -> None:
    _assert_same(_fields(read_xlsx(recommendation_xlsx())), RECOMMENDATION)


def test_pdf_export() -> None:
    pdf = convert_with_libreoffice(recommendation_docx(), "docx", "pdf")
    fields = _fields(read_pdf(pdf))
    assert folded(fields) == folded(RECOMMENDATION)


def test_catalog_rows_keep_their_catalog_code_and_name() -> None:
    """A row copied from 004 附件2 reads back as the catalog row it names (the already_listed check's input)."""
    catalog = load_registry().catalog()
    fields = _fields(read_docx(recommendation_docx()))
    first = fields["rows"][0]
    entry = catalog.find(first["code"], first["occupation"], first["work_type"])
    assert entry is not None and entry.name == "人工智能训练师"
    assert catalog.find(fields["rows"][2]["code"], fields["rows"][2]["occupation"], None) is None


def test_counts_with_words_and_tags_with_commas() -> None:
    typed = {(0, 8): "约3,000人次", (0, 7): "人工智能，其他产业：数字内容", (1, 8): "1200", (2, 6): "未纳入"}
    rows = _fields(read_docx(recommendation_docx(typed=typed)))["rows"]
    assert rows[0]["estimated_count"] == 3000
    assert rows[0]["industries"] == ["人工智能", "其他产业：数字内容"]
    assert rows[1]["estimated_count"] == 1200
    assert rows[2]["shortage_listed"] is False


def test_blank_template_has_no_values() -> None:
    blank = variant(RECOMMENDATION, recommender=None, contact_person=None, contact_phone=None, fill_date=None, rows=[])
    fields = _fields(read_docx(recommendation_docx(blank)))
    assert fields == {"recommender": None, "contact_person": None, "contact_phone": None, "fill_date": None, "rows": []}
