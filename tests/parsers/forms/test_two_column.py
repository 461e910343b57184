"""The 建议书 retyped as a two-column table (label | value), its rows in another order than the form's, with the
task, employer and training tables typed as tables of their own under their labels (issue 17). Each document is
a real Word file built here and read end to end; a table zhengji cannot find is for staff (``unlocated_field``),
never a demand to the applicant to fill what they filled."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime

from docx import Document

from zhengji.clock import SHANGHAI
from zhengji.parsers.document import interpret
from zhengji.parsers.model import ParsedDocument
from zhengji.parsers.readers.docx import read_docx

AT = datetime(2025, 6, 21, 10, 0, tzinfo=SHANGHAI)

TASKS = [
    ("设计编队图案与飞行路径", "编队设计软件", "三维路径规划"),
    ("编写集群飞行控制程序", "集群控制系统", "多机协同控制"),
    ("检查无人机与电池状态", "电池检测仪", "设备点检"),
    ("现场监控编队飞行并处置异常", "地面站", "应急处置"),
    ("整理飞行数据并复盘演出", "数据分析软件", "飞行日志分析"),
]
EMPLOYERS = [
    ("上海天空秀科技有限公司", "上海市闵行区华宁路1号", "021-54321098"),
    ("上海星光无人机文化传播有限公司", "上海市浦东新区张江路2号", "021-61234567"),
]
TRAINING = [("上海无人机培训中心", "上海市浦东新区张江路3号", "021-61230000")]

# A part of the document: ("=", heading) a heading row merged across both columns, (label, value) a row, or
# ("table", header, rows) a table of its own.
Part = tuple[str, ...] | tuple[str, tuple[str, ...], Sequence[tuple[str, ...]]]


def _parts(task_header: tuple[str, ...] = ("序号", "工作内容", "特有工具/设备", "专门技术")) -> list[Part]:
    """The form's rows, section 四 typed before section 三 and 所属行业 before 与相关职业的关系, as people do."""
    return [
        ("=", "一、新职业类别"),
        ("=", "(√) 全新职业"),
        ("=", "二、新职业描述信息"),
        ("新职业名称", "无人机群飞表演编队师"),
        ("新职业定义", "运用无人机集群控制系统，从事编队表演设计、编程与现场飞行控制的人员。"),
        ("所属行业", "文化艺术业"),
        ("与相关职业的关系", "与无人机驾驶员（4-99-00-00）相近，区别在于以集群编队表演为主。"),
        ("主要工作任务", ""),
        ("table", task_header, [(str(number), *task) for number, task in enumerate(TASKS, 1)]),
        ("=", "四、从业人员情况"),
        ("全国从业人数", "约2万人"),
        ("地区分布情况", "长三角、珠三角为主"),
        ("最近一年劳动力市场供需情况", "供不应求"),
        ("薪酬情况", "月薪8000元至15000元"),
        ("数据来源", "行业协会调查"),
        ("吸纳从业人员较多的用人单位", ""),
        ("table", ("单位名称", "单位地址", "联系电话"), EMPLOYERS),
        ("=", "三、从业要求"),
        ("职业操守与职业道德", "遵守航空管理规定，保障公众安全。"),
        ("基本文化程度", "高中毕业（或同等学力）"),
        ("特殊能力", "空间想象能力强。"),
        ("身体素质与体能", "身体健康。"),
        ("人际协作", "能与演出团队协作。"),
        ("职业安全", "熟悉空域安全规定。"),
        ("=", "五、职业分析"),
        ("新职业产生背景", "低空经济快速发展，无人机表演需求增长。"),
        ("新职业在经济社会发展中的作用", "带动文旅消费，替代烟花燃放。"),
        ("与新职业直接相关的技术和从业方式的发展变化情况", "集群控制技术日趋成熟。"),
        ("新职业的发展前景", "前景广阔。"),
        ("=", "六、职业教育与培训情况"),
        ("院校名称", "上海电子信息学院"),
        ("专业名称", "无人机应用技术"),
        ("主干课程", "飞行控制原理"),
        ("培训机构情况", ""),
        ("table", ("名称", "地址", "联系电话"), TRAINING),
        ("七、有关法律法规情况", "《无人驾驶航空器飞行管理暂行条例》第十九条。"),
        ("=", "八、国外相关情况"),
        ("国家或地区", "美国"),
        ("同类职业名称", "Drone Show Pilot"),
        ("主要工作内容", "设计和执行无人机灯光秀。"),
        ("对从业人员要求", "持有商用无人机执照。"),
        ("相关职业标准要求", "FAA Part 107"),
        ("专业教育与职业培训情况", "社区学院开设相关课程。"),
        ("=", "九、建议人情况"),
        ("通讯地址", "上海市闵行区华宁路1号"),
        ("联系人", "张明"),
        ("联系电话", "13812345678"),
        ("电子信箱", "zhangming@example.com"),
        ("十、其他需要说明的情况", "无"),
    ]


LINES = ("新职业信息建议书", "建议人（盖章或签字）：上海天空秀科技有限公司", "填写时间：2025年6月21日")


def build(parts: Sequence[Part], lines: Sequence[str] = LINES) -> bytes:
    """The two-column 建议书: each run of rows one two-column table, each table section a table of its own;
    ``lines`` (the title, the signature and date lines) as paragraphs before them."""
    document = Document()
    for line in lines:
        document.add_paragraph(line)
    pairs = None
    for part in parts:
        if part[0] == "table":
            _, header, rows = part
            assert isinstance(header, tuple)
            grid = document.add_table(rows=1 + len(rows), cols=len(header))
            grid.style = "Table Grid"
            for row_index, row in enumerate([header, *rows]):
                for col, text in enumerate(row):
                    grid.cell(row_index, col).text = str(text)
            pairs = None
            continue
        if pairs is None:
            pairs = document.add_table(rows=0, cols=2)
            pairs.style = "Table Grid"
        cells = pairs.add_row().cells
        if part[0] == "=":
            cells[0].merge(cells[1]).text = str(part[1])
        else:
            cells[0].text, cells[1].text = str(part[0]), str(part[1])
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def parse(parts: Sequence[Part]) -> ParsedDocument:
    return interpret("建议书.docx", read_docx(build(parts)), AT)


def _codes(document: ParsedDocument, field: str) -> list[str]:
    return [finding.code for finding in document.findings if finding.field == field]


def test_the_two_column_proposal_with_rows_reordered_reads_its_tables() -> None:
    document = parse(_parts())
    assert document.form == "new_occupation_proposal"
    tasks = document.fields["tasks"]
    assert [(task["content"], task["tools"], task["techniques"]) for task in tasks] == TASKS
    assert [(row["name"], row["address"], row["phone"]) for row in document.fields["employers"]] == EMPLOYERS
    assert [(row["name"], row["address"], row["phone"]) for row in document.fields["training_orgs"]] == TRAINING
    assert document.fields["industry"] == "文化艺术业"
    assert document.fields["requirements"]["ethics"] == "遵守航空管理规定，保障公众安全。"
    assert document.fields["contact"]["phone"] == "13812345678"
    assert [finding.code for finding in document.findings if finding.severity == "error"] == []
    assert "missing_field" not in [finding.code for finding in document.findings]


def test_a_task_table_that_cannot_be_found_is_for_staff_not_the_applicant() -> None:
    # The table under 主要工作任务 headed in words that name no column: zhengji cannot tell what it holds.
    document = parse(_parts(task_header=("甲", "乙", "丙", "丁")))
    assert "unlocated_field" in _codes(document, "tasks")
    assert "missing_field" not in _codes(document, "tasks")
    assert not any(finding.code == "missing_field" for finding in document.findings)
