"""read_xlsx on a 推荐表 retyped in Excel: merged title and header cells, dates, numbers, sign-off lines."""

from __future__ import annotations

import io

import openpyxl
import pytest

from tests.parsers.readers import office_files
from zhengji.parsers.model import Table, Unreadable
from zhengji.parsers.readers.xlsx import read_xlsx


def _layout_blocks() -> list[object]:
    return list(read_xlsx(office_files.recommendation_xlsx()).blocks)


def test_read_xlsx_title_and_sign_off_rows_become_paragraphs_in_sheet_order() -> None:
    blocks = _layout_blocks()
    assert blocks[0] == "社会化职业技能等级认定职业（工种）推荐表"
    assert isinstance(blocks[1], Table)
    assert blocks[2] == "推荐单位（加盖公章）：上海市某某行业协会"
    assert blocks[3] == "联系人：李四    联系电话：13800138000"
    # The second sheet follows; the empty third sheet gives nothing.
    assert isinstance(blocks[4], Table)
    assert [cell.text for cell in blocks[4].cells] == ["填表说明", "1. 职业编码按大典填写。"]
    assert len(blocks) == 5


def test_read_xlsx_merged_ranges_become_spans() -> None:
    table = _layout_blocks()[1]
    assert isinstance(table, Table)
    assert (table.n_rows, table.n_cols) == (5, 6)
    header = table.at(0, 2)
    assert header is not None and (header.text, header.col, header.colspan) == ("职业（工种）", 1, 2)
    seq = table.at(1, 0)
    assert seq is not None and (seq.text, seq.row, seq.rowspan) == ("序号", 0, 2)
    assert [cell.text for cell in table.row(1)] == [
        "序号",
        "职业编码",
        "工种名称",
        "预计年评价人数",
        "填报日期",
        "占比",
    ]


def test_read_xlsx_values_read_as_written() -> None:
    table = _layout_blocks()[1]
    assert isinstance(table, Table)
    assert [cell.text for cell in table.row(2)] == ["1", "4-04-05-05", "人工智能训练师", "1000", "2025-03-21", "25%"]
    assert [cell.text for cell in table.row(3)] == [
        "2",
        "6-31-01-10",
        "工业机器人系统运维员",
        "1200",
        "2025-03-22",
        "50%",
    ]
    assert [cell.text for cell in table.row(4)] == ["3", "X-00-00-00", "测试职业", "12.5", "", ""]


def test_read_xlsx_reads_cached_formula_values() -> None:
    # LibreOffice recalculates and stores the cached value, as Excel does when it saves.
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["考核比重", 40])
    sheet.append(["", 60])
    sheet.append(["合计", "=SUM(B1:B2)"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    recalculated = office_files.soffice_convert({"sum.xlsx": buffer.getvalue()}, "xlsx")["sum.xlsx"]
    table = read_xlsx(recalculated).blocks[0]
    assert isinstance(table, Table)
    assert [cell.text for cell in table.row(2)] == ["合计", "100"]


@pytest.mark.parametrize("damage", ["truncated", "random"])
def test_read_xlsx_damaged_file_is_unreadable(damage: str) -> None:
    data = office_files.recommendation_xlsx()
    broken = data[: len(data) // 2] if damage == "truncated" else bytes(reversed(data))
    with pytest.raises(Unreadable) as caught:
        read_xlsx(broken)
    assert "Excel" in str(caught.value)
