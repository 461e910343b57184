"""Readings that went wrong on forms filled by many hands (issue 9, item 5), each on a real Word file."""

from __future__ import annotations

import io

from docx import Document

from zhengji.parsers.forms.special_ability import extract_special_content, split_domain, split_institution
from zhengji.parsers.readers.docx import read_docx


def _content_docx(title_lines: list[str], ability_name: str = "无人机表演编队") -> bytes:
    document = Document()
    document.add_paragraph("附件3")
    for line in title_lines:
        document.add_paragraph(line)
    document.add_paragraph("一、定义")
    document.add_paragraph("运用无人机集群完成编队表演的能力。")
    document.add_paragraph("二、能力标准与评价内容")
    table = document.add_table(rows=0, cols=4)
    cells = table.add_row().cells
    cells[0].text = "能力名称"
    cells[1].merge(cells[3]).text = ability_name
    cells = table.add_row().cells
    cells[0].text = "所属领域"
    cells[1].merge(cells[3]).text = "文化艺术"
    for row in (["工作任务", "操作规范", "相关知识", "考核比重"], ["编队设计", "按规范设计", "路径规划", "100%"]):
        cells = table.add_row().cells
        for cell, text in zip(cells, row, strict=True):
            cell.text = text
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_a_project_title_split_over_two_lines() -> None:
    fields = extract_special_content(read_docx(_content_docx(["无人机表演编队", "主要考核内容"])))
    assert fields["project"] == "无人机表演编队"


def test_a_project_named_only_in_the_ability_name_cell() -> None:
    fields = extract_special_content(read_docx(_content_docx(["主要考核内容"], ability_name="茶艺表演")))
    assert fields["project"] == "茶艺表演"


def test_the_title_with_the_project_still_wins() -> None:
    fields = extract_special_content(read_docx(_content_docx(["（咖啡拉花）主要考核内容"], ability_name="拉花")))
    assert fields["project"] == "咖啡拉花"


def test_an_institution_with_its_code_in_brackets_leaves_no_empty_brackets() -> None:
    assert split_institution("上海某某科技有限公司（统一社会信用代码：91310000MA1FL0XX4Q）") == (
        "上海某某科技有限公司",
        "91310000MA1FL0XX4Q",
    )
    assert split_institution("上海某某科技有限公司（91310000MA1FL0XX4Q）") == (
        "上海某某科技有限公司",
        "91310000MA1FL0XX4Q",
    )


def test_a_code_with_one_digit_groups_is_kept_as_typed() -> None:
    assert split_domain("软件和信息技术服务人员 4-4-05") == ("软件和信息技术服务人员", "4-4-05")
    assert split_domain("（4-04-05）软件和信息技术服务人员") == ("软件和信息技术服务人员", "4-04-05")
