"""Word and PDF twins: one reading per form, and a PDF's export artefacts never reach a validator.

The PDFs are real LibreOffice exports of Word files built with the project's fixture builders. The artefacts
are made the way applicants' files make them: an e-mail address in a cell too narrow for it (a right indent
leaves it 1 cm), a phone number typed with letter spacing (w:spacing), a 大典 code in a narrow column; the
export then wraps and spaces them for real.
"""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest
from docx import Document
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm

from tests.fixtures.forms.proposal_docx import ProposalData, build_proposal_docx, sample_proposal
from tests.fixtures.forms.tables_docx import RECOMMENDATION, SH_SUMMARY, recommendation_docx, sh_summary_docx, variant
from tests.parsers.readers.office_files import soffice_convert
from zhengji.clock import SHANGHAI
from zhengji.parsers.document import ParseOptions, parse_attachments
from zhengji.parsers.forms import classify, read
from zhengji.parsers.model import ParsedDocument
from zhengji.parsers.readers import read_layout
from zhengji.parsers.submission import CheckedSubmission, Mail, judge

IN_JUNE = datetime(2025, 6, 21, 10, 0, tzinfo=SHANGHAI)
EMAIL = "office@fengfei-air.com"
PHONE = "021-54781234"
OTHER_PHONE = "021-54781299"
CODE = "4-04-05-05"


def _proposal(**contact: str) -> ProposalData:
    data = sample_proposal()
    return replace(data, contact=replace(data.contact, **{"email": EMAIL, **contact}))


def _with_artefacts(docx: bytes, narrow: set[str], spaced: set[str]) -> bytes:
    """The Word file with the cell paragraphs holding ``narrow`` texts squeezed to 1 cm, and ``spaced`` texts
    letter-spaced by 4 pt: what an applicant's narrow cell and letter-spaced number look like."""
    document = Document(io.BytesIO(docx))
    for paragraph in _cell_paragraphs(document):
        if paragraph.text in narrow:
            width = paragraph._parent.width  # the cell
            paragraph.paragraph_format.right_indent = (width - Cm(1.0)) if width else Cm(8)
        if paragraph.text in spaced:
            for run in paragraph.runs:
                spacing = OxmlElement("w:spacing")
                spacing.set(qn("w:val"), "80")
                run._r.get_or_add_rPr().append(spacing)
    for paragraph in document.paragraphs:
        for text in spaced:
            if paragraph.text.endswith(text):
                spacing = OxmlElement("w:spacing")
                spacing.set(qn("w:val"), "80")
                paragraph.runs[-1]._r.get_or_add_rPr().append(spacing)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _cell_paragraphs(document: Any) -> list[Any]:
    return [
        paragraph
        for table in document.tables
        for row in table.rows
        for cell in row.cells
        for paragraph in cell.paragraphs
    ]


SUMMARY = variant(SH_SUMMARY, rows=[{"seq": 1, "name": "无人机群飞表演编队师", "proposer": "上海翼舞智能科技有限公司"}])
RECOMMENDATION_ROWS = variant(RECOMMENDATION, contact_phone=PHONE)


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    """Word sources and their PDF exports, converted in one LibreOffice run."""
    words = {
        "proposal.docx": _with_artefacts(build_proposal_docx(_proposal()), {EMAIL}, {PHONE}),
        "other_phone.docx": _with_artefacts(build_proposal_docx(_proposal(phone=OTHER_PHONE)), {EMAIL}, {OTHER_PHONE}),
        "bad_email.docx": build_proposal_docx(_proposal(email="wangmin@yiwu-tech")),
        "spaced_email.docx": build_proposal_docx(_proposal(email="wangmin@yiwu tech.cn")),
        "summary.docx": sh_summary_docx(SUMMARY),
        "recommendation.docx": _with_artefacts(recommendation_docx(RECOMMENDATION_ROWS), {CODE}, {PHONE, CODE}),
    }
    pdfs = soffice_convert(words, "pdf")
    return {**words, **pdfs}


def parsed(files: dict[str, bytes], **named: str) -> list[ParsedDocument]:
    """The documents of a mail that carries ``files[source]`` under the name ``as_name``, for each as_name=source."""
    attachments = [(as_name.replace("__", "."), files[source]) for as_name, source in named.items()]
    return parse_attachments(attachments, ParseOptions(at=IN_JUNE, isolate=False))


def checked(documents: list[ParsedDocument]) -> CheckedSubmission:
    mail = Mail(attachments=[], received=IN_JUNE, to=["yanfa312@126.com"], subject="新职业征集材料")
    return judge(mail, documents)


def errors(submission: CheckedSubmission) -> list[tuple[str, str | None, str]]:
    found = submission.all_findings()
    return [(finding.code, finding.file, finding.message) for finding in found if finding.severity == "error"]


def codes(submission: CheckedSubmission, code: str) -> list[Any]:
    return [finding for finding in submission.all_findings() if finding.code == code]


def test_the_exports_really_carry_the_artefacts(files: dict[str, bytes]) -> None:
    """The premise of the tests below: read as extracted, before normalising, the PDFs' values are broken."""
    proposal = _raw_fields(files["proposal.pdf"])
    assert proposal["contact"]["email"] != EMAIL and "".join(proposal["contact"]["email"].split()) == EMAIL
    assert proposal["contact"]["phone"] != PHONE and "".join(proposal["contact"]["phone"].split()) == PHONE
    recommendation = _raw_fields(files["recommendation.pdf"])
    assert recommendation["contact_phone"] != PHONE


def _raw_fields(pdf: bytes) -> dict[str, Any]:
    layout = read_layout(pdf, "pdf")
    return read(classify(layout), layout).fields


def test_a_correct_pair_with_pdf_artefacts_is_judged_once_and_complete(files: dict[str, bytes]) -> None:
    documents = parsed(
        files,
        建议书__docx="proposal.docx",
        建议书__pdf="proposal.pdf",
        汇总表__docx="summary.docx",
        汇总表__pdf="summary.pdf",
    )
    submission = checked(documents)
    assert errors(submission) == []
    assert codes(submission, "mismatch") == []
    assert submission.status == "complete"
    # The PDF's reading is kept for staff, as the applicant typed it.
    pdf = next(document for document in submission.documents if document.file == "建议书.pdf")
    assert pdf.fields["contact"]["email"] == EMAIL
    assert pdf.fields["contact"]["phone"] == PHONE


def test_a_pdf_alone_with_artefacts_gets_no_bad_email_or_bad_phone(files: dict[str, bytes]) -> None:
    (document,) = parsed(files, 建议书__pdf="proposal.pdf")
    assert document.form == "new_occupation_proposal"
    assert [finding for finding in document.findings if finding.code in {"bad_email", "bad_phone"}] == []
    assert document.fields["contact"]["email"] == EMAIL
    assert document.fields["contact"]["phone"] == PHONE


def test_a_pair_that_really_differs_in_one_field_gives_one_mismatch_warning(files: dict[str, bytes]) -> None:
    documents = parsed(
        files,
        建议书__docx="proposal.docx",
        建议书__pdf="other_phone.pdf",
        汇总表__docx="summary.docx",
        汇总表__pdf="summary.pdf",
    )
    submission = checked(documents)
    mismatches = codes(submission, "mismatch")
    assert [(finding.severity, finding.field) for finding in mismatches] == [("warning", "contact.phone")]
    message = mismatches[0].message
    assert PHONE in message and OTHER_PHONE in message
    assert "联系电话" in message
    assert errors(submission) == []
    assert submission.status == "complete"


def test_a_real_bad_email_in_the_word_copy_is_told_once(files: dict[str, bytes]) -> None:
    documents = parsed(
        files,
        建议书__docx="bad_email.docx",
        建议书__pdf="bad_email.pdf",
        汇总表__docx="summary.docx",
        汇总表__pdf="summary.pdf",
    )
    submission = checked(documents)
    bad = codes(submission, "bad_email")
    assert [(finding.file, finding.field) for finding in bad] == [("建议书.docx", "contact.email")]
    assert submission.status == "incomplete"


def test_a_word_value_keeps_the_space_the_applicant_typed(files: dict[str, bytes]) -> None:
    (document,) = parsed(files, 建议书__docx="spaced_email.docx")
    assert document.fields["contact"]["email"] == "wangmin@yiwu tech.cn"
    assert "bad_email" in {finding.code for finding in document.findings}


def test_a_table_form_pair_with_a_wrapped_code_and_a_spaced_phone_has_no_error(files: dict[str, bytes]) -> None:
    documents = parsed(files, 推荐表__docx="recommendation.docx", 推荐表__pdf="recommendation.pdf")
    mail = Mail(attachments=[], received=IN_JUNE, to=["yanfa312@126.com"], subject="推荐表")
    submission = judge(mail, documents)
    assert submission.track == "skill_level_occupation"
    assert errors(submission) == []
    assert codes(submission, "mismatch") == []
    pdf = next(document for document in submission.documents if document.format == "pdf")
    assert pdf.fields["rows"][0]["code"] == CODE
    assert pdf.fields["contact_phone"] == PHONE


def test_the_pdf_of_a_table_form_alone_is_normalised_too(files: dict[str, bytes]) -> None:
    (document,) = parsed(files, 推荐表__pdf="recommendation.pdf")
    assert [finding for finding in document.findings if finding.code in {"bad_code", "bad_phone"}] == []
