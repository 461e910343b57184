"""Footnote marks typed superscript after a label read as Unicode superscripts, in Word, .doc and PDF alike.

Applicants retype the forms and mark labels with superscript digits ("新职业名称¹"). The form is built with
python-docx and saved by LibreOffice as PDF and as Word 97 .doc (:mod:`office_files`), as applicants' files are;
the .doc is read as the service reads it (converted back by LibreOffice), and the PDF both by pypdfium2 and by
the pdfplumber fallback.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator

import pytest
from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt

import zhengji.parsers.readers.pdf as pdf_reader
from tests.parsers.readers import office_files
from tests.parsers.readers.office_files import FOOTNOTED_ROWS, PLAIN_NOTE, SMALL_PRINT, docx_bytes
from zhengji.parsers.model import Layout, Table
from zhengji.parsers.readers import read_layout
from zhengji.parsers.readers.docx import read_docx
from zhengji.parsers.readers.pdf import read_pdf
from zhengji.parsers.readers.superscript import to_superscript


def _document() -> DocumentObject:
    document = Document()
    style = document.styles["Normal"]
    style.font.name = "Noto Serif CJK SC"
    style.font.size = Pt(11)
    return document


@pytest.fixture(scope="module")
def layouts() -> dict[str, Layout]:
    """The form read from each kind of file an applicant may send it as; the conversions take a few seconds."""
    pdf = office_files.pdfs()["footnoted"]
    found = {
        "docx": read_docx(office_files.footnoted_docx()),
        "doc": read_layout(office_files.footnoted_doc(), "doc"),
        "pdf": read_pdf(pdf),
    }
    with pytest.MonkeyPatch.context() as patch:
        # Every page declined by pypdfium2: the file is read by pdfplumber, as the fallback reads it.
        patch.setattr(pdf_reader, "read_page", lambda page: None)
        found["pdf by pdfplumber"] = read_pdf(pdf)
    return found


SOURCES = ["docx", "doc", "pdf", "pdf by pdfplumber"]


def _table(layout: Layout) -> Table:
    assert len(layout.tables) == 1
    return layout.tables[0]


def _text(table: Table, row: int, col: int) -> str:
    cell = table.at(row, col)
    assert cell is not None
    return cell.text


@pytest.mark.parametrize("source", SOURCES)
def test_superscript_marks_after_labels_read_as_superscripts(source: str, layouts: dict[str, Layout]) -> None:
    table = _table(layouts[source])
    labels = [_text(table, row, 0) for row in range(len(FOOTNOTED_ROWS))]
    assert labels == ["新职业名称¹", "新职业定义²", "所属行业³", "备注¹²"]


@pytest.mark.parametrize("source", SOURCES)
def test_values_and_plain_digits_are_unchanged(source: str, layouts: dict[str, Layout]) -> None:
    layout = layouts[source]
    table = _table(layout)
    assert [_text(table, row, 1) for row in range(len(FOOTNOTED_ROWS))] == [value for _, _, value in FOOTNOTED_ROWS]
    # Small print on the line is not raised: its digits stay digits.
    assert _text(table, len(FOOTNOTED_ROWS), 0) == SMALL_PRINT[0] + SMALL_PRINT[1]
    assert PLAIN_NOTE in layout.paragraphs


@pytest.mark.parametrize("source", SOURCES)
def test_a_superscript_unit_reads_as_the_unit(source: str, layouts: dict[str, Layout]) -> None:
    assert "建筑面积：120 m²" in layouts[source].paragraphs


def _character_styles(document: DocumentObject) -> None:
    """A superscript character style, and one based on it, as Word's 脚注引用 style and its variants are."""
    mark = document.styles.add_style("脚注标记", WD_STYLE_TYPE.CHARACTER)
    mark.font.superscript = True
    derived = document.styles.add_style("脚注标记红", WD_STYLE_TYPE.CHARACTER)
    derived.base_style = mark


def test_docx_reads_a_mark_made_superscript_by_its_character_style() -> None:
    document = _document()
    _character_styles(document)
    table = document.add_table(rows=3, cols=1)
    for row, (label, style) in enumerate([("新职业名称", "脚注标记"), ("新职业定义", "脚注标记红")]):
        paragraph = table.cell(row, 0).paragraphs[0]
        paragraph.add_run(label)
        paragraph.add_run(str(row + 1), style=style)
    # The run's own setting wins over its style's: a digit set back to the baseline is a digit.
    paragraph = table.cell(2, 0).paragraphs[0]
    paragraph.add_run("所属行业")
    baseline = OxmlElement("w:vertAlign")
    baseline.set(qn("w:val"), "baseline")
    paragraph.add_run("3", style="脚注标记")._r.get_or_add_rPr().append(baseline)
    table_read = _table(read_docx(docx_bytes(document)))
    assert [_text(table_read, row, 0) for row in range(3)] == ["新职业名称¹", "新职业定义²", "所属行业3"]


def test_docx_keeps_subscripts_and_circled_marks_as_typed() -> None:
    document = _document()
    paragraph = document.add_paragraph()
    for text, vertical in [("H", None), ("2", "sub"), ("O，所属行业", None), ("③", "super"), ("，注", None)]:
        run = paragraph.add_run(text)
        run.font.subscript = vertical == "sub" or None
        run.font.superscript = vertical == "super" or None
    assert read_docx(docx_bytes(document)).paragraphs == ["H2O，所属行业③，注"]


def _mapped() -> Iterator[str]:
    for code in range(0x20, 0x10000):
        char = chr(code)
        if to_superscript(char) != char:
            yield char


def test_every_mapped_character_becomes_its_own_superscript_form() -> None:
    mapped = list(_mapped())
    assert set("0123456789+-=()ni") <= set(mapped)
    for char in mapped:
        superscript = to_superscript(char)
        assert unicodedata.decomposition(superscript).startswith("<super>")
        # The superscript of a full-width digit, of a minus sign or of a hyphen is that of the ASCII character.
        plain = unicodedata.normalize("NFKC", char).replace("−", "-")
        assert unicodedata.normalize("NFKC", superscript).replace("−", "-") == plain
    assert to_superscript("③注a") == "③注a"
