"""One attachment from bytes to findings, through the same path the service uses."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from tests.fixtures.forms.proposal_docx import build_proposal_docx, sample_proposal
from tests.fixtures.forms.tables_docx import cover_letter_docx
from zhengji.parsers.document import ParseOptions, interpret, parse_attachment
from zhengji.parsers.model import Finding, Layout
from zhengji.parsers.readers.docx import read_docx

AT = datetime(2025, 6, 21, 2, 0, tzinfo=UTC)
OPTIONS = ParseOptions(at=AT)


def codes(findings: list[Finding]) -> list[str]:
    return [finding.code for finding in findings]


def test_a_correct_proposal_has_no_finding_and_the_contract_fields() -> None:
    [document] = parse_attachment("建议书.docx", build_proposal_docx(sample_proposal()), OPTIONS)
    assert (document.format, document.form) == ("docx", "new_occupation_proposal")
    assert document.findings == []
    assert document.fields["name"] == "无人机群飞表演编队师"
    assert document.fields["province"] == "shanghai"
    assert document.sha256 is not None and len(document.sha256) == 64


def test_the_type_comes_from_the_bytes_not_the_name() -> None:
    [document] = parse_attachment("建议书.pdf", build_proposal_docx(sample_proposal()), OPTIONS)
    assert document.format == "docx"
    assert document.form == "new_occupation_proposal"


def test_a_blank_definition_is_a_missing_field_with_its_path() -> None:
    data = dataclasses.replace(sample_proposal(), definition=None)
    [document] = parse_attachment("建议书.docx", build_proposal_docx(data), OPTIONS)
    missing = [finding for finding in document.findings if finding.code == "missing_field"]
    assert [(finding.field, finding.severity) for finding in missing] == [("definition", "error")]
    assert "新职业定义" in missing[0].message
    assert missing[0].file == "建议书.docx"


def test_unsigned_unless_a_seal_is_found() -> None:
    unsigned = dataclasses.replace(sample_proposal(), signer=None)
    layout = read_docx(build_proposal_docx(unsigned))
    assert "unsigned" in codes(interpret("建议书.docx", layout, AT).findings)
    sealed = Layout(format="pdf", blocks=layout.blocks, red_seals=1)
    assert "unsigned" not in codes(interpret("建议书.pdf", sealed, AT).findings)


def test_a_document_that_is_no_form_is_an_extra_attachment() -> None:
    [document] = parse_attachment("说明函.docx", cover_letter_docx(), OPTIONS)
    assert document.form == "unknown"
    assert [(f.code, f.severity) for f in document.findings] == [("unknown_form", "warning")]


def test_a_scan_says_so_and_asks_for_the_word_version() -> None:
    document = interpret("扫描件.pdf", Layout(format="pdf", pages=3, text_layer=False), AT)
    assert document.form == "unknown"
    assert [(f.code, f.severity) for f in document.findings] == [("scanned", "warning")]
    assert "Word" in document.findings[0].message


def test_guangdong_forms_are_checked_against_guangdong_rules() -> None:
    data = dataclasses.replace(sample_proposal("guangdong"), laws=None)
    at = datetime(2026, 7, 1, 2, 0, tzinfo=UTC)
    [document] = parse_attachment("新职业建议书.docx", build_proposal_docx(data), ParseOptions(at=at))
    assert document.fields["province"] == "guangdong"
    assert [(f.code, f.field, f.severity) for f in document.findings] == [("missing_field", "laws", "error")]


def test_a_picture_is_kept_as_extra_material_not_refused() -> None:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(buffer, "PNG")
    [document] = parse_attachment("营业执照.png", buffer.getvalue(), OPTIONS)
    assert (document.format, document.form) == ("png", "unknown")
    assert [(f.code, f.severity) for f in document.findings] == [("unknown_form", "warning")]
