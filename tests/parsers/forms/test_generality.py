"""Reworded labels read by the structure of the form, not by its words (issue 17, generality).

Each document is a real Word file built here, in wordings of this file's own (none is in a wordings list of the
mutation corpus, nor in the form data): what these tests hold is the structural rule, so that a wording nobody
listed is read as a clerk reads it, and what the rule cannot tell is left for staff.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from docx import Document

from tests.parsers.forms.test_two_column import Part, _parts, build
from zhengji.notices.registry import FormId
from zhengji.parsers.forms import classify, read
from zhengji.parsers.forms.classify import weighted_task_table
from zhengji.parsers.readers.docx import read_docx


def _proposal(parts: Sequence[Part], lines: Sequence[str] = ()) -> dict[str, object]:
    layout = read_docx(build(parts, lines) if lines else build(parts))
    assert classify(layout) == FormId.new_occupation_proposal
    return read(FormId.new_occupation_proposal, layout).fields


def _replaced(label: str, by: Sequence[Part]) -> list[Part]:
    """The two-column 建议书 with the row of ``label`` replaced by the rows ``by``."""
    parts = _parts()
    index = next(position for position, part in enumerate(parts) if part[0] == label)
    return [*parts[:index], *by, *parts[index + 1 :]]


def test_a_second_name_after_a_slash_is_part_of_the_label_not_the_first_alternative_name() -> None:
    parts = _replaced(
        "新职业名称", [("新职业名称", "无人机群飞表演编队师"), ("备选名称/俗称", "1. 编队飞手\n2. 灯光秀飞手")]
    )
    assert _proposal(parts)["alt_names"] == ["编队飞手", "灯光秀飞手"]


def test_a_bracketed_gloss_after_a_label_is_part_of_the_label_not_the_first_name() -> None:
    parts = _replaced("同类职业名称", [("同类职业名称（原文）", "1. Drone Show Pilot\n2. Drohnenpilot")])
    fields = _proposal(parts)
    foreign = fields["foreign"]
    assert isinstance(foreign, dict)
    assert foreign["similar_names"] == ["Drone Show Pilot", "Drohnenpilot"]


def test_a_limit_in_words_of_its_own_does_not_hide_the_analysis_labels() -> None:
    """The 职业分析 labels reworded, their limit written another way ("（本栏400字内）"), the heading reworded."""
    texts = {
        "新职业产生背景": "低空经济快速发展，无人机表演需求增长。",
        "新职业在经济社会发展中的作用": "带动文旅消费，替代烟花燃放。",
        "与新职业直接相关的技术和从业方式的发展变化情况": "集群控制技术日趋成熟。",
        "新职业的发展前景": "前景广阔。",
    }
    parts = [
        ("=", "五、职业的论证分析") if part == ("=", "五、职业分析") else part
        for part in _parts()
        if part[0] not in texts
    ]
    heading = parts.index(("=", "五、职业的论证分析"))
    limits = ("（本栏400字内）", "（本栏300字内）", "（本栏400字内，可附页）", "（本栏200字内）")
    # The labels in words of this test's own, each with its limit: only their place and the limit tell them.
    labels = ("新职业的产生背景", "新职业对经济社会发展的作用", "相关技术和从业方式的发展变化", "新职业未来发展前景")
    rows: list[Part] = [
        (f"{label}{limit}", value) for label, value, limit in zip(labels, texts.values(), limits, strict=True)
    ]
    fields = _proposal([*parts[: heading + 1], *rows, *parts[heading + 1 :]])
    assert fields["analysis"] == {
        "background": texts["新职业产生背景"],
        "role": texts["新职业在经济社会发展中的作用"],
        "tech_change": texts["与新职业直接相关的技术和从业方式的发展变化情况"],
        "prospects": texts["新职业的发展前景"],
    }


def test_the_signature_line_is_read_by_its_kind_and_a_title_naming_a_stamped_copy_is_not_it() -> None:
    fields = _proposal(
        _parts(),
        lines=("新职业信息建议书（定稿盖章版）", "建议单位签字：上海天空秀科技有限公司", "填写时间：2025年6月21日"),
    )
    assert fields["signer"] == "上海天空秀科技有限公司"


# --- 主要考核内容 by the shape of its table ------------------------------------------------------------

TASKS = [
    (
        "（一）接待与评估",
        "1. 能询问并记录老人的起居习惯\n2. 能识别跌倒风险",
        "1. 老年人评估的方法\n2. 跌倒风险的成因",
        "25%",
    ),
    (
        "（二）日常照护",
        "1. 能协助老人进食与洗漱\n2. 能整理安全的居室环境",
        "1. 饮食照护的要点\n2. 居室安全的相关规定",
        "35%",
    ),
    (
        "（三）康复陪伴",
        "1. 能带领老人做手指操与散步\n2. 能陪伴老人开展回忆活动",
        "1. 康复活动的基本原理\n2. 沟通陪伴的技巧",
        "40%",
    ),
]


def _content(rows: Sequence[tuple[str, str, str, str]] = TASKS) -> bytes:
    """A 主要考核内容 retyped with a title and column names of the applicant's own."""
    document = Document()
    document.add_paragraph("居家养老陪护专项能力考评要点")
    document.add_paragraph("一、定义与说明")
    document.add_paragraph("为居家老人提供起居照护、安全防护和康复陪伴服务的能力。")
    document.add_paragraph("二、考评细则")
    table = document.add_table(rows=2 + len(rows), cols=4)
    table.style = "Table Grid"
    for col, text in enumerate(("能力名称", "居家养老陪护", "所属领域", "家政服务人员")):
        table.cell(0, col).text = text
    for col, text in enumerate(("模块", "技能要点", "知识要点", "占比")):
        table.cell(1, col).text = text
    for row, values in enumerate(rows, 2):
        for col, text in enumerate(values):
            table.cell(row, col).text = text
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_a_table_of_tasks_whose_weights_make_a_whole_is_a_content_form_whatever_its_words() -> None:
    layout = read_docx(_content())
    assert classify(layout) == FormId.special_ability_content
    fields = read(FormId.special_ability_content, layout).fields
    assert [(task["task"], task["weight"]) for task in fields["tasks"]] == [
        ("（一）接待与评估", 25),
        ("（二）日常照护", 35),
        ("（三）康复陪伴", 40),
    ]
    assert fields["ability_name"] == "居家养老陪护"


def test_weights_that_do_not_make_a_whole_are_no_evidence_of_the_content_form() -> None:
    rows = [(*row[:3], "30%") for row in TASKS]
    assert not weighted_task_table(read_docx(_content(rows)))


def test_a_heading_with_words_glued_to_it_is_not_the_first_line_of_its_section() -> None:
    fields = read(FormId.special_ability_content, read_docx(_content())).fields
    assert fields["definition"] == "为居家老人提供起居照护、安全防护和康复陪伴服务的能力。"
