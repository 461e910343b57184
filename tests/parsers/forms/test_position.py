"""Position and cell structure as evidence (issue 17, item 4): forms retyped in words the form data never lists
read right because of where a label stands, what its cells look like and what kind of line it is.

Every document is built here with python-docx, in wordings chosen to be absent from the form data, so that only
the structure can read them.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime

from docx import Document

from zhengji.clock import SHANGHAI
from zhengji.parsers.document import ParseOptions, parse_document
from zhengji.parsers.forms.letter import extract_letter
from zhengji.parsers.forms.proposal import extract_proposal
from zhengji.parsers.forms.special_ability import extract_special_content, extract_special_proposal
from zhengji.parsers.forms.summary import extract_summary
from zhengji.parsers.forms.wording import normalise
from zhengji.parsers.model import ParsedDocument
from zhengji.parsers.readers.docx import read_docx

AT_SPECIAL = datetime(2025, 5, 21, 10, 0, tzinfo=SHANGHAI)

# A row whose second cell is merged to the table's right edge: "=" before its first text.
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


# --- a table row whose cells do not line up with the header -------------------------------------------------------


def test_a_footer_row_merged_across_the_columns_is_doubted_not_demanded() -> None:
    """A 汇总表 whose opinion rows are labelled in words the data does not list ("主管部门意见"), the text merged
    across the columns: not a third and fourth project with blank cells that the applicant is asked to fill."""
    header = [
        "序号",
        "所属领域及代码",
        "专项职业能力考核项目名称",
        "产业类别",
        "拟承担评价任务的考核机构（统一社会信用代码）",
        "预计考核人次",
        "推荐理由",
    ]
    first = [
        "1",
        "生活照料服务人员 4-10-01",
        "失智老年人照护",
        "养老护理",
        "上海颐康养老服务评价中心（52310000MJ5027367E）",
        "1500",
        "行业规划：本市养老服务发展规划提出加强认知症照护人才培养。",
    ]
    second = [
        "2",
        "软件和信息技术服务人员 4-04-05",
        "智慧养老平台运维",
        "养老护理",
        "上海银龄智慧科技有限公司（91310115MA1K4R7D35）",
        "800",
        "调研摸底：全市智慧养老服务平台运维人员需求较大。",
    ]
    footer = [
        ["=主管部门意见", "经研究，同意推荐上述项目成为专项职业能力考核项目。"],
        ["=主管部门意见", "2025年5月20日"],
    ]
    lines = [
        "专项职业能力考核项目及考核机构推荐汇总表",
        "推荐单位（加盖公章）：上海市民政局 联系人：沈佳怡 联系电话：021-23111234",
    ]
    data = _docx(lines, [header, first, second, *footer])  # fmt: skip
    document = _parse(data, AT_SPECIAL)
    assert document.form == "special_ability_summary"
    assert [row["project"] for row in document.fields["rows"]] == ["失智老年人照护", "智慧养老平台运维"]
    assert document.fields["fill_date"] == "2025-05-20"
    assert [finding.message for finding in document.findings if finding.severity == "error"] == []


# --- a column read by its cells -----------------------------------------------------------------------------------


def test_a_number_column_headed_in_words_never_seen_is_read_by_its_numbers() -> None:
    data = _docx(
        ["新职业汇总表", "推荐单位（加盖公章）：上海市经济和信息化委员会", "联系人：周立新", "联系电话：021-23115678"],
        [
            ["项次", "新职业名称", "新职业建议单位"],
            ["1", "具身智能数据采集员", "上海具智机器人科技有限公司"],
            ["2", "算力网络调度员", "上海市人工智能行业协会"],
        ],
    )
    fields, _unlocated = extract_summary(read_docx(data))
    assert [(row["seq"], row["name"]) for row in fields["rows"]] == [(1, "具身智能数据采集员"), (2, "算力网络调度员")]


def test_a_header_row_in_new_words_is_read_cell_by_cell_across_the_table() -> None:
    """Four header cells, one named by its words and the others by their places: the table's width is its header."""
    data = _docx(
        ["失智老年人照护主要考核内容", "一、定义", "提供认知症照护服务的能力。", "二、能力标准与评价内容"],
        [
            ["任务项", "操作规程", "所需相关知识", "占比（%）"],
            ["（一）生活照料", "能协助失智老年人进食", "失智老年人生活照料的方法", "60%"],
            ["（二）认知训练", "能开展记忆和定向训练", "认知功能评估的基本方法", "40%"],
        ],
    )  # fmt: skip
    fields = extract_special_content(read_docx(data))
    assert [(task["task"], task["weight"]) for task in fields["tasks"]] == [
        ("（一）生活照料", 60),
        ("（二）认知训练", 40),
    ]


# --- the signature and date lines through the one scorer and by their kind -----------------------------------------


def _proposal(lines: Sequence[str]) -> dict[str, object]:
    data = _docx(
        ["新职业信息建议书", *lines],
        [["新职业名称", "具身智能数据采集员"], ["新职业定义", "为机器人采集训练数据的人员。"]],
    )
    return extract_proposal(read_docx(data))


def test_signature_and_date_lines_in_words_never_printed() -> None:
    fields = _proposal(["建议人签名/盖章：上海具智机器人科技有限公司", "填写的年月日：2025年6月20日"])
    assert (fields["signer"], fields["fill_date"]) == ("上海具智机器人科技有限公司", "2025-06-20")


def test_a_signature_and_a_reworded_date_on_one_line() -> None:
    fields = _proposal(["申报单位或个人（签章）：上海具智机器人科技有限公司    填报日期：2025年6月20日"])
    assert (fields["signer"], fields["fill_date"]) == ("上海具智机器人科技有限公司", "2025-06-20")


# --- a label on a line of its own, read by its place --------------------------------------------------------------


def test_an_unknown_label_paragraph_after_its_neighbours_is_read_as_the_field_of_its_place() -> None:
    """粤 五、职业（工种）分析 as paragraphs: "前景展望" names no wording of the data, but it stands where 发展前景
    stands, after the three other analysis paragraphs and before the next section."""
    data = _docx(
        [
            "新职业建议书",
            "五、职业（工种）分析",
            "产生背景（400字以内）",
            "低空经济已列入国家战略性新兴产业。",
            "在经济社会发展中的作用（300字以内）",
            "该职业提升低空物流配送效率和安全水平。",
            "与该职业（工种）直接相关的技术和从业方式的发展变化情况（400字以内）",
            "无人机物流由单机遥控飞行发展为平台统一调度的多机自主飞行。",
            "前景展望（200字以内）",
            "预计到2030年调度人员需求将达数万人。",
            "六、职业（工种）教育与培训情况",
        ]
    )
    fields = extract_proposal(read_docx(data))
    analysis = fields["analysis"]
    assert isinstance(analysis, dict)
    assert analysis["tech_change"] == "无人机物流由单机遥控飞行发展为平台统一调度的多机自主飞行。"
    assert analysis["prospects"] == "预计到2030年调度人员需求将达数万人。"


# --- headings by their numeral, labels with an English gloss ------------------------------------------------------


def test_a_section_heading_typed_with_its_numeral_and_a_space_and_new_words() -> None:
    data = _docx(
        [
            "“失智老年人照护”专项职业能力考核项目及考核机构建议书",
            "一 考核项目推荐情况介绍",
            "本市失智老年人约30万，认知症照护需求快速增长。",
            "二 拟推荐考核机构情况",
            "上海颐康养老服务评价中心成立于2016年。",
        ]
    )
    fields = extract_special_proposal(read_docx(data))
    assert fields["project_section"] == "本市失智老年人约30万，认知症照护需求快速增长。"
    assert fields["institution_section"] == "上海颐康养老服务评价中心成立于2016年。"


def test_an_english_gloss_in_brackets_leaves_the_label_the_same() -> None:
    assert normalise("电话（Tel）") == normalise("电话")
    assert normalise("国家或地区（Country/Region）") == normalise("国家或地区")
    assert normalise("主要工作内容（Main Duties）") == normalise("主要工作内容")
    assert normalise("新职业产生背景（≤400字）") == normalise("新职业产生背景")
    assert normalise("Tel") == "Tel"  # an English label alone is a label, not a gloss


# --- a short English label beside its Chinese fields, a phone line by its value -----------------------------------


def test_tel_between_the_contact_person_and_the_email_is_the_contact_phone() -> None:
    data = _docx(
        ["新职业信息建议书", "九、建议人情况"],
        [
            ["通讯地址", "上海市浦东新区张江路88号", "", ""],
            ["联系人", "张丽", "Tel", "13816702345"],
            ["电子信箱", "zhangli@juzhi-robot.cn", "", ""],
        ],
    )
    contact = extract_proposal(read_docx(data))["contact"]
    assert isinstance(contact, dict)
    assert (contact["person"], contact["phone"]) == ("张丽", "13816702345")


def test_a_phone_line_labelled_in_words_of_no_field_is_read_by_its_number() -> None:
    data = _docx(
        ["新职业汇总表", "推荐单位（加盖公章）：上海市经济和信息化委员会", "联系人：周立新", "Tel：021-23115678"],
        [["序号", "新职业名称", "新职业建议单位"], ["1", "具身智能数据采集员", "上海具智机器人科技有限公司"]],
    )
    fields, _unlocated = extract_summary(read_docx(data))
    assert (fields["contact_person"], fields["contact_phone"]) == ("周立新", "021-23115678")


def test_a_signature_label_that_goes_on_to_its_colon() -> None:
    fields = _proposal(["申报单位（盖章）或个人（签字）：深圳天路低空物流科技有限公司", "填写时间：2026年6月28日"])
    assert (fields["signer"], fields["fill_date"]) == ("深圳天路低空物流科技有限公司", "2026-06-28")


# --- a fully reworded form is still known -------------------------------------------------------------------------


def test_a_special_proposal_with_its_title_shortened_and_its_headings_reworded() -> None:
    data = _docx(
        [
            "附件2",
            "专项职业能力考核项目及机构建议书",
            "第一部分 推荐的考核项目情况",
            "本市失智老年人约30万，认知症照护需求快速增长。",
            "第二部分 推荐承担评价任务的考核机构情况",
            "上海颐康养老服务评价中心成立于2016年。",
        ]
    )
    document = _parse(data, AT_SPECIAL)
    assert document.form == "special_ability_proposal"
    assert document.fields["institution_section"] == "上海颐康养老服务评价中心成立于2016年。"


def test_a_date_label_read_by_its_kind_alone_must_hold_a_date() -> None:
    """A note "成立日期：2010年" is a time noun before a colon, not the form's date line."""
    fields = _proposal(
        ["成立日期：2010年", "建议人（盖章或签字）：上海具智机器人科技有限公司", "填报日：2025年6月20日"]
    )
    assert fields["fill_date"] == "2025-06-20"


def test_a_letter_signed_with_a_reworded_stamp_request_after_the_sender() -> None:
    data = _docx(
        [
            "关于推荐上海智造技能评价服务有限公司成为评价机构的函",
            "上海市职业技能鉴定中心：",
            "经研究决定，我单位同意推荐上海智造技能评价服务有限公司成为评价机构。",
            "以上推荐，望予支持。",
            "上海市经济和信息化委员会（签章）",
            "2025年6月24日",
        ]
    )
    assert extract_letter(read_docx(data))["recommender"] == "上海市经济和信息化委员会"


def test_the_odd_label_of_a_label_value_row_is_the_field_left() -> None:
    """ "考评方向" names no field; beside 所属领域 in a row of two labels and two values it is the 能力名称."""
    data = _docx(
        ["失智老年人照护主要考核内容", "一、定义", "提供认知症照护服务的能力。", "二、能力标准与评价内容"],
        [
            ["考评方向", "失智老年人照护", "所属领域", "生活照料服务人员"],
            ["工作任务", "操作规范", "相关知识", "考核比重"],
            ["（一）生活照料", "能协助失智老年人进食", "失智老年人生活照料的方法", "100%"],
        ],
    )
    fields = extract_special_content(read_docx(data))
    assert (fields["ability_name"], fields["domain"]) == ("失智老年人照护", "生活照料服务人员")
