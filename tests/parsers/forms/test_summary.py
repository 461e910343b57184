"""新职业汇总表 (沪 000 附件2) and 新职业信息汇总表 (粤 002 附件2), built and read back field by field."""

from __future__ import annotations

from typing import Any

from tests.fixtures.forms.tables_docx import (
    GD_SUMMARY,
    SH_SUMMARY,
    folded,
    gd_summary_docx,
    sh_summary_docx,
    variant,
)
from tests.fixtures.forms.tables_xlsx import gd_summary_xlsx, sh_summary_xlsx
from zhengji.notices.registry import FormId
from zhengji.parsers.forms import classify, extract
from zhengji.parsers.model import Layout
from zhengji.parsers.readers.docx import read_docx
from zhengji.parsers.readers.legacy import convert_with_libreoffice
from zhengji.parsers.readers.pdf import read_pdf
from zhengji.parsers.readers.xlsx import read_xlsx


def _fields(layout: Layout) -> dict[str, Any]:
    assert classify(layout) == FormId.new_occupation_summary
    return extract(FormId.new_occupation_summary, layout)


def _assert_same(fields: dict[str, Any], data: dict[str, Any]) -> None:
    assert set(fields) == set(data)
    for name in ("recommender", "contact_person", "contact_phone", "fill_date", "opinion", "province"):
        assert fields[name] == data[name], name
    assert len(fields["rows"]) == len(data["rows"])
    for got, want in zip(fields["rows"], data["rows"], strict=True):
        assert got == want


def test_shanghai_word_form() -> None:
    _assert_same(_fields(read_docx(sh_summary_docx())), SH_SUMMARY)


def test_shanghai_retyped() -> None:
    """Title in the page header, both contact labels on one line, columns swapped, a spaced label, a blank
    row, and "（盖章）" before the date in the opinion cell."""
    _assert_same(_fields(read_docx(sh_summary_docx(retyped=True))), SH_SUMMARY)


def test_shanghai_opinion_date_is_the_fill_date_and_not_part_of_the_opinion() -> None:
    fields = _fields(read_docx(sh_summary_docx(variant(SH_SUMMARY, fill_date="2025-12-22"))))
    assert fields["fill_date"] == "2025-12-22"
    assert "年" not in (fields["opinion"] or "")


def test_shanghai_blank_opinion() -> None:
    data = variant(SH_SUMMARY, opinion=None, fill_date=None)
    fields = _fields(read_docx(sh_summary_docx(data)))
    assert fields["opinion"] is None and fields["fill_date"] is None


def test_shanghai_excel_copy() -> None:
    _assert_same(_fields(read_xlsx(sh_summary_xlsx())), SH_SUMMARY)


def test_shanghai_pdf_export() -> None:
    fields = _fields(read_pdf(convert_with_libreoffice(sh_summary_docx(), "docx", "pdf")))
    assert folded(fields) == folded(SH_SUMMARY)


def test_guangdong_word_form() -> None:
    _assert_same(_fields(read_docx(gd_summary_docx())), GD_SUMMARY)


def test_guangdong_retyped() -> None:
    """Title in the table's first row, columns reordered, a spaced label, a blank row, a Chinese date."""
    _assert_same(_fields(read_docx(gd_summary_docx(retyped=True))), GD_SUMMARY)


def test_guangdong_excel_copy() -> None:
    _assert_same(_fields(read_xlsx(gd_summary_xlsx())), GD_SUMMARY)


def test_guangdong_pdf_export() -> None:
    fields = _fields(read_pdf(convert_with_libreoffice(gd_summary_docx(), "docx", "pdf")))
    assert folded(fields) == folded(GD_SUMMARY)


def test_guangdong_row_types() -> None:
    rows = _fields(read_docx(gd_summary_docx()))["rows"]
    assert [row["category"] for row in rows] == ["new_occupation", "new_work_type", "adjustment"]
    assert [row["city_reviewed"] for row in rows] == [True, False, True]
    assert rows[0]["alt_names"] == ["低空飞行服务员", "无人机航线规划员"]
    assert rows[2]["alt_names"] == []
