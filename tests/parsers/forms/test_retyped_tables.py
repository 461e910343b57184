"""The table forms and letters retyped in the applicant's own words (issue 9), each a real Word file read end to end.

Every document here is correct and completely filled, but typed the way people retype the notices' forms: line
labels reworded, markers before the next label, column headers reworded, titles with a place, a year or a tail,
section headings with other numerals. A correct document is read field by field and gets no ``error`` finding;
a column or line zhengji cannot recognise is ``unlocated_field`` for staff, never a demand to the applicant.
The wordings are this file's own (the mutation corpus keeps its wordings apart).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pytest
from docx import Document

from zhengji.clock import SHANGHAI
from zhengji.notices.registry import FormId
from zhengji.parsers.document import ParseOptions, parse_document
from zhengji.parsers.forms import classify
from zhengji.parsers.model import Finding, ParsedDocument
from zhengji.parsers.readers.docx import read_docx

AT_2025 = datetime(2025, 9, 22, 10, 0, tzinfo=SHANGHAI)
AT_GD = datetime(2026, 8, 5, 10, 0, tzinfo=SHANGHAI)
AT_SPECIAL = datetime(2025, 5, 21, 10, 0, tzinfo=SHANGHAI)
# A row whose cells are merged across the whole table (the 推荐意见 rows): "=" then the text.
Row = Sequence[str]


def _docx(before: Sequence[str], table: Sequence[Row] = (), after: Sequence[str] = ()) -> bytes:
    document = Document()
    for text in before:
        document.add_paragraph(text)
    if table:
        width = max(len(row) for row in table)
        grid = document.add_table(rows=len(table), cols=width)
        grid.style = "Table Grid"
        for index, row in enumerate(table):
            if len(row) == 2 and row[0].startswith("="):
                grid.cell(index, 0).text = row[0][1:]
                grid.cell(index, 1).merge(grid.cell(index, width - 1)).text = row[1]
                continue
            for col, text in enumerate(row):
                grid.cell(index, col).text = text
    for text in after:
        document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _parse(data: bytes, at: datetime) -> ParsedDocument:
    return parse_document("表.docx", data, "docx", ParseOptions(at=at, isolate=False))


def _errors(findings: Sequence[Finding]) -> list[str]:
    return [f"{finding.code} {finding.field} {finding.message}" for finding in findings if finding.severity == "error"]


# --- 推荐表 -------------------------------------------------------------------------------------------------

RECOMMENDATION_ROWS: list[Row] = [
    ["1", "4-04-05-05", "人工智能训练师", "数据标注员", "人工智能训练师", "2021年版", "是", "人工智能", "800人",
     "文件依据：本市人工智能产业行动方案。"],
    ["2", "4-14-02-02", "健康管理师", "", "健康管理师", "2019年版", "否", "生命健康", "300",
     "调研摸底：社区健康服务需求较大。"],
]  # fmt: skip
REWORDED_HEADER = [
    "序次",
    "拟推荐职业编码",
    "拟推荐职业",
    "拟推荐工种",
    "国家职业标准名称（全称）",
    "标准版本（年份）",
    "是否已列入急需紧缺职业目录",
    "产业类别（可多选）",
    "预计年评价人次",
    "推荐的理由",
]


def _recommendation(
    header: Row = REWORDED_HEADER, rows: Sequence[Row] = RECOMMENDATION_ROWS, lines: Sequence[str] = ()
) -> bytes:
    return _docx(
        ["附件1", "2025年第三季度社会化职业技能等级认定职业（工种）推荐表", "推荐单位（公章）：上海市商务委员会"],
        [header, *rows],
        lines or ["本单位联系人：王芳　　联系电话（办公）：021-63211234", "2025年9月22日"],
    )


def test_reworded_headers_and_line_labels_of_a_recommendation_are_read() -> None:
    document = _parse(_recommendation(), AT_2025)
    assert document.form == FormId.skill_level_recommendation
    fields = document.fields
    assert (fields["recommender"], fields["contact_person"], fields["contact_phone"], fields["fill_date"]) == (
        "上海市商务委员会",
        "王芳",
        "021-63211234",
        "2025-09-22",
    )
    first, second = fields["rows"]
    assert first == {
        "seq": 1,
        "code": "4-04-05-05",
        "occupation": "人工智能训练师",
        "work_type": "数据标注员",
        "standard_name": "人工智能训练师",
        "standard_version": "2021年版",
        "shortage_listed": True,
        "industries": ["人工智能"],
        "estimated_count": 800,
        "reason": "文件依据：本市人工智能产业行动方案。",
    }
    assert (second["code"], second["occupation"], second["work_type"]) == ("4-14-02-02", "健康管理师", None)
    assert _errors(document.findings) == []


def test_the_occupation_column_is_not_taken_for_the_code_column() -> None:
    """A header that begins with another column's wording goes to the column it reads as, the surer first."""
    header = ["编号", "职业编码（大典）", "职业名称（全称）", "工种", "国家职业标准名称", "国家职业标准版本",
              "是否已纳入急需紧缺职业目录", "产业类别", "预计评价人次", "推荐理由"]  # fmt: skip
    fields = _parse(_recommendation(header), AT_2025).fields
    assert [(row["seq"], row["code"], row["occupation"]) for row in fields["rows"]] == [
        (1, "4-04-05-05", "人工智能训练师"),
        (2, "4-14-02-02", "健康管理师"),
    ]


def test_a_column_zhengji_cannot_find_is_for_staff_not_a_demand_on_every_row() -> None:
    """No 推荐理由 column at all: one unlocated_field for staff instead of "第 N 行缺少推荐理由" per row."""
    header = ["序号", "职业编码", "职业", "工种", "国家职业标准名称", "国家职业标准版本", "是否已纳入急需紧缺职业目录",
              "产业类别", "预计评价人次"]  # fmt: skip
    rows = [row[:9] for row in RECOMMENDATION_ROWS]
    document = _parse(_recommendation(header, rows), AT_2025)
    assert _errors(document.findings) == []
    unlocated = [finding for finding in document.findings if finding.code == "unlocated_field"]
    assert [(finding.field, finding.severity) for finding in unlocated] == [("reason", "warning")]


def test_a_blank_cell_under_a_recognised_header_is_still_missing() -> None:
    rows = [RECOMMENDATION_ROWS[0], [*RECOMMENDATION_ROWS[1][:9], ""]]
    document = _parse(_recommendation(rows=rows), AT_2025)
    assert [
        (finding.code, finding.field, finding.row) for finding in document.findings if finding.severity == "error"
    ] == [("missing_field", "reason", 2)]


def test_contact_rows_typed_at_the_foot_of_the_table_end_its_rows() -> None:
    rows = [*RECOMMENDATION_ROWS, ["联络人", "王芳", "电话", "021-63211234", "", "", "", "", "", ""]]
    document = _parse(_recommendation(rows=rows, lines=["2025年9月22日"]), AT_2025)
    assert len(document.fields["rows"]) == 2
    assert (document.fields["contact_person"], document.fields["contact_phone"]) == ("王芳", "021-63211234")
    assert _errors(document.findings) == []


def test_contact_lines_zhengji_cannot_find_are_for_staff_and_a_blank_one_is_missing() -> None:
    missing_lines = _parse(_recommendation(lines=["2025年9月22日"]), AT_2025)
    assert _errors(missing_lines.findings) == []
    assert {finding.field for finding in missing_lines.findings if finding.code == "unlocated_field"} == {
        "contact_person",
        "contact_phone",
    }
    blank_person = _parse(_recommendation(lines=["联系人：　　联系电话：021-63211234", "2025年9月22日"]), AT_2025)
    assert [(finding.code, finding.field) for finding in blank_person.findings if finding.severity == "error"] == [
        ("missing_field", "contact_person")
    ]


# --- 专项 推荐汇总表 ------------------------------------------------------------------------------------------

SPECIAL_HEADER = ["序号", "所属领域及代码", "项目名称", "产业类别", "拟承担评价任务的考核机构（统一社会信用代码）",
                  "预计考核人次", "推荐理由"]  # fmt: skip
SPECIAL_SAMPLE = ["样例", "软件和信息技术服务人员 4-04-05", "人工智能模型运用", "人工智能",
                  "上海×××有限公司 (111111111111111111)", "1000 人", "行业规划"]  # fmt: skip
SPECIAL_ROW = ["1", "生活照料服务人员 4-10-01", "老年人助浴", "养老护理", "上海某养老服务中心（52310000MJ5027367E）",
               "500人", "行业规划：助浴服务需求增长。"]  # fmt: skip


def _special_summary(line: str, header: Row = SPECIAL_HEADER, opinion_label: str = "推荐意见") -> bytes:
    return _docx(
        ["附件1", "专项职业能力考核项目及考核机构推荐汇总表（第二批）", line],
        [
            header,
            SPECIAL_SAMPLE,
            SPECIAL_ROW,
            ["=" + opinion_label, "同意推荐。"],
            ["=" + opinion_label, "2025年5月20日"],
        ],
    )


@pytest.mark.parametrize("mark", ["★", "※", "*"])
def test_a_marker_before_the_next_label_stays_with_that_label(mark: str) -> None:
    line = f"{mark}推荐单位（加盖公章）：上海市民政局 {mark}联系人：王芳 {mark}联系电话：021-23110000"
    document = _parse(_special_summary(line), AT_SPECIAL)
    fields = document.fields
    assert (fields["recommender"], fields["contact_person"], fields["contact_phone"]) == (
        "上海市民政局",
        "王芳",
        "021-23110000",
    )
    assert _errors(document.findings) == []


def test_a_reworded_label_on_the_line_ends_the_value_before_it() -> None:
    line = "推荐单位（盖章）：上海市民政局 本单位联系人：王芳 联系手机：13812345678"
    fields = _parse(_special_summary(line), AT_SPECIAL).fields
    assert (fields["recommender"], fields["contact_person"], fields["contact_phone"]) == (
        "上海市民政局",
        "王芳",
        "13812345678",
    )


def test_the_sample_row_is_no_row_even_when_the_seq_header_is_not_recognised() -> None:
    header = ["行次", *SPECIAL_HEADER[1:]]
    document = _parse(
        _special_summary("推荐单位：上海市民政局 联系人：王芳 联系电话：021-23110000", header, "上级主管部门推荐意见"),
        AT_SPECIAL,
    )
    rows = document.fields["rows"]
    assert [(row["project"], row["credit_code"], row["estimated_count"]) for row in rows] == [
        ("老年人助浴", "52310000MJ5027367E", 500)
    ]
    assert document.fields["fill_date"] == "2025-05-20"
    assert _errors(document.findings) == []


# --- 新职业汇总表 -------------------------------------------------------------------------------------------


def test_a_shanghai_summary_with_reworded_labels_and_an_optional_marker() -> None:
    data = _docx(
        ["附件2", "浦东新区新职业汇总表", "推荐单位（盖章）：上海市浦东新区人力资源和社会保障局", "本单位联系人：王芳",
         "联系手机：13812345678"],
        [["编号", "建议的新职业名称", "新职业建议单位（全称）"], ["1", "低空物流调度员", "上海某物流科技有限公司"],
         ["=推荐单位审查意见（选填）", "同意推荐。\n（盖章）\n2025年6月22日"]],
    )  # fmt: skip
    document = _parse(data, datetime(2025, 6, 22, 10, 0, tzinfo=SHANGHAI))
    assert document.form == FormId.new_occupation_summary
    assert document.fields == {
        "recommender": "上海市浦东新区人力资源和社会保障局",
        "contact_person": "王芳",
        "contact_phone": "13812345678",
        "fill_date": "2025-06-22",
        "rows": [{"seq": 1, "name": "低空物流调度员", "proposer": "上海某物流科技有限公司"}],
        "opinion": "同意推荐。",
        "province": "shanghai",
    }
    assert _errors(document.findings) == []


def test_a_guangdong_summary_with_a_reworded_stamp_line_and_headers() -> None:
    data = _docx(
        ["附件2", "新职业信息申报汇总表（佛山市）",
         "填表单位及联系人（单位盖章）：佛山市人力资源和社会保障局　李雷　0757-83031234", "填表日期：2026年8月5日"],
        [["序号", "申报的类别", "拟申报职业（工种）名称", "备选的名称", "职业（工种）定义",
          "与相关职业（工种）的关系说明", "所属的行业", "申报单位（个人）", "联系人及手机", "地市是否已初审"],
         ["1", "新职业", "陶瓷智能窑炉操作员", "智能窑炉工", "操作智能窑炉完成陶瓷烧成的人员。", "与“陶瓷烧成工”相近。",
          "非金属矿物制品业", "佛山某陶瓷有限公司", "韩梅 13912340000", "是"]],
    )  # fmt: skip
    document = _parse(data, AT_GD)
    fields = document.fields
    assert (fields["recommender"], fields["contact_person"], fields["contact_phone"], fields["fill_date"]) == (
        "佛山市人力资源和社会保障局",
        "李雷",
        "0757-83031234",
        "2026-08-05",
    )
    assert fields["rows"] == [
        {
            "seq": 1,
            "category": "new_occupation",
            "name": "陶瓷智能窑炉操作员",
            "alt_names": ["智能窑炉工"],
            "definition": "操作智能窑炉完成陶瓷烧成的人员。",
            "related_occupations": "与“陶瓷烧成工”相近。",
            "industry": "非金属矿物制品业",
            "proposer": "佛山某陶瓷有限公司",
            "contact": "韩梅 13912340000",
            "city_reviewed": True,
        }
    ]
    assert _errors(document.findings) == []


def test_a_guangdong_summary_without_its_stamp_line_is_for_staff_not_unsigned() -> None:
    data = _docx(
        ["附件2", "新职业信息汇总表"],
        [["序号", "申报类别", "职业（工种）名称", "备选名称", "职业（工种）定义", "与相关职业（工种）的关系",
          "所属行业", "申报单位", "联系人及电话", "地市是否有初审"],
         ["1", "新工种", "陶瓷智能窑炉操作员", "", "操作智能窑炉完成陶瓷烧成的人员。", "与“陶瓷烧成工”相近。",
          "非金属矿物制品业", "佛山某陶瓷有限公司", "韩梅 13912340000", "否"]],
    )  # fmt: skip
    document = _parse(data, AT_GD)
    assert _errors(document.findings) == []
    assert {finding.field for finding in document.findings if finding.code == "unlocated_field"} == {
        "recommender",
        "contact_person",
        "contact_phone",
    }


# --- titles ----------------------------------------------------------------------------------------------

_LABELS = ["推荐单位（加盖公章）：上海市商务委员会"]


@pytest.mark.parametrize(
    ("title", "header", "form"),
    [
        ("2025年第三季度社会化职业技能等级认定职业（工种）推荐表", ["序号", "职业编码", "职业"],
         FormId.skill_level_recommendation),
        ("浦东新区新职业汇总表", ["序号", "新职业名称", "新职业建议单位"], FormId.new_occupation_summary),
        ("新职业信息申报汇总表（佛山市）", ["序号", "申报类别", "职业（工种）名称"], FormId.new_occupation_summary),
        ("附件1：专项职业能力考核项目及考核机构推荐汇总表（第二批）", ["序号", "所属领域及代码", "项目名称"],
         FormId.special_ability_summary),
    ],
)  # fmt: skip
def test_a_title_with_a_place_a_year_or_a_tail_is_still_the_title(title: str, header: list[str], form: FormId) -> None:
    assert classify(read_docx(_docx([title, *_LABELS], [header]))) == form


def test_a_project_proposal_titled_about_its_project_is_known() -> None:
    title = "关于老年人助浴项目的专项职业能力考核项目及考核机构建议书"
    layout = read_docx(_docx(["附件2", title, "第一部分 考核项目推荐情况", "略"]))
    assert classify(layout) == FormId.special_ability_proposal


@pytest.mark.parametrize(
    "lines",
    [
        ["关于报送新职业汇总表的函", "上海市职业技能鉴定中心：", "现报送新职业汇总表，请查收。", "联系人：王芳"],
        ["现报送浦东新区新职业汇总表和新职业信息建议书，请审核。", "联系电话：021-63211234"],
        ["关于报送专项职业能力考核项目推荐材料的函", "附件：专项职业能力考核项目及考核机构推荐汇总表、建议书"],
    ],
)
def test_a_cover_letter_that_names_a_form_stays_unknown(lines: list[str]) -> None:
    assert classify(read_docx(_docx(lines))) == FormId.unknown


# --- 专项 建议书, 主要考核内容, 推荐函 ---------------------------------------------------------------------------


def test_proposal_headings_with_other_numerals_and_a_generic_tail() -> None:
    data = _docx(["附件2", "专项职业能力考核项目及考核机构建议书", "第一部分 考核项目推荐情况说明",
                  "本市老年人口多，助浴需求大。", "（二）考核机构的推荐情况", "某养老中心成立于2010年。"])  # fmt: skip
    document = _parse(data, AT_SPECIAL)
    assert document.fields == {
        "project_section": "本市老年人口多，助浴需求大。",
        "institution_section": "某养老中心成立于2010年。",
    }
    assert _errors(document.findings) == []


def _content(title: Sequence[str], headings: Sequence[str], labels: Row, header: Row) -> bytes:
    document = Document()
    for text in ["附件3", *title, headings[0], "为老年人提供助浴服务的能力。", headings[1]]:
        document.add_paragraph(text)
    grid = document.add_table(rows=3, cols=4)
    for row, texts in enumerate([labels, header, ["（一）助浴准备", "1. 能检查助浴设施", "1. 助浴设施知识", "100%"]]):
        for col, text in enumerate(texts):
            grid.cell(row, col).text = text
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


CONTENT: dict[str, Any] = {
    "project": "老年人助浴",
    "definition": "为老年人提供助浴服务的能力。",
    "ability_name": "老年人助浴",
    "domain": "生活照料服务人员",
    "tasks": [{"task": "（一）助浴准备", "norms": "1. 能检查助浴设施", "knowledge": "1. 助浴设施知识", "weight": 100}],
}


@pytest.mark.parametrize(
    ("title", "headings", "labels", "header"),
    [
        (["老年人助浴专项职业能力考核项目主要考核内容"], ["第一部分 项目的定义", "第二部分 能力标准和评价内容"],
         ["专项职业能力的名称", "老年人助浴", "所属的领域", "生活照料服务人员"],
         ["具体工作任务", "操作规范要求", "相关知识要求", "考核比重（%）"]),
        (["专项职业能力考核项目主要考核内容", "（老年人助浴）"], ["1. 定义", "2. 能力标准与评价内容"],
         ["能力名称\n老年人助浴", "能力名称\n老年人助浴", "所属领域\n生活照料服务人员", "所属领域\n生活照料服务人员"],
         ["工作任务", "操作规范", "相关知识", "权重"]),
    ],
    ids=["reworded", "label-over-value"],
)  # fmt: skip
def test_content_retyped(title: list[str], headings: list[str], labels: list[str], header: list[str]) -> None:
    document = _parse(_content(title, headings, labels, header), AT_SPECIAL)
    assert document.form == FormId.special_ability_content
    assert document.fields == CONTENT
    assert _errors(document.findings) == []


def test_a_letter_stamped_as_the_recommending_unit() -> None:
    data = _docx(["附件3", "关于推荐上海某评价有限公司成为评价机构的函", "上海市职业技能鉴定中心：",
                  "经研究决定，我单位同意推荐上海某评价有限公司成为评价机构，支持该单位开展电工的职业技能等级认定工作。",
                  "我单位将结合产业发展需求，负责所辖领域技能评价工作的组织推动、行业指导，配合各级人社部门开展质量督导工作。",
                  "以上推荐，望予支持。", "推荐部门（盖章）：上海市商务委员会", "2025年6月24日"])  # fmt: skip
    document = _parse(data, datetime(2025, 6, 24, 10, 0, tzinfo=SHANGHAI))
    assert document.fields["recommender"] == "上海市商务委员会"
    assert _errors(document.findings) == []
