"""Blank or not found: which required fields of a document zhengji could not locate (contract, "Blank or not found").

A required field that came back blank is only blank when its label (or the table's header) is in the document;
otherwise zhengji failed to find it, and the applicant must not be told to fill in what may well be filled. This
is asked only of the required fields that came back blank, so a complete document costs nothing here. The labels
come from the form data and are looked for the way the extractors look for them (:class:`classify.LineLabels`:
as printed, then reworded); a table's columns are looked for in its recognised header, so that a column whose
header zhengji did not recognise is ``rows.COLUMN`` (``tasks.weight``) here, not a blank cell in every row.

A label found is not yet a blank confirmed: the extractor may have missed a value typed beside a label it did not
know. So a blank is only blank when the place of the value is empty (:meth:`classify.LineLabels.value_places`:
the rest of the label's line, the cell beside or below it, a seal picture on the next line), and a table is only
empty when no row under its header holds text; otherwise the field is not located, for staff (precision before
recall toward applicants: whatever the extractor misses is never demanded). :func:`confirm_blanks` asks the same
of the extractors that locate their labels themselves.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from rapidfuzz import fuzz

from zhengji.notices.forms import ColumnSpec, FieldSpec, FormSpec, form_spec
from zhengji.parsers.checks.view import FieldView, is_blank
from zhengji.parsers.forms.classify import SAMPLE_MARKS, LineLabels, Rows, Unit, read_rows, units
from zhengji.parsers.forms.lexicon import Header, label_key, match_header, without_stamp
from zhengji.parsers.model import PICTURE, Layout, Table

# A date line left as printed ("年 月 日") is where a date goes even though it has no label.
_DATE_LINE = re.compile(r"年\s*\S{0,4}\s*月\s*\S{0,4}\s*日")
# A header names at least this many of a table's columns.
_HEADER_KEYS = 2


def unlocated_paths(spec: FormSpec, layout: Layout, fields: Mapping[str, Any]) -> list[str]:
    """The required fields, tables and table columns that are blank and whose label this document does not show.

    A signature line (``kind = "signature"``) counts as required here: a stamp line zhengji did not find is not
    an unsigned form.
    """
    view = FieldView(spec.id, fields)
    province = fields.get("province") if isinstance(fields.get("province"), str) else None
    wanted = [field for field in spec.fields if _wanted(field, fields) and view.blank(field.key)]
    tables = [field for field in spec.fields if field.kind == "table" and not view.blank(field.key)]
    if not wanted and not tables:
        return []
    found = _outside_rows(spec, layout)
    lines = LineLabels({field.key: field.wordings for field in spec.fields if field.kind != "table"})
    out: list[str] = []
    for field in wanted:
        if field.kind == "table":
            if not _empty_table(spec, field, layout, lines):
                out.append(field.key)
            continue
        places = lines.value_places(found, field.key)
        if any(_filled(place) for place in places):
            out.append(field.key)
        elif places:
            continue
        elif field.kind != "date" or not _blank_date_line(found):
            out.append(field.key)
    for field in tables:
        out += _unlocated_columns(spec, field, layout, view.rows(field.key), province)
    return out


def _outside_rows(spec: FormSpec, layout: Layout) -> list[Unit]:
    """The texts outside the row table's header and rows, where the extractors look for line labels: a header
    cell ("联系人及电话") is a column's label, not the line's."""
    if not spec.rows:
        return units(layout)
    aliases = {column.key: column.wordings for column in spec.rows if not column.derived}
    table = read_rows(layout, aliases, _HEADER_KEYS, spec.row_stops)
    return [unit for unit in units(layout) if not table.uses(unit)]


def confirm_blanks(spec: FormSpec, layout: Layout, fields: Mapping[str, Any], unlocated: Sequence[str]) -> list[str]:
    """``unlocated`` (an extractor's own list), with every blank line field whose value place, where the form
    data's labels find it, is not empty: an extractor that locates its labels itself may still have missed a value
    typed beside a label in words it did not know ("建议人签章：上海…" under a title read as the signature line).
    Tables stay the extractor's: it knows where its own headers stand."""
    view = FieldView(spec.id, fields)
    wanted = [
        field
        for field in spec.fields
        if field.kind not in _NOT_LINES and field.key not in unlocated and _wanted(field, fields)
    ]
    wanted = [field for field in wanted if view.blank(field.key)]
    if not wanted:
        return list(unlocated)
    found = _outside_rows(spec, layout)
    lines = _form_lines(spec.id)
    filled = [field.key for field in wanted if any(_filled(place) for place in lines.value_places(found, field.key))]
    return [*unlocated, *filled]


# Fields with no line label of their own: tables (their header) and tick boxes (their options).
_NOT_LINES = frozenset({"table", "ticks"})


@cache
def _form_lines(form: str) -> LineLabels:
    """The line labels of every line field of ``form``, with the signature fields' stamp labels."""
    spec = form_spec(form)
    assert spec is not None
    groups = {field.key: spec.wordings_of(field.key) for field in spec.fields if field.kind not in _NOT_LINES}
    return LineLabels(groups, signature=[field.key for field in spec.fields if field.kind == "signature"])


# What a blank form prints in a value place: blanks to write on, a request for a stamp, a date left as "年 月 日".
_PRINTED_BLANKS = re.compile(r"[_＿\-－—…\s]+")


def _filled(place: str) -> bool:
    """Whether a value place holds anything an applicant put there: a seal picture, or text other than what a
    blank form prints there."""
    if PICTURE in place:
        return True
    text = _PRINTED_BLANKS.sub("", without_stamp(place))
    return bool(_DATE_TEMPLATE.sub("", text))


# A date line left as printed: no digit between 年, 月 and 日.
_DATE_TEMPLATE = re.compile(r"年[^0-9〇零一二三四五六七八九十]{0,4}月[^0-9〇零一二三四五六七八九十]{0,4}日")


def _blank_date_line(found: Sequence[Unit]) -> bool:
    """A date line left as printed ("年 月 日") and none filled: where a date goes even though it has no label. A
    date typed on such a line that the extractor did not read is no blank."""
    lines = [match.group(0) for unit in found for match in _DATE_LINE.finditer(unit.text)]
    return bool(lines) and not any(re.search(r"[0-9〇零一二三四五六七八九十]", line) for line in lines)


def _empty_table(spec: FormSpec, field: FieldSpec, layout: Layout, lines: LineLabels) -> bool:
    """Whether the table of ``field`` has its header in the document and nothing typed in the rows under it.

    The rows are those the extractors would read (:func:`classify.read_rows`: on into the next tables of the
    same width, up to a stop row); a row that starts with a line label of the form ("联系人", "推荐单位（盖章）")
    ends the table too, since those labels are printed in a blank form. The row number column and the template's
    sample row hold printed text, not the applicant's.
    """
    columns = _columns(spec, field)
    aliases = {column.key: column.wordings for column in columns if not column.derived}
    rows = read_rows(layout, aliases, _HEADER_KEYS, spec.row_stops)
    if not rows.found:
        return False
    seq = rows.header.get("seq")
    for table, row in _rows_under(layout, rows):
        cells = table.row(row)
        typed = [cell for cell in cells if cell.text.strip() and not (cell.col == seq and cell.colspan == 1)]
        if not typed or label_key(typed[0].text) in SAMPLE_MARKS:
            continue
        if match_header(cells, aliases).is_header(_HEADER_KEYS):
            continue  # the header, or the header repeated on the next page
        first = Unit(typed[0].text, table, typed[0])
        if any(lines.label_rest(first, name) is not None for name in lines.groups):
            return True
        if any(_filled(cell.text) for cell in typed):
            return False
    return True


def _rows_under(layout: Layout, rows: Rows) -> list[tuple[Table, int]]:
    """The (table, row) positions :func:`read_rows` went through, in document order."""
    return [(table, row) for table in layout.tables for row in range(table.n_rows) if (id(table), row) in rows.used]


def _wanted(field: FieldSpec, fields: Mapping[str, Any]) -> bool:
    return field.required or (field.kind == "signature" and field.key in fields)


def _columns(spec: FormSpec, field: FieldSpec) -> tuple[ColumnSpec, ...]:
    return spec.rows if field.key == "rows" else field.columns


def _header(layout: Layout, columns: Sequence[ColumnSpec]) -> Header | None:
    """The first row of a table that names at least two of the columns: the table's header."""
    aliases = {column.key: column.wordings for column in columns if not column.derived}
    for table in layout.tables:
        for row in table.rows():
            header = match_header(row, aliases)
            if header.is_header(_HEADER_KEYS):
                return header
    return None


def _unlocated_columns(
    spec: FormSpec, field: FieldSpec, layout: Layout, rows: Sequence[Mapping[str, Any]], province: str | None
) -> list[str]:
    """The required columns blank in some row whose header (or, for a column read out of another, the other
    column's header) the table's recognised header does not have."""
    columns = _columns(spec, field)
    required = [column for column in columns if column.required_in(province)]
    blank = [column for column in required if any(is_blank(row.get(column.key)) for row in rows if not is_blank(row))]
    if not blank:
        return []
    header = _header(layout, columns)
    named = header.columns if header is not None else {}
    out: list[str] = []
    for column in blank:
        source = _source(column, columns) if column.derived else column
        if source is not None and source.key not in named:
            out.append(f"{field.key}.{column.key}")
    return out


def _source(derived: ColumnSpec, columns: Sequence[ColumnSpec]) -> ColumnSpec | None:
    """The column a derived column is read out of: the one whose wordings hold its label, or are nearest to it
    ("统一社会信用代码" in "考核机构（统一社会信用代码）", "所属领域代码" beside "所属领域及代码")."""
    wanted = label_key(derived.label)
    best: tuple[float, ColumnSpec | None] = (0.0, None)
    for column in columns:
        if column.derived:
            continue
        for wording in column.wordings:
            key = label_key(wording)
            score = 100.0 if wanted in key else fuzz.ratio(wanted, key)
            if score > best[0]:
                best = (score, column)
    return best[1]
