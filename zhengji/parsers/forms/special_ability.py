"""The three forms of 沪人社职〔2025〕140号: 推荐汇总表 (附件1), 建议书 (附件2), 主要考核内容 (附件3).

Decision on the 建议书's guidance: the template prints "包括但不限于：…" under each heading. An applicant who
leaves it in has not written it, so a paragraph that is the template's guidance is not part of the section
(a section holding only the guidance is blank, hence ``missing_field``); when the applicant typed on after
the guidance in the same paragraph, the guidance is cut off and the rest kept.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from zhengji.parsers.forms.classify import (
    Unit,
    find_date,
    first_date,
    is_label,
    key,
    label_value,
    norm,
    parse_count,
    read_rows,
    row_texts,
    seq_value,
    split_list,
    title_key,
    units,
)
from zhengji.parsers.forms.text import clean_value
from zhengji.parsers.model import PICTURE, Layout

__all__ = ["extract_special_content", "extract_special_proposal", "extract_special_summary"]

# --- 附件1 推荐汇总表 --------------------------------------------------------------------------------------

_SUMMARY_COLUMNS: dict[str, tuple[str, ...]] = {
    "seq": ("序号",),
    "domain": ("所属领域及代码", "所属领域", "领域及代码"),
    "project": ("项目名称", "考核项目名称", "专项职业能力考核项目名称"),
    "industries": ("产业类别", "产业标签"),
    "institution": ("拟承担评价任务的考核机构", "考核机构", "拟承担评价任务的考核机构(统一社会信用代码)"),
    "estimated_count": ("预计考核人次", "预计考核人数", "预计考核"),
    "reason": ("推荐理由",),
}
_SUMMARY_STOPS = ("推荐意见", "推荐单位意见", "填表说明", "备注", "抄送")
_RECOMMENDER = ("推荐单位(加盖公章)", "推荐单位(盖章)", "推荐单位")
_LABELS = (*_RECOMMENDER, "联系人", "联系电话", "联系方式")
_SAMPLE = {"样例", "示例", "例", "样表", "填写样例"}

_DOMAIN_CODE = re.compile(r"[(（]?\s*(\d\s*-\s*\d{2}(?:\s*-\s*\d{2}){0,2})\s*[)）]?")
# In brackets (spaces inside allowed: a wrapped PDF cell), or a bare run of 15–20 code characters.
_CREDIT_CODE = re.compile(
    r"[(（]\s*([0-9A-Za-z][0-9A-Za-z ]{6,30}[0-9A-Za-z])\s*[)）]|(?<![0-9A-Za-z])([0-9A-Z]{15,20})(?![0-9A-Za-z])"
)


def split_domain(text: str | None) -> tuple[str | None, str | None]:
    """ "软件和信息技术服务人员 4-04-05" → ("软件和信息技术服务人员", "4-04-05"); the code may come first."""
    source = text or ""
    match = _DOMAIN_CODE.search(norm(source))
    if match is None:
        return clean_value(source), None
    code = re.sub(r"\s", "", match.group(1))
    rest = (source[: match.start()] + " " + source[match.end() :]).strip(" ,，、:：-\u3000")
    return clean_value(re.sub(r"\s+", " ", rest)), code


def split_institution(text: str | None) -> tuple[str | None, str | None]:
    """ "上海×××有限公司 (111111111111111111)" → (name, credit code); the code as written, for the check."""
    source = text or ""
    # A bracket holding an English name is not a code: a code is mostly digits.
    matches = (match for match in _CREDIT_CODE.finditer(norm(source)) if sum(c.isdigit() for c in match.group(0)) >= 6)
    match = next(matches, None)
    if match is None:
        return clean_value(source), None
    group = 1 if match.group(1) else 2
    code = "".join(source[match.start(group) : match.end(group)].split())
    rest = (source[: match.start()] + source[match.end() :]).strip(" ,，、:：\u3000")
    rest = re.sub(r"统一社会信用代码\s*[:：]?", "", rest).strip(" ,，、:：")
    return clean_value(rest), code


def _summary_row(row: dict[str, str | None]) -> dict[str, Any]:
    domain, domain_code = split_domain(row.get("domain"))
    institution, credit_code = split_institution(row.get("institution"))
    return {
        "seq": seq_value(row.get("seq")),
        "domain": domain,
        "domain_code": domain_code,
        "project": row.get("project"),
        "industries": split_list(row.get("industries")),
        "institution": institution,
        "credit_code": credit_code,
        "estimated_count": parse_count(row.get("estimated_count")),
        "reason": row.get("reason"),
    }


def _opinion_date(found: Sequence[Unit]) -> str | None:
    """The date of the 推荐意见 row (its label cell spans the opinion and the date rows)."""
    for unit in found:
        if unit.cell is not None and is_label(unit.text, ("推荐意见", "推荐单位意见")):
            fill_date, _rest = find_date(unit.text + "\n" + row_texts(unit))
            if fill_date:
                return fill_date
    return None


def extract_special_summary(layout: Layout) -> dict[str, Any]:
    """The contract's ``special_ability_summary`` fields; the template's "样例" row is not a row."""
    table = read_rows(layout, _SUMMARY_COLUMNS, min_keys=3, stops=_SUMMARY_STOPS)
    free = [unit for unit in units(layout) if not table.uses(unit)]
    rows = [row for row in table.rows if key(row.get("seq")) not in _SAMPLE]
    fill_date = _opinion_date(free)
    if fill_date is None:
        fill_date = first_date(free)
    return {
        "recommender": label_value(free, _RECOMMENDER, _LABELS),
        "contact_person": label_value(free, ("联系人",), _LABELS),
        "contact_phone": label_value(free, ("联系电话", "联系方式"), _LABELS),
        "fill_date": fill_date,
        "rows": [_summary_row(row) for row in rows],
    }


# --- sections of text under headings -------------------------------------------------------------------

_NUMBERING = re.compile(
    r"^\s*(?:[一二三四五六七八九十]+\s*[、.．]|\d+\s*[、.．]|[(（]\s*[一二三四五六七八九十\d]+\s*[)）])\s*"
)


def _heading_rest(text: str, headings: Sequence[str]) -> str | None:
    """When ``text`` starts with one of ``headings`` (numbering ignored): the text after it, else None."""
    normed = norm(text)
    numbering = _NUMBERING.match(normed)
    start = numbering.end() if numbering else 0
    for heading in headings:
        chars = [re.escape(char) for char in norm(heading) if not char.isspace()]
        match = re.compile(r"\s*" + r"\s*".join(chars) + r"\s*[:：]?").match(normed, start)
        if match:
            return text[match.end() :]
    return None


def _section(found: Sequence[Unit], start: Sequence[str], ends: Sequence[str]) -> list[str]:
    """The texts after the heading ``start`` up to the next heading in ``ends`` (in reading order)."""
    collected: list[str] = []
    inside = False
    for unit in found:
        if inside and _heading_rest(unit.text, ends) is not None:
            break
        rest = _heading_rest(unit.text, start) if not inside else None
        if rest is not None:
            inside = True
            if rest.strip():
                collected.append(rest)
            continue
        if inside:
            collected.append(unit.text)
    return collected


# --- 附件2 建议书 ----------------------------------------------------------------------------------------

PROJECT_GUIDANCE = (
    "包括但不限于：推荐项目的开发背景、项目特色、项目名称及主要考核内容、项目适用对象、项目考核评价开展情况、"
    "项目在促进本市经济社会发展、就业创业等方面发挥的作用及项目未来发展趋势分析（包括就业创业、行业或产业发展、"
    "经济效益等方面预测）等。"
)
INSTITUTION_GUIDANCE = "包括但不限于：推荐单位的基本情况、开展技能人才评价的工作基础，相关行业优势和专业优势等。"
_PROJECT = ("考核项目推荐情况",)
_INSTITUTION = ("拟承担评价任务的考核机构推荐情况", "考核机构推荐情况")
# A 建议书 sent "含主要考核内容" carries 附件3 after it; its title ends section 二.
_AFTER_SECTIONS = ("附件", "抄送")


def _folded(text: str) -> str:
    return "".join(char for char in key(text) if char.isalnum())


def _without_guidance(paragraphs: Sequence[str], guidance: str) -> str | None:
    wanted = _folded(guidance)
    kept: list[str] = []
    for paragraph in paragraphs:
        folded = _folded(paragraph)
        if folded and (wanted.startswith(folded) or folded.startswith(wanted[:20])):
            if len(folded) <= len(wanted) + 2:
                continue
            position = norm(paragraph).find(norm(guidance)[-6:])
            if position >= 0:
                paragraph = paragraph[position + 6 :]
        kept.append(paragraph.replace(PICTURE, "").strip())
    return clean_value("\n".join(part for part in kept if part))


def _ends_content(unit: Unit) -> bool:
    return title_key(unit.text).endswith("主要考核内容") and len(key(unit.text)) <= 60


def extract_special_proposal(layout: Layout) -> dict[str, Any]:
    """The contract's ``special_ability_proposal`` fields: the two sections' texts, guidance removed."""
    found = units(layout)
    cut = next((index for index, unit in enumerate(found) if _ends_content(unit) and index > 0), len(found))
    found = found[:cut]
    project = _section(found, _PROJECT, (*_INSTITUTION, *_AFTER_SECTIONS))
    institution = _section(found, _INSTITUTION, _AFTER_SECTIONS)
    return {
        "project_section": _without_guidance(project, PROJECT_GUIDANCE),
        "institution_section": _without_guidance(institution, INSTITUTION_GUIDANCE),
    }


# --- 附件3 主要考核内容 ---------------------------------------------------------------------------------

_CONTENT_COLUMNS: dict[str, tuple[str, ...]] = {
    "task": ("工作任务",),
    "norms": ("操作规范",),
    "knowledge": ("相关知识",),
    "weight": ("考核比重", "比重", "权重"),
}
_ABILITY_HEADINGS = ("能力标准与评价内容", "能力标准和考核内容", "能力标准和评价内容", "能力标准与考核内容", "能力标准")
_CONTENT_LABELS = ("能力名称", "所属领域", "工作任务", "操作规范", "相关知识", "考核比重")
# The template's typesetting notes: "（正文采用小四号宋体、标题加粗）" and the like.
_TYPESETTING = re.compile(r"^[(（].*采用.*[号体].*[)）]$")
_TITLE = re.compile(r"^(.*?)主要考核内容$")
_PROJECT_PLACEHOLDER = {"专项职业能力考核项目名称", "(专项职业能力考核项目名称)", "项目名称", "XXX", "xxx"}


def _project(found: Sequence[Unit]) -> str | None:
    for unit in found[:12]:
        title = title_key(unit.text)
        match = _TITLE.match(title)
        if match is None or len(key(unit.text)) > 60:
            continue
        # Take the name as typed (spaces inside kept), not the folded key.
        text = re.sub(r"^\s*附件\s*[0-9０-９一二三四五六七八九十]*\s*[:：.、]?", "", unit.text)
        text = re.sub(r"主\s*要\s*考\s*核\s*内\s*容.*$", "", text, flags=re.S).strip()
        name = _unbracket(text)
        return None if key(name) in _PROJECT_PLACEHOLDER or not key(name) else clean_value(name)
    return None


def _unbracket(text: str) -> str:
    text = text.strip()
    normed = norm(text)
    if normed.startswith("(") and normed.endswith(")") and normed.count("(") == 1:
        return text[1:-1].strip()
    return text


def parse_weight(text: str | None) -> int | float | None:
    """考核比重 in percent: "40%" → 40; a spreadsheet's 0.4 (a percent-formatted cell) → 40."""
    value = parse_count(text)
    if value is None:
        return None
    source = norm(text)
    if "%" not in source and "." in source and 0 < value <= 1:
        scaled = round(value * 100, 6)
        return int(scaled) if float(scaled).is_integer() else scaled
    return value


def extract_special_content(layout: Layout) -> dict[str, Any]:
    """The contract's ``special_ability_content`` fields."""
    found = units(layout)
    table = read_rows(layout, _CONTENT_COLUMNS, min_keys=3, stops=("能力名称",))
    definition_parts = [
        text
        for text in _section(found, ("定义",), (*_ABILITY_HEADINGS, *_CONTENT_LABELS))
        if not _TYPESETTING.match(text.strip()) and text.strip()
    ]
    tasks = [
        {
            "task": row.get("task"),
            "norms": row.get("norms"),
            "knowledge": row.get("knowledge"),
            "weight": parse_weight(row.get("weight")),
        }
        for row in table.rows
        if any(row.get(name) for name in ("task", "norms", "knowledge"))
    ]
    return {
        "project": _project(found),
        "definition": clean_value("\n".join(definition_parts)),
        "ability_name": label_value(found, ("能力名称",), _CONTENT_LABELS),
        "domain": label_value(found, ("所属领域",), _CONTENT_LABELS),
        "tasks": tasks,
    }
