"""A blank is only blank where the value goes (issue 17, precision before recall toward applicants).

A label found in the document says where the value goes, not that it is empty: the extractor may have missed a
value typed beside a label, or rows under a header, in words it does not know. Such a field is for staff
(``unlocated_field``), never a demand to the applicant; a place that is truly empty still is (``unsigned``,
``missing_field``). The documents are Word files built here, worded the way no list of the form data words them.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime

from docx import Document
from docx.shared import Cm

from tests.fixtures.forms.proposal_docx import red_seal_png
from tests.parsers.forms.test_unlocated import ROWS, _label
from zhengji.clock import SHANGHAI
from zhengji.parsers.document import interpret
from zhengji.parsers.model import ParsedDocument
from zhengji.parsers.readers.docx import read_docx

# The 专项 window of 沪人社职〔2025〕140号 is open then; the 建议书 is judged against its notice of 2025 as well.
AT = datetime(2025, 9, 1, 10, 0, tzinfo=SHANGHAI)

# A note in the applicant's words above the signature line, which asks for the seal: the reader takes it for the
# signature line, and the line under it, in words of the applicant's own ("建议单位签章"), goes unread.
NOTE = "（本页请加盖单位公章）"


def _save(document: object) -> bytes:
    out = io.BytesIO()
    document.save(out)  # type: ignore[attr-defined]
    return out.getvalue()


def _proposal(signature_line: str, seal: bool = False) -> ParsedDocument:
    """A complete 建议书 (the rows of ``test_unlocated``) whose signature line is ``signature_line``, with a seal
    picture at its end when ``seal``."""
    document = Document()
    for text in ("新职业信息建议书", NOTE, signature_line, "填写时间：2025年6月21日"):
        paragraph = document.add_paragraph(text)
        if seal and text == signature_line:
            paragraph.add_run().add_picture(io.BytesIO(red_seal_png()), width=Cm(3.5))
    table = document.add_table(rows=0, cols=4)
    for label, mark, value in ROWS:
        cells = table.add_row().cells
        if value is None:
            _label(cells[0].merge(cells[3]), label, mark)
            continue
        _label(cells[0], label, mark)
        parts = value.split("|")
        if len(parts) == 1:
            cells[1].merge(cells[3]).text = value
        else:
            for index, part in enumerate(parts):
                cells[1 + index].text = part
    return interpret("建议书.docx", read_docx(_save(document)), AT)


# A 主要考核内容 whose task table's header is partly in the applicant's words: "工作任务" and "操作规范" as printed,
# "须掌握的学问" for 相关知识 and "占分" for 考核比重, which no wording of the form data reads.
HEADER = ("工作任务", "操作规范", "须掌握的学问", "占分")
TASKS = (
    ("（一）生活照料", "能协助失智老年人进食、如厕和清洁", "失智老年人生活照料的方法", "30%"),
    ("（二）认知训练", "能开展记忆、定向和计算训练", "认知功能评估的基本方法", "70%"),
)


def _content(tasks: Sequence[Sequence[str]]) -> ParsedDocument:
    """A 专项职业能力考核主要内容 with ``tasks`` under :data:`HEADER` (two blank rows when there are none)."""
    document = Document()
    for text in (
        "失智老年人照护专项职业能力考核主要内容",
        "一、定义",
        "运用认知症照护知识和技能，为失智老年人提供生活照料和认知训练服务的能力。",
        "二、能力标准与评价内容",
    ):
        document.add_paragraph(text)
    rows = list(tasks) or [("", "", "", "")] * 2
    table = document.add_table(rows=2 + len(rows), cols=4)
    for row, texts in enumerate((("能力名称", "失智老年人照护", "所属领域", "生活照料服务人员"), HEADER, *rows)):
        for col, text in enumerate(texts):
            table.cell(row, col).text = text
    return interpret("主要考核内容.docx", read_docx(_save(document)), AT)


def _codes(document: ParsedDocument, field: str) -> set[tuple[str, str]]:
    return {(finding.code, finding.severity) for finding in document.findings if finding.field == field}


def test_a_signed_line_the_reader_missed_is_for_staff_not_unsigned() -> None:
    document = _proposal("建议单位签章：上海天空秀科技有限公司")
    assert document.form == "new_occupation_proposal"
    assert _codes(document, "signer") == {("unlocated_field", "warning")}
    assert not [finding for finding in document.findings if finding.severity == "error"]


def test_a_seal_picture_beside_the_line_is_no_unsigned_either() -> None:
    document = _proposal("建议单位签章：", seal=True)
    assert ("unsigned", "error") not in _codes(document, "signer")
    assert _codes(document, "signer") == {("unlocated_field", "warning")}


def test_the_same_line_left_blank_is_still_unsigned() -> None:
    document = _proposal("建议单位签章：")
    assert _codes(document, "signer") == {("unsigned", "error")}


def test_a_filled_table_under_a_header_the_reader_missed_is_not_demanded() -> None:
    document = _content(TASKS)
    assert document.form == "special_ability_content"
    assert document.fields["definition"].startswith("运用认知症照护知识和技能")
    assert _codes(document, "tasks") == {("unlocated_field", "warning")}
    assert not [finding for finding in document.findings if finding.code == "missing_field"]


def test_an_empty_table_under_the_same_header_is_still_missing() -> None:
    document = _content(())
    assert _codes(document, "tasks") == {("missing_field", "error")}
