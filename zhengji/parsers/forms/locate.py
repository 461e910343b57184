"""Blank or not found: which required fields of a document zhengji could not locate (contract, "Blank or not found").

A required field that came back blank is only blank when its label (or the table's header) is in the document;
otherwise zhengji failed to find it, and the applicant must not be told to fill in what may well be filled. This
is asked only of the required fields that came back blank, so a complete document costs nothing here. The labels
come from the form data and are looked for the way the extractors look for them (:class:`classify.LineLabels`:
as printed, then reworded); a table's columns are looked for in its recognised header, so that a column whose
header zhengji did not recognise is ``rows.COLUMN`` (``tasks.weight``) here, not a blank cell in every row.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from rapidfuzz import fuzz

from zhengji.notices.forms import ColumnSpec, FieldSpec, FormSpec
from zhengji.parsers.checks.view import FieldView, is_blank
from zhengji.parsers.forms.classify import LineLabels, Unit, read_rows, units
from zhengji.parsers.forms.lexicon import Header, label_key, match_header
from zhengji.parsers.model import Layout

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
            if _header(layout, _columns(spec, field)) is None:
                out.append(field.key)
            continue
        if field.kind == "date" and any(_DATE_LINE.search(unit.text) for unit in found):
            continue
        if not lines.located(found, field.key):
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
