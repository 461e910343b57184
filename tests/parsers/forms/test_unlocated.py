"""Blank or not found (contract): a label zhengji cannot find is for a clerk, a label found with no value is blank.

The documents are real Word files typed the way applicants retype the 新职业信息建议书: footnote marks typed as
digits formatted superscript, reworded labels, numbered headings with marks, sections one after another.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime

from docx import Document
from docx.table import _Cell

from zhengji.clock import SHANGHAI
from zhengji.parsers.document import interpret
from zhengji.parsers.model import ParsedDocument
from zhengji.parsers.readers.docx import read_docx

AT = datetime(2025, 6, 21, 10, 0, tzinfo=SHANGHAI)
# (label, footnote mark typed as a superscript digit or "", value); a None value is a heading row.
Row = tuple[str, str, str | None]
ROWS: list[Row] = [
    ("一、新职业类别", "1", None),
    ("(√) 全新职业", "", None),
    ("二、新职业描述信息", "", None),
    ("新职业名称", "2", "无人机群飞表演编队师"),
    ("新职业定义", "3", "运用无人机集群控制系统，从事编队表演设计、编程与现场飞行控制的人员。"),
    ("与相关职业的关系", "4", "与无人机驾驶员（4-99-00-00）相近，区别在于以集群编队表演为主。"),
    ("所属行业", "5", "文化艺术业"),
    ("主要工作任务", "", "内容|特有工具/设备|专门技术"),
    ("", "", "设计编队图案与飞行路径|编队设计软件|三维路径规划"),
    ("三、从业要求", "", None),
    ("职业操守与职业道德", "", "遵守航空管理规定，保障公众安全。"),
    ("基本文化程度", "", "高中毕业（或同等学力）"),
    ("特殊能力", "", "空间想象能力强。"),
    ("身体素质与体能", "", "身体健康。"),
    ("人际协作", "", "能与演出团队协作。"),
    ("职业安全", "", "熟悉空域安全规定。"),
    ("四、从业人员情况", "", None),
    ("全国从业人数", "", "约2万人"),
    ("地区分布情况", "", "长三角、珠三角为主"),
    ("最近一年劳动力市场供需情况", "", "供不应求"),
    ("薪酬情况", "", "月薪8000元至15000元"),
    ("数据来源", "", "行业协会调查"),
    ("吸纳从业人员较多的用人单位", "6", "单位名称|单位地址|联系电话"),
    ("", "", "上海天空秀科技有限公司|上海市闵行区华宁路1号|021-54321098"),
    ("五、职业分析", "", None),
    ("新职业产生背景（400 字以内）", "", "低空经济快速发展，无人机表演需求增长。"),
    ("新职业在经济社会发展中的作用（300 字以内）", "", "带动文旅消费，替代烟花燃放。"),
    ("与新职业直接相关的技术和从业方式的发展变化情况（400 字以内）", "", "集群控制技术日趋成熟。"),
    ("新职业的发展前景（200 字以内）", "", "前景广阔。"),
    ("六、职业教育与培训情况", "", None),
    ("院校名称", "", "上海电子信息学院"),
    ("专业名称", "", "无人机应用技术"),
    ("主干课程", "", "飞行控制原理"),
    ("培训机构情况", "", "名称|地址|联系电话"),
    ("", "", "上海无人机培训中心|上海市浦东新区张江路2号|021-61234567"),
    ("七、有关法律法规情况", "7", "《无人驾驶航空器飞行管理暂行条例》第十九条。"),
    ("八、国外相关情况", "", None),
    ("国家或地区", "", "美国"),
    ("同类职业名称", "", "Drone Show Pilot"),
    ("主要工作内容", "", "设计和执行无人机灯光秀。"),
    ("对从业人员要求", "", "持有商用无人机执照。"),
    ("相关职业标准要求", "", "FAA Part 107"),
    ("专业教育与职业培训情况", "", "社区学院开设相关课程。"),
    ("九、建议人情况", "", None),
    ("通讯地址", "", "上海市闵行区华宁路1号"),
    ("联系人", "", "张明"),
    ("联系电话", "", "13812345678"),
    ("电子信箱", "", "zhangming@example.com"),
    ("十、其他需要说明的情况", "", "无"),
]


def _label(cell: _Cell, text: str, mark: str) -> None:
    paragraph = cell.paragraphs[0]
    paragraph.add_run(text)
    if mark:
        paragraph.add_run(mark).font.superscript = True


def build(rows: Sequence[Row], swapped: bool = False) -> bytes:
    """A 建议书 as applicants retype it: one table, label cells on the left (on the right when ``swapped``, as a
    table mirrored in Word gives it), marks as superscript digits."""
    document = Document()
    document.add_paragraph("新职业信息建议书")
    document.add_paragraph("建议人（盖章或签字）：张明")
    document.add_paragraph("填写时间：2025年6月21日")
    table = document.add_table(rows=0, cols=4)
    for label, mark, value in rows:
        cells = table.add_row().cells
        if value is None:
            merged = cells[0].merge(cells[3])
            _label(merged, label, mark)
            continue
        parts = value.split("|")
        if len(parts) == 1 and swapped:
            cells[0].merge(cells[2]).text = value
            _label(cells[3], label, mark)
        elif len(parts) == 1:
            _label(cells[0], label, mark)
            cells[1].merge(cells[3]).text = value
        else:
            _label(cells[0], label, mark)
            for index, part in enumerate(parts):
                cells[1 + index].text = part
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def parse(rows: Sequence[Row], swapped: bool = False) -> ParsedDocument:
    return interpret("建议书.docx", read_docx(build(rows, swapped)), AT)


def _replace(label: str, new: Row) -> list[Row]:
    return [new if row[0] == label else row for row in ROWS]


def test_a_correct_form_with_superscript_marks_gets_no_error() -> None:
    document = parse(ROWS)
    assert document.form == "new_occupation_proposal"
    assert document.fields["name"] == "无人机群飞表演编队师"
    assert document.fields["industry"] == "文化艺术业"
    assert document.fields["laws"] == "《无人驾驶航空器飞行管理暂行条例》第十九条。"
    errors = [finding for finding in document.findings if finding.severity == "error"]
    assert errors == []
    assert not [finding for finding in document.findings if finding.code == "unlocated_field"]


def test_the_next_section_heading_ends_a_table() -> None:
    document = parse(ROWS)
    assert document.fields["training_orgs"] == [
        {"name": "上海无人机培训中心", "address": "上海市浦东新区张江路2号", "phone": "021-61234567"}
    ]
    assert not [finding for finding in document.findings if finding.code == "bad_phone"]


def test_reworded_labels_are_read() -> None:
    rows = _replace("新职业名称", ("建议新职业名称（必填）", "", "无人机群飞表演编队师"))
    rows = [("新职业的定义", "", row[2]) if row[0] == "新职业定义" else row for row in rows]
    document = parse(rows)
    assert document.fields["name"] == "无人机群飞表演编队师"
    assert document.fields["definition"].startswith("运用无人机集群控制系统")
    assert not [finding for finding in document.findings if finding.severity == "error"]


def test_a_label_found_with_a_blank_value_is_missing() -> None:
    document = parse(_replace("新职业定义", ("新职业定义", "3", "")))
    codes = {(finding.code, finding.field, finding.severity) for finding in document.findings}
    assert ("missing_field", "definition", "error") in codes


def test_a_label_not_found_is_for_staff_not_the_applicant() -> None:
    # A wording that shares no word with the label of its place: neither its words nor its place say what it is.
    document = parse(_replace("新职业定义", ("内涵与外延", "", "运用无人机集群控制系统的人员。")))
    by_field = {finding.field: finding for finding in document.findings}
    assert "definition" in by_field
    finding = by_field["definition"]
    assert finding.code == "unlocated_field"
    assert finding.severity == "warning"
    assert not [f for f in document.findings if f.code == "missing_field" and f.field == "definition"]


def test_an_unknown_wording_in_a_known_field_s_place_is_read_as_that_field() -> None:
    # No wording of the form data reads "本职业的含义与边界说明"; between 新职业名称 and 与相关职业的关系, where the
    # form puts 新职业定义, a clerk reads it as the definition.
    document = parse(_replace("新职业定义", ("本职业的含义与边界说明", "", "运用无人机集群控制系统的人员。")))
    assert document.fields["definition"] == "运用无人机集群控制系统的人员。"
    assert not [finding for finding in document.findings if finding.field == "definition"]
    assert document.fields["name"] == "无人机群飞表演编队师"
    assert document.fields["related_occupations"] == "与无人机驾驶员（4-99-00-00）相近，区别在于以集群编队表演为主。"


def test_a_loose_wording_in_an_impossible_place_is_doubted() -> None:
    # "对应职业名称" reads loosely as 新职业名称, but stands among the foreign-countries rows, where the form has
    # 同类职业名称; the name's own row is typed in words that name nothing ("拟报岗位"). The foreign name is not
    # taken as the occupation's name: the name is for staff to find, and the row is read as its place says.
    rows = _replace("新职业名称", ("拟报岗位", "2", "无人机群飞表演编队师"))
    rows = [("对应职业名称", "", "Drone Show Pilot") if row[0] == "同类职业名称" else row for row in rows]
    document = parse(rows)
    assert document.fields["name"] != "Drone Show Pilot"
    assert document.fields["foreign"]["similar_names"] == ["Drone Show Pilot"]
    codes = {finding.code for finding in document.findings if finding.field == "name"}
    assert codes <= {"unlocated_field"}


def test_a_missing_section_is_unlocated_not_blank() -> None:
    start = next(index for index, row in enumerate(ROWS) if row[0] == "五、职业分析")
    end = next(index for index, row in enumerate(ROWS) if row[0] == "六、职业教育与培训情况")
    document = parse([*ROWS[:start], *ROWS[end:]])
    fields = {finding.field: finding.code for finding in document.findings if finding.field}
    for path in ("analysis.background", "analysis.role", "analysis.tech_change", "analysis.prospects"):
        assert fields[path] == "unlocated_field"
    assert not [finding for finding in document.findings if finding.severity == "error"]


def test_a_table_typed_value_first_is_read() -> None:
    document = parse(ROWS, swapped=True)
    assert document.fields["name"] == "无人机群飞表演编队师"
    assert document.fields["requirements"]["teamwork"] == "能与演出团队协作。"
    assert document.fields["contact"]["phone"] == "13812345678"
    assert not [finding for finding in document.findings if finding.severity == "error"]


def test_a_school_block_in_another_order_is_one_school() -> None:
    start = next(index for index, row in enumerate(ROWS) if row[0] == "院校名称")
    block = list(reversed(ROWS[start : start + 3]))
    document = parse([*ROWS[:start], *block, *ROWS[start + 3 :]])
    assert document.fields["schools"] == [
        {"name": "上海电子信息学院", "major": "无人机应用技术", "courses": "飞行控制原理"}
    ]


def test_a_column_header_alone_in_its_row_is_read_as_a_label() -> None:
    rows = _replace("主要工作内容", ("工作内容", "", "设计和执行无人机灯光秀。"))
    document = parse(rows)
    assert document.fields["foreign"]["main_tasks"] == "设计和执行无人机灯光秀。"
    assert document.fields["tasks"][0]["content"] == "设计编队图案与飞行路径"


def test_a_school_section_written_without_its_rows_is_not_called_blank() -> None:
    start = next(index for index, row in enumerate(ROWS) if row[0] == "院校名称")
    rows = [*ROWS[:start], ("学校教育情况", "", "见附件"), *ROWS[start + 3 :]]
    document = parse(rows)
    assert not [f for f in document.findings if f.code == "missing_field" and f.field == "schools"]
