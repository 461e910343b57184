"""A form saved as Word 97 (.doc) reads the same fields as its .docx, wherever in the file its blocks sit.

Real forms put sections in text boxes, frames, one-cell layout tables and content controls, and LibreOffice's
.doc round trip turns frames into text boxes (the DrawingML box and its VML copy). Every file here is made by
python-docx (the project's form builders), moved into those containers (``containers.py``) and saved as .doc by
LibreOffice in one ``soffice`` call for the session; each is then read through ``parse_document``, the path a
mail's attachment takes, which converts the .doc back with LibreOffice as the service does.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from lxml import etree

from tests.conftest import need_server
from tests.fixtures.forms.proposal_docx import build_proposal_docx, sample_proposal
from tests.fixtures.mutations.compare import score
from tests.fixtures.mutations.convert import convert_all, soffice
from tests.fixtures.mutations.corpus import Case, cases
from tests.parsers.readers import containers
from zhengji.parsers.document import ParseOptions, parse_document
from zhengji.parsers.model import ParsedDocument


@pytest.fixture(scope="module", autouse=True)
def _libreoffice() -> None:
    """Every test here converts with LibreOffice: in CI its absence fails them, elsewhere it skips them."""
    if soffice() is None:
        need_server("LibreOffice (soffice) is not installed (Debian: libreoffice-writer-nogui)")


_BEIJING = ZoneInfo("Asia/Shanghai")
_AT = {
    "shanghai": datetime(2025, 6, 21, 10, 0, tzinfo=_BEIJING),
    "guangdong": datetime(2026, 7, 1, 10, 0, tzinfo=_BEIJING),
}

# Where a whole form goes: as the builder made it; its tables (first to last) in the cell of a layout table;
# all but its first two lines (附件 N, the title) in a text box. LibreOffice's .doc round trip drops every table
# of a layout cell that holds a paragraph before its first table (the text comes back as bare paragraphs), so
# the layout cell starts at the first table, and forms of lines alone have no layout-cell case.
_FORM_PLACES: dict[str, Callable[[bytes], bytes]] = {
    "as_built": lambda docx: docx,
    "layout_cell": lambda docx: containers.moved(docx, containers.in_layout_cell, containers.table_span),
    "text_box": lambda docx: containers.moved(docx, containers.in_text_box, containers.after_title),
}
# Where the 建议书's 八、国外相关情况 and 九、建议人情况/联系信息 tables go (one table each: the ``sections`` style):
# both in one cell of a layout table, or each in a text box, a frame or a content control of its own.
_CONTACT_AND_FOREIGN = ("八、", "九、")
_BLOCK_PLACES: dict[str, Callable[[bytes], bytes]] = {
    "nested_table": lambda docx: containers.moved(
        docx, containers.in_layout_cell, containers.section_span(*_CONTACT_AND_FOREIGN)
    ),
    "text_box": lambda docx: containers.moved(
        docx, containers.in_text_box, containers.section_tables(*_CONTACT_AND_FOREIGN)
    ),
    "frame": lambda docx: containers.moved(docx, containers.in_frame, containers.section_tables(*_CONTACT_AND_FOREIGN)),
    "content_control": lambda docx: containers.moved(
        docx, containers.in_content_control, containers.section_tables(*_CONTACT_AND_FOREIGN)
    ),
}


def _body(docx: bytes) -> Any:
    with zipfile.ZipFile(io.BytesIO(docx)) as package:
        return etree.fromstring(package.read("word/document.xml")).find("w:body", {"w": containers.W_NS})


_FORMS = [case for case in cases() if case.cls == "baseline"]
_FORMS_IN_PLACES = [
    (case, place)
    for case in _FORMS
    for place in _FORM_PLACES
    if place != "layout_cell" or containers.table_span(_body(case.docx))
]


@dataclass(frozen=True)
class _Source:
    """One Word file of the session and its LibreOffice .doc copy."""

    docx: bytes
    doc: bytes


def _form_name(case: Case, place: str) -> str:
    return f"{case.spec.key}-{place}.docx"


def _block_name(province: str, place: str) -> str:
    return f"proposal-{province}-{place}.docx"


@pytest.fixture(scope="session")
def sources() -> dict[str, _Source]:
    """Every Word file of this module, converted to .doc together (one soffice start for all of them)."""
    files: dict[str, bytes] = {}
    for case, place in _FORMS_IN_PLACES:
        files[_form_name(case, place)] = _FORM_PLACES[place](case.docx)
    for province in _AT:
        built = build_proposal_docx(sample_proposal(province), style="sections")
        for place, move in _BLOCK_PLACES.items():
            files[_block_name(province, place)] = move(built)
    docs = convert_all(files, "doc")
    return {name: _Source(data, docs[name]) for name, data in files.items()}


def _parse(name: str, data: bytes, fmt: str, at: datetime) -> ParsedDocument:
    return parse_document(name.replace(".docx", f".{fmt}"), data, fmt, ParseOptions(at=at, isolate=False))


def _errors(document: ParsedDocument) -> list[str]:
    return [f"{finding.code}:{finding.field}" for finding in document.findings if finding.severity == "error"]


@pytest.mark.parametrize(
    ("case", "place"), _FORMS_IN_PLACES, ids=[f"{case.spec.key}-{place}" for case, place in _FORMS_IN_PLACES]
)
def test_every_form_reads_the_same_fields_from_its_doc(sources: dict[str, _Source], case: Case, place: str) -> None:
    source = sources[_form_name(case, place)]
    word = _parse(_form_name(case, place), source.docx, "docx", case.spec.at)
    legacy = _parse(_form_name(case, place), source.doc, "doc", case.spec.at)

    assert (word.form, legacy.form) == (case.form, case.form)
    assert score(case.expected, word.fields).wrong == []
    assert score(case.expected, legacy.fields).wrong == []
    assert legacy.fields == word.fields
    assert (_errors(word), _errors(legacy)) == ([], [])


@pytest.mark.parametrize("fmt", ["docx", "doc"])
@pytest.mark.parametrize("place", list(_BLOCK_PLACES))
@pytest.mark.parametrize("province", list(_AT))
def test_proposal_keeps_its_contact_and_foreign_blocks(
    sources: dict[str, _Source], province: str, place: str, fmt: str
) -> None:
    name = _block_name(province, place)
    source = sources[name]
    document = _parse(name, source.docx if fmt == "docx" else source.doc, fmt, _AT[province])
    expected = sample_proposal(province).expected()

    assert document.fields["contact"] == expected["contact"]
    assert document.fields["foreign"] == expected["foreign"]
    assert score(expected, document.fields).wrong == []
    assert not [finding for finding in document.findings if finding.field and finding.field.startswith("contact.")]
    assert _errors(document) == []
