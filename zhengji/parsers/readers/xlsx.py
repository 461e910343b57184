"""Read an Excel workbook into a Layout: each sheet's form as one table, its title and sign-off lines as paragraphs.

Applicants retype the table forms (推荐表, 汇总表) in Excel. There the title ("社会化职业技能等级认定职业（工种）
推荐表") and the lines under the table ("推荐单位（加盖公章）：…") are rows of the sheet, usually one cell merged
across the table's width; the form modules expect them as paragraphs, as a Word file gives them. Such rows
above and below the table become paragraphs; rows inside it stay table rows (a section heading merged across
a retyped 建议书 is a table row in the Word original too).

Values are shown as the applicant wrote them: a date as ``YYYY-MM-DD``, a whole number without ``.0``.
The workbook is opened with ``read_only=False`` (read-only mode does not report merged ranges) and
``data_only=True`` (a formula's cached value, not the formula).
"""

from __future__ import annotations

import datetime as dt
import io
import warnings
from typing import Any

import openpyxl

from zhengji.parsers.model import Block, Cell, Layout, Table, Unreadable

__all__ = ["cell_text", "read_xlsx"]

_BROKEN = "该 Excel 文件已损坏或无法打开，请重新保存为 .xlsx 或导出 PDF 后发送。"
_LABEL_MARKS = ("：", ":")


def read_xlsx(data: bytes) -> Layout:
    """Every non-empty worksheet, in sheet order, as its leading paragraphs, one table, trailing paragraphs."""
    try:
        with warnings.catch_warnings():
            # openpyxl warns about features it drops (data validation, conditional formats); they do not matter.
            warnings.simplefilter("ignore")
            workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=False, data_only=True)
    # A damaged package fails anywhere inside zipfile, lxml or openpyxl; to the applicant it is one problem.
    except Exception as error:
        raise Unreadable(_BROKEN) from error
    blocks: list[Block] = []
    try:
        for sheet in workbook.worksheets:
            blocks.extend(_sheet_blocks(sheet))
    finally:
        workbook.close()
    return Layout(format="xlsx", blocks=blocks)


def cell_text(value: Any, number_format: str = "General") -> str:
    """A cell value as the applicant sees it: dates as ``YYYY-MM-DD``, 1000 not 1000.0, 25% for 0.25."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int | float):
        number = float(value)
        if "%" in number_format:
            return f"{_plain_number(number * 100)}%"
        return _plain_number(number)
    return str(value).strip()


def _plain_number(number: float) -> str:
    if number.is_integer() and abs(number) < 1e16:
        return str(int(number))
    return repr(round(number, 10))


def _sheet_blocks(sheet: Any) -> list[Block]:
    # sheet._cells holds only the cells that exist; iter_rows would create every cell of the used range,
    # which a sheet formatted down to row 1,048,576 makes very slow.
    values: dict[tuple[int, int], str] = {}
    for (row, col), cell in sheet._cells.items():
        text = cell_text(cell.value, cell.number_format or "General")
        if text:
            values[(row, col)] = text
    if not values:
        return []
    merges = [(rng.min_row, rng.min_col, rng.max_row, rng.max_col) for rng in sheet.merged_cells.ranges]
    # The used range is what holds text, widened by the merged ranges that touch it.
    rows = [row for row, _ in values]
    cols = [col for _, col in values]
    top, bottom, left, right = min(rows), max(rows), min(cols), max(cols)
    for min_row, min_col, max_row, max_col in merges:
        if (min_row, min_col) in values:
            right = max(right, max_col)
            bottom = max(bottom, max_row)
            left = min(left, min_col)
    covered: dict[tuple[int, int], tuple[int, int, int, int]] = {}
    for merge in merges:
        min_row, min_col, max_row, max_col = merge
        for row in range(min_row, max_row + 1):
            for col in range(min_col, max_col + 1):
                covered[(row, col)] = merge

    def paragraph_of(row: int) -> str | None:
        """The row's text when the row is a title or sign-off line rather than a table row."""
        present = [col for col in range(left, right + 1) if (row, col) in values]
        if len(present) != 1:
            return None
        col = present[0]
        text = values[(row, col)]
        merge = covered.get((row, col))
        if merge is not None and merge[0] == merge[2] == row and merge[1] <= left and merge[3] >= right:
            return text
        # An unmerged label line ("推荐单位（盖章）：…") typed in one cell and overflowing to the right.
        if merge is None and any(mark in text for mark in _LABEL_MARKS):
            return text
        return None

    def blank(row: int) -> bool:
        return not any((row, col) in values for col in range(left, right + 1))

    # Title lines above the table and sign-off lines below it, skipping the blank rows around them.
    leading: list[str] = []
    trailing: list[str] = []
    first, last = top, bottom
    while first <= last:
        line = None if blank(first) else paragraph_of(first)
        if line is None and not blank(first):
            break
        if line is not None:
            leading.append(line)
        first += 1
    while last >= first:
        line = None if blank(last) else paragraph_of(last)
        if line is None and not blank(last):
            break
        if line is not None:
            trailing.insert(0, line)
        last -= 1
    blocks: list[Block] = [*leading]
    if first <= last:
        blocks.append(_table(values, merges, first, last, left, right))
    blocks.extend(trailing)
    return blocks


def _table(
    values: dict[tuple[int, int], str],
    merges: list[tuple[int, int, int, int]],
    top: int,
    bottom: int,
    left: int,
    right: int,
) -> Table:
    """The rows ``top``..``bottom`` as a Table, merged ranges clipped to those rows as spans."""
    origin_of: dict[tuple[int, int], tuple[int, int, int, int]] = {}
    skipped: set[tuple[int, int]] = set()
    for min_row, min_col, max_row, max_col in merges:
        min_row, max_row = max(min_row, top), min(max_row, bottom)
        min_col, max_col = max(min_col, left), min(max_col, right)
        if min_row > max_row or min_col > max_col:
            continue
        origin_of[(min_row, min_col)] = (min_row, min_col, max_row, max_col)
        for row in range(min_row, max_row + 1):
            for col in range(min_col, max_col + 1):
                if (row, col) != (min_row, min_col):
                    skipped.add((row, col))
    cells: list[Cell] = []
    for row in range(top, bottom + 1):
        for col in range(left, right + 1):
            if (row, col) in skipped:
                continue
            _, _, max_row, max_col = origin_of.get((row, col), (row, col, row, col))
            cells.append(
                Cell(
                    row=row - top,
                    col=col - left,
                    rowspan=max_row - row + 1,
                    colspan=max_col - col + 1,
                    text=values.get((row, col), ""),
                )
            )
    return Table(cells=cells, n_rows=bottom - top + 1, n_cols=right - left + 1)
