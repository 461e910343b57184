"""convert_with_libreoffice and read_layout on .doc and .xls files LibreOffice itself saved."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from docx import Document

from tests.parsers.readers import office_files
from zhengji.parsers.model import Table, Unreadable
from zhengji.parsers.readers import read_layout
from zhengji.parsers.readers.legacy import convert_with_libreoffice
from zhengji.parsers.sniff import detect_format

_TO_DOCX = "docx:MS Word 2007 XML"


def _docx_text(data: bytes) -> list[str]:
    return [paragraph.text for paragraph in Document(io.BytesIO(data)).paragraphs]


def test_convert_doc_to_docx_keeps_the_text() -> None:
    converted = convert_with_libreoffice(office_files.form_doc(), "doc", _TO_DOCX)
    assert detect_format(converted) == "docx"
    assert "建议人（盖章或签字）：上海某某科技有限公司" in _docx_text(converted)


def test_concurrent_conversions_each_succeed() -> None:
    # One profile directory per conversion: with a shared profile the second soffice exits without output.
    doc = office_files.form_doc()
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda _: convert_with_libreoffice(doc, "doc", _TO_DOCX), range(3)))
    assert all("新职业信息建议书" in _docx_text(result) for result in results)


def test_convert_damaged_doc_is_unreadable() -> None:
    doc = office_files.form_doc()
    with pytest.raises(Unreadable) as caught:
        convert_with_libreoffice(doc[: len(doc) // 3], "doc", _TO_DOCX)
    assert str(caught.value) == "附件的 .doc 文件无法打开，可能已损坏，请另存为 .docx 或导出 PDF 后重新发送。"


def test_convert_without_libreoffice_asks_for_docx_or_pdf(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(Unreadable) as caught:
        convert_with_libreoffice(office_files.form_doc(), "doc", _TO_DOCX)
    assert str(caught.value) == "本系统无法读取 .doc 格式，请另存为 .docx 或导出 PDF 后重新发送。"


def test_convert_timeout_is_unreadable() -> None:
    with pytest.raises(Unreadable) as caught:
        convert_with_libreoffice(office_files.form_doc(), "doc", _TO_DOCX, timeout=0.01)
    assert "规定时间" in str(caught.value)


def test_read_layout_doc_reads_the_converted_form() -> None:
    layout = read_layout(office_files.form_doc(), "doc")
    assert layout.format == "doc"
    assert "填写时间：2025年3月21日" in layout.paragraphs
    table = layout.tables[0]
    tasks = table.at(4, 0)
    assert tasks is not None and (tasks.text, tasks.rowspan) == ("主要工作任务", 2)


def test_read_layout_xls_reads_like_the_xlsx() -> None:
    layout = read_layout(office_files.form_xls(), "xls")
    assert layout.format == "xls"
    assert layout.blocks[0] == "社会化职业技能等级认定职业（工种）推荐表"
    table = layout.blocks[1]
    assert isinstance(table, Table)
    assert [cell.text for cell in table.row(2)] == ["1", "4-04-05-05", "人工智能训练师", "1000", "2025-03-21", "25%"]


def test_read_layout_dispatches_pdf_and_xlsx() -> None:
    assert read_layout(office_files.pdfs()["form"], "pdf").format == "pdf"
    assert read_layout(office_files.recommendation_xlsx(), "xlsx").format == "xlsx"


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("ole_encrypted", "该文件设有密码，请取消密码后重新发送。"),
        ("png", "附件为图片，无法读取其中的表格内容，请将表格另存为 .docx 或导出 PDF 后重新发送。"),
        ("unknown", "无法识别该附件的文件格式，请以 .docx 或 PDF 格式重新发送。"),
    ],
)
def test_read_layout_refuses_formats_without_a_reader(fmt: str, expected: str) -> None:
    with pytest.raises(Unreadable) as caught:
        read_layout(b"\x00" * 16, fmt)
    assert str(caught.value) == expected
