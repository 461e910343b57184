"""detect_format tells the type from the bytes of real files; the name only splits doc/wps and xls/et."""

from __future__ import annotations

import io
import random
import struct
import zipfile

import openpyxl
import py7zr
import pytest
from docx import Document
from PIL import Image

from tests.parsers.readers import office_files
from zhengji.parsers.sniff import detect_format


def _image(kind: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, kind)
    return buffer.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _xlsx() -> bytes:
    buffer = io.BytesIO()
    openpyxl.Workbook().save(buffer)
    return buffer.getvalue()


def _seven_zip() -> bytes:
    buffer = io.BytesIO()
    with py7zr.SevenZipFile(buffer, "w") as archive:
        archive.writestr(b"hello", "a.txt")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (office_files.form_docx(), "docx"),
        (_xlsx(), "xlsx"),
        (_zip({"[Content_Types].xml": b"<Types/>", "ppt/presentation.xml": b"<p/>"}), "pptx"),
        (_zip({"建议书.docx": office_files.form_docx()}), "zip"),
        (b"Rar!\x1a\x07\x00" + bytes(64), "rar"),
        (b"Rar!\x1a\x07\x01\x00" + bytes(64), "rar"),
        (_seven_zip(), "7z"),
        (b"{\\rtf1\\ansi\\ansicpg936 {\\fonttbl}\\par }", "rtf"),
        (struct.pack("<I", 0x223E9F78) + b"\x01\x00" + bytes(32), "tnef"),
        (_image("PNG"), "png"),
        (_image("JPEG"), "jpeg"),
        (_image("GIF"), "gif"),
        (_image("TIFF"), "tiff"),
        (_image("BMP"), "bmp"),
        (b"<!DOCTYPE html><html><body><table><tr><td>x</td></tr></table></body></html>", "html"),
        ("新职业名称：数据标注员\n".encode(), "txt"),
        ("新职业名称：数据标注员\n".encode("gb18030"), "txt"),
        (office_files.encrypted_office_file(), "ole_encrypted"),
        (random.Random(7).randbytes(4096), "unknown"),
        (b"", "unknown"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "unknown"),
    ],
)
def test_detect_format_of_real_bytes(data: bytes, expected: str) -> None:
    assert detect_format(data) == expected


def test_detect_format_pdf_ignores_the_name_and_leading_junk() -> None:
    pdf = office_files.pdfs()["form"]
    assert detect_format(pdf, "建议书.docx") == "pdf"
    assert detect_format(b"\r\n" * 100 + pdf) == "pdf"


def test_detect_format_legacy_word_and_wps_tie_break_by_name() -> None:
    doc = office_files.form_doc()
    assert detect_format(doc) == "doc"
    assert detect_format(doc, "建议书.docx") == "doc"
    assert detect_format(doc, "建议书.WPS") == "wps"


def test_detect_format_legacy_excel_and_et_tie_break_by_name() -> None:
    xls = office_files.form_xls()
    assert detect_format(xls, "推荐表.xlsx") == "xls"
    assert detect_format(xls, "推荐表.et") == "et"


def test_detect_format_truncated_docx_is_still_docx() -> None:
    # The central directory is gone; the first local headers still say it is a Word package.
    document = Document()
    document.add_paragraph("建议书" * 2000)
    buffer = io.BytesIO()
    document.save(buffer)
    data = buffer.getvalue()
    assert detect_format(data[: len(data) // 2]) == "docx"


def test_detect_format_random_bytes_named_docx_are_unknown() -> None:
    assert detect_format(random.Random(3).randbytes(20_000), "建议书.docx") == "unknown"


def _saved_docx() -> bytes:
    document = Document()
    document.add_paragraph("建议书")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_detect_format_a_docx_cut_before_its_word_parts_is_docx_not_an_archive() -> None:
    # Only "[Content_Types].xml" and the package relationships survive: still the Word file the sender saved.
    data = _saved_docx()
    head = data[:800]
    assert b"word/" not in head and b"[Content_Types].xml" in head
    assert detect_format(head, "建议书.docx") == "docx"
    assert detect_format(head, "表格.xlsx") == "xlsx"


def test_detect_format_a_package_whose_main_part_is_missing_is_docx() -> None:
    # A readable zip holding Word's parts but no word/document.xml: a broken Word file, never an archive.
    package = _zip({"[Content_Types].xml": b"<Types/>", "word/styles.xml": b"<styles/>"})
    assert detect_format(package, "附件.bin") == "docx"


def test_detect_format_a_damaged_zip_named_zip_stays_an_archive() -> None:
    data = _zip({"推荐表.pdf": b"%PDF-1.4 " + b"x" * 4000})
    assert detect_format(data[:200], "材料.zip") == "zip"
    assert detect_format(_zip({"word/建议书.docx": b"PK"}), "材料.zip") == "zip"  # a folder called word/
