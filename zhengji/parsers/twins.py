"""One reading per form: the Word and the PDF of the same form, paired and judged once.

The notices ask for every form as PDF and as WORD (沪人社职〔2025〕77号: "PDF版和WORD版"), so most forms arrive
twice. Judged twice, the PDF copy's reading (a wrapped e-mail address, letter-spaced digits, a line that a
narrow cell broke) came back as errors the applicant had not made, next to a correct Word copy. So:

- Copies pair when they are of the same form and share a file stem ("建议书.docx", "建议书.pdf"), or when one is
  the only candidate for the other (the contract's twin rule). An xlsx is the editable copy of a table form.
- The editable copy is the text of record: its findings stand. The PDF's field findings are dropped from what
  the applicant is told; its parsed fields and its notes for staff stay. The PDF is where seals are seen: a
  red seal on it signs its twin.
- Where the two read differently only in whitespace, line breaks, full/half width, hyphenation or letter
  spacing, they agree. Where they really differ, each differing field is one ``mismatch`` warning for staff
  that shows both values, worded as advice should the applicant read it; never a field error from the PDF.
- A Word copy that could not be read (``unreadable``, or not recognised as the form) pairs with nothing, so the
  readable PDF is then the text of record and is judged alone, as a PDF sent alone always is.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from zhengji.notices.registry import FormId
from zhengji.parsers.checks.labels import label
from zhengji.parsers.checks.view import is_blank, row_field
from zhengji.parsers.document import SHEET_FORMATS, WORD_FORMATS, format_name
from zhengji.parsers.forms.wording import fold
from zhengji.parsers.model import Finding, ParsedDocument
from zhengji.parsers.titles import form_title
from zhengji.textsafe import clean_line

__all__ = [
    "FIELD_FINDINGS",
    "TABLE_FORMS",
    "Twins",
    "agree",
    "disagreements",
    "is_editable",
    "one_reading",
    "pair_twins",
    "stem",
    "text_of_record",
]

TABLE_FORMS = frozenset(
    {FormId.new_occupation_summary, FormId.skill_level_recommendation, FormId.special_ability_summary}
)
# What a reading of a form's text says about its fields: told once, from the text of record.
FIELD_FINDINGS = frozenset(
    {
        "missing_field",
        "unchecked_category",
        "too_long",
        "bad_code",
        "already_listed",
        "bad_industry_tag",
        "bad_credit_code",
        "bad_weights",
        "bad_phone",
        "bad_email",
        "bad_date",
        "altered_text",
        "unsigned",
    }
)
# ``unlocated_field`` is not among them: it is a note for staff (a clerk looks at the PDF too), never a demand.
# Hyphens a line break may add or a typist may leave out: "4-04-\n05-05", "manage-\nment", "021 54781234".
_HYPHENS = str.maketrans(dict.fromkeys("-\u00ad\u2010\u2011", ""))
_VALUE_LIMIT = 60
_FILE_LIMIT = 80


@dataclass(frozen=True)
class Twins:
    """One form sent as its editable copy (the text of record) and as its PDF."""

    record: ParsedDocument
    pdf: ParsedDocument


def stem(name: str) -> str:
    """A file's name without folder, archive path or extension, folded: how two copies of a form are named alike."""
    return fold(PurePosixPath(name.replace("\\", "/").split(" › ")[-1]).stem).lower()


def is_editable(document: ParsedDocument) -> bool:
    """A readable Word copy of a form, or an Excel copy of a table form (the contract counts it as the WORD)."""
    if document.form == FormId.unknown:
        return False
    return document.format in WORD_FORMATS or (document.format in SHEET_FORMATS and document.form in TABLE_FORMS)


def pair_twins(documents: Sequence[ParsedDocument]) -> list[Twins]:
    """Every PDF of the submission with its editable twin, where it has one.

    A PDF with a text layer pairs within its own form; a scan (no text, no form yet) with any form. First by
    file stem; then each PDF left takes the only editable copy left that can be its twin: of its form when
    that form has no other PDF left, or, for a scan, of a form no readable PDF is left to claim.
    """
    editables = [document for document in documents if is_editable(document)]
    pdfs = [doc for doc in documents if doc.format == "pdf" and (doc.form != FormId.unknown or not doc.text_layer)]
    pairs: dict[int, Twins] = {}
    taken: set[int] = set()

    def fits(editable: ParsedDocument, pdf: ParsedDocument) -> bool:
        return id(editable) not in taken and (not pdf.text_layer or editable.form == pdf.form)

    for pdf in pdfs:
        same = [doc for doc in editables if fits(doc, pdf) and stem(doc.file) == stem(pdf.file)]
        if len(same) == 1:
            pairs[id(pdf)] = Twins(same[0], pdf)
            taken.add(id(same[0]))
    for pdf in pdfs:
        if id(pdf) in pairs:
            continue
        left = [doc for doc in pdfs if id(doc) not in pairs]
        if pdf.text_layer:
            rivals = [doc for doc in left if doc.text_layer and doc.form == pdf.form]
            candidates = [doc for doc in editables if fits(doc, pdf)] if len(rivals) == 1 else []
        else:
            claimed = {doc.form for doc in left if doc.text_layer}
            candidates = [doc for doc in editables if fits(doc, pdf) and doc.form not in claimed]
        if len(candidates) == 1:
            pairs[id(pdf)] = Twins(candidates[0], pdf)
            taken.add(id(candidates[0]))
    return [pairs[id(pdf)] for pdf in pdfs if id(pdf) in pairs]


def text_of_record(copies: Sequence[ParsedDocument]) -> ParsedDocument:
    """Of several copies of one form, the one whose text counts: the editable copy when there is one."""
    return next((copy for copy in copies if is_editable(copy)), copies[0])


def one_reading(documents: Sequence[ParsedDocument], pairs: Iterable[Twins] | None = None) -> list[ParsedDocument]:
    """The documents with each paired PDF's field findings dropped: the form is judged on its editable copy.

    The PDF keeps its parsed fields (staff compare them), its notes for staff (``unlocated_field``) and any
    finding about the file itself.
    """
    twins = list(pair_twins(documents) if pairs is None else pairs)
    paired = {id(twin.pdf) for twin in twins}
    return [
        document.model_copy(
            update={"findings": [finding for finding in document.findings if finding.code not in FIELD_FINDINGS]}
        )
        if id(document) in paired
        else document
        for document in documents
    ]


def _comparable(value: Any) -> str:
    """A value as compared between twins: width, whitespace, line breaks and hyphens do not count."""
    if is_blank(value):
        return ""
    if isinstance(value, list | tuple):
        return "、".join(_comparable(item) for item in value if not is_blank(item))
    return "".join(unicodedata.normalize("NFKC", _text(value)).split()).translate(_HYPHENS)


def agree(first: Any, second: Any) -> bool:
    """Whether two readings of one value say the same, as the applicant would see it."""
    return _comparable(first) == _comparable(second)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list | tuple):
        return "、".join(_text(item) for item in value if not is_blank(item))
    return str(value).strip()


@dataclass(frozen=True)
class _Difference:
    path: str  # the label path: "contact.phone", "employers.phone", "rows.code", "tasks"
    field: str  # the finding's field: "contact.phone", "employers.phone", "code"
    list_key: str | None
    row: int | None
    record: Any
    pdf: Any
    rows: bool = False  # a list whose copies hold different numbers of rows: the values are the counts


def _records(value: Any) -> list[Mapping[str, Any]] | None:
    if isinstance(value, list) and value and all(isinstance(item, Mapping) for item in value):
        return [item for item in value if not is_blank({**item, "seq": None})]
    return None


def _differences(record: Mapping[str, Any], pdf: Mapping[str, Any], prefix: str = "") -> list[_Difference]:
    found: list[_Difference] = []
    for key in [*record, *(key for key in pdf if key not in record)]:
        if key == "province" and not prefix:
            continue
        path = f"{prefix}{key}"
        mine, theirs = record.get(key), pdf.get(key)
        if isinstance(mine, Mapping) or isinstance(theirs, Mapping):
            found += _differences(_mapping(mine), _mapping(theirs), f"{path}.")
            continue
        rows_mine, rows_theirs = _records(mine), _records(theirs)
        if rows_mine is not None or rows_theirs is not None:
            found += _row_differences(path, rows_mine or [], rows_theirs or [])
        elif not agree(mine, theirs):
            found.append(_Difference(path, path, None, None, mine, theirs))
    return found


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _row_differences(key: str, mine: list[Mapping[str, Any]], theirs: list[Mapping[str, Any]]) -> list[_Difference]:
    if len(mine) != len(theirs):
        return [_Difference(key, key, None, None, len(mine), len(theirs), rows=True)]
    found = []
    for number, (one, other) in enumerate(zip(mine, theirs, strict=True), start=1):
        for column in [*one, *(column for column in other if column not in one)]:
            if column != "seq" and not agree(one.get(column), other.get(column)):
                field = row_field(key, column)
                found.append(_Difference(f"{key}.{column}", field, key, number, one.get(column), other.get(column)))
    return found


def _unlocated(document: ParsedDocument) -> set[str]:
    return {finding.field for finding in document.findings if finding.code == "unlocated_field" and finding.field}


def _not_located(difference: _Difference, unlocated: set[str]) -> bool:
    """A field one copy's reading did not find differs because of the reading, not the document."""
    parts = difference.path.split(".")
    prefixes = {".".join(parts[:end]) for end in range(1, len(parts) + 1)}
    return bool((prefixes | {difference.field}) & unlocated)


def disagreements(twins: Twins) -> list[Finding]:
    """One ``mismatch`` warning for each field the two copies really read differently, with both values."""
    record, pdf = twins.record, twins.pdf
    if not pdf.text_layer:
        return []
    form = FormId(record.form)
    province = record.fields.get("province") or pdf.fields.get("province") or "shanghai"
    unlocated = _unlocated(record) | _unlocated(pdf)
    title = form_title(form, province)
    word = format_name(record.format)
    findings = []
    for difference in _differences(record.fields, pdf.fields):
        if _not_located(difference, unlocated):
            continue
        where = _where(form, province, difference)
        if difference.rows:
            values = f"{word}版为 {difference.record} 行，PDF版为 {difference.pdf} 行"
        else:
            values = f"{_shown(word, difference.record)}，{_shown('PDF', difference.pdf)}"
        message = (
            f"《{title}》的{word}版（{clean_line(record.file, _FILE_LIMIT)}）与PDF版"
            f"（{clean_line(pdf.file, _FILE_LIMIT)}）中{where}不一致：{values}。"
            "请核对两个版本；如需更正，请将更正后的两个版本一并重新发送。"
        )
        findings.append(
            Finding(
                code="mismatch",
                severity="warning",
                message=message,
                field=difference.field,
                row=difference.row,
                file=pdf.file,
            )
        )
    return findings


def _where(form: FormId, province: str, difference: _Difference) -> str:
    name = f"“{label(form, difference.path, province)}”"
    if difference.list_key is None:
        return name
    if difference.list_key == "rows":
        return f"第 {difference.row} 行的{name}"
    return f"“{label(form, difference.list_key, province)}”第 {difference.row} 行的{name}"


def _shown(copy: str, value: Any) -> str:
    if is_blank(value):
        return f"{copy}版未填写"
    return f"{copy}版为“{clean_line(_text(value), _VALUE_LIMIT)}”"
