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

from zhengji.notices.forms import require_spec
from zhengji.notices.registry import FormId
from zhengji.parsers.forms.classify import (
    SAMPLE_MARKS,
    Unit,
    find_date,
    first_date,
    form_lines,
    key,
    norm,
    parse_count,
    read_rows,
    row_texts,
    seq_value,
    split_list,
    title_key,
    units,
    weighted_task_rows,
)
from zhengji.parsers.forms.headings import Headings, numbering
from zhengji.parsers.forms.text import clean_value
from zhengji.parsers.model import PICTURE, Layout

__all__ = ["extract_special_content", "extract_special_proposal", "extract_special_summary"]

# --- 附件1 推荐汇总表 --------------------------------------------------------------------------------------

_SUMMARY_SPEC = require_spec(FormId.special_ability_summary)
_SUMMARY_COLUMNS = _SUMMARY_SPEC.header_aliases()
_SUMMARY_STOPS = _SUMMARY_SPEC.row_stops
SUMMARY_LINES = form_lines(
    FormId.special_ability_summary, ("recommender", "contact_person", "contact_phone", "opinion")
)

# A code as typed, whatever its groups' widths ("4-04-05", "4-4-05"): the code check judges its form; cutting
# "4-4-05" to "4-05" would hide the mistake and report another.
_DOMAIN_CODE = re.compile(r"[(（]?\s*(?<![\d-])(\d{1,2}(?:\s*-\s*\d{1,2}){1,3})(?![\d-])\s*[)）]?")
# In brackets (spaces inside allowed: a wrapped PDF cell), or a bare run of 15–20 code characters.
_CREDIT_CODE = re.compile(
    r"[(（]\s*(?:统一社会信用代码\s*[:：]?\s*)?([0-9A-Za-z][0-9A-Za-z ]{6,30}[0-9A-Za-z])\s*[)）]"
    r"|(?<![0-9A-Za-z])([0-9A-Z]{15,20})(?![0-9A-Za-z])"
)
_EMPTY_BRACKETS = re.compile(r"[(（]\s*[)）]")


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
    rest = re.sub(r"统一社会信用代码\s*[:：]?", "", rest)
    # "单位名（统一社会信用代码：…）" leaves no "（）" behind once the code is taken out.
    rest = _EMPTY_BRACKETS.sub("", rest).strip(" ,，、:：")
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
        if unit.cell is not None and SUMMARY_LINES.label_rest(unit, "opinion") is not None:
            fill_date, _rest = find_date(unit.text + "\n" + row_texts(unit))
            if fill_date:
                return fill_date
    return None


def extract_special_summary(layout: Layout) -> dict[str, Any]:
    """The contract's ``special_ability_summary`` fields; the template's "样例" row is not a row."""
    table = read_rows(layout, _SUMMARY_COLUMNS, min_keys=3, stops=_SUMMARY_STOPS)
    free = [unit for unit in units(layout) if not table.uses(unit)]
    # The template's 样例 row, wherever its marker is (read_rows skips it when the marker opens the row).
    rows = [row for row in table.rows if key(row.get("seq")) not in SAMPLE_MARKS]
    fill_date = _opinion_date(free)
    if fill_date is None:
        fill_date = first_date(free)
    return {
        "recommender": SUMMARY_LINES.value(free, "recommender"),
        "contact_person": SUMMARY_LINES.value(free, "contact_person"),
        "contact_phone": SUMMARY_LINES.value(free, "contact_phone"),
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


def _section(
    found: Sequence[Unit], headings: Headings, name: str, ends: Sequence[str], after: Sequence[str] = ()
) -> list[str]:
    """The texts after the heading of section ``name`` up to the heading of one of the sections ``ends``, or a
    line starting with one of ``after`` (in reading order)."""
    collected: list[str] = []
    inside = False
    number: int | None = None
    style = ""
    for unit in found:
        if inside and (
            headings.starts(unit.text, ends)
            or _heading_rest(unit.text, after) is not None
            or _next_heading(unit.text, number, style)
        ):
            break
        rest = headings.rest(unit.text, name) if not inside else None
        if rest is not None:
            inside = True
            number = numbering(unit.text)[0]
            style = _numbering_style(unit.text)
            if rest.strip():
                collected.append(rest)
            continue
        if inside:
            collected.append(unit.text)
    return collected


# A heading line is short: a numeral and a few words.
_MAX_HEADING = 20


def _numbering_style(text: str) -> str:
    """How a heading is numbered, the numeral left out ("一、" and "二、" alike, "（一）" another, "1." another)."""
    _found, start = numbering(text)
    return re.sub(r"[一二三四五六七八九十\d]+", "#", norm(text)[:start].replace(" ", ""))


def _next_heading(text: str, number: int | None, style: str) -> bool:
    """Whether ``text`` is the next section's heading by its place alone, whatever its words: a short line
    numbered as the section being read is, with the next numeral ("二、…" under "一、定义"). The form's sections
    come in the form's order; a list inside a section ("1. …", "（二）…" under "一、") is numbered otherwise."""
    if number is None or not style or "\n" in text.strip():
        return False
    found, _start = numbering(text)
    return found == number + 1 and _numbering_style(text) == style and len(key(text)) <= _MAX_HEADING


# --- 附件2 建议书 ----------------------------------------------------------------------------------------

PROJECT_GUIDANCE = (
    "包括但不限于：推荐项目的开发背景、项目特色、项目名称及主要考核内容、项目适用对象、项目考核评价开展情况、"
    "项目在促进本市经济社会发展、就业创业等方面发挥的作用及项目未来发展趋势分析（包括就业创业、行业或产业发展、"
    "经济效益等方面预测）等。"
)
INSTITUTION_GUIDANCE = "包括但不限于：推荐单位的基本情况、开展技能人才评价的工作基础，相关行业优势和专业优势等。"
_PROPOSAL_HEADINGS = Headings.of(require_spec(FormId.special_ability_proposal))
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
    project = _section(found, _PROPOSAL_HEADINGS, "project", ("institution",), _AFTER_SECTIONS)
    institution = _section(found, _PROPOSAL_HEADINGS, "institution", (), _AFTER_SECTIONS)
    return {
        "project_section": _without_guidance(project, PROJECT_GUIDANCE),
        "institution_section": _without_guidance(institution, INSTITUTION_GUIDANCE),
    }


# --- 附件3 主要考核内容 ---------------------------------------------------------------------------------

_CONTENT_SPEC = require_spec(FormId.special_ability_content)
_CONTENT_COLUMNS = _CONTENT_SPEC.header_aliases("tasks")
_CONTENT_HEADINGS = Headings.of(_CONTENT_SPEC)
CONTENT_LINES = form_lines(FormId.special_ability_content, ("ability_name", "domain"))
_CONTENT_LABELS = ("能力名称", "所属领域", "工作任务", "操作规范", "相关知识", "考核比重")
# The template's typesetting notes: "（正文采用小四号宋体、标题加粗）" and the like.
_TYPESETTING = re.compile(r"^[(（].*采用.*[号体].*[)）]$")
_TITLE = re.compile(r"^(.*?)主要考核内容$")
_PROJECT_PLACEHOLDER = {"专项职业能力考核项目名称", "(专项职业能力考核项目名称)", "项目名称", "XXX", "xxx"}


def _project(found: Sequence[Unit]) -> str | None:
    """The project's name from the title "（项目名称）主要考核内容"; where the title names no project, from the
    line above it (a title split over two paragraphs) or a bracketed line under it ("（项目名称）")."""
    for position, unit in enumerate(found[:12]):
        title = title_key(unit.text)
        match = _TITLE.match(title)
        if match is None or len(key(unit.text)) > 60:
            continue
        name = _named(unit.text)
        if name is None and position > 0 and found[position - 1].cell is None:
            name = _named(found[position - 1].text)
        if name is None and position + 1 < len(found) and found[position + 1].cell is None:
            below = found[position + 1].text
            subtitle = _unbracket(below) != below.strip() and not _TYPESETTING.match(below.strip())
            name = _named(below) if subtitle else None
        return name
    return None


# Words of the form's own title around the project's name ("…专项职业能力考核项目主要考核内容").
_GENERIC_NAME = re.compile(
    r"(?:专\s*项\s*)?(?:职\s*业\s*)?能\s*力\s*(?:考\s*核\s*)?(?:项\s*目\s*)?$|考\s*核\s*项\s*目\s*$"
)
_QUOTES = "“”\"'「」『』《》‘’ \u3000"


def _named(text: str) -> str | None:
    """The project name in a title line as typed (spaces inside kept), None for the template's placeholder."""
    text = re.sub(r"^\s*附件\s*[0-9０-９一二三四五六七八九十]*\s*[:：.、]?", "", text)
    text = re.sub(r"主\s*要\s*考\s*核\s*内\s*容.*$", "", text, flags=re.S).strip()
    text = _unbracket(text)
    generic = re.search(_GENERIC_NAME, text)
    if generic is not None and "专项" in norm(text)[generic.start() :]:
        text = text[: generic.start()]
    name = _unbracket(text.strip(_QUOTES))
    if key(name) in _PROJECT_PLACEHOLDER or not key(name) or len(key(name)) > 40 or _TYPESETTING.match(name):
        return None
    return clean_value(name)


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


def _rows_by_shape(layout: Layout) -> list[dict[str, str | None]]:
    """The task rows of a table whose header is in words never seen, read by the form's order of columns (003
    附件3: 工作任务 | 操作规范 | 相关知识 | 考核比重): the weights that make a whole, the first two prose columns
    before them as 操作规范 and 相关知识, the column before those as the task. Anything less regular is not read
    (the table is then not located, and a clerk reads it)."""
    shape = weighted_task_rows(layout)
    if shape is None:
        return []
    table, rows, weight, prose = shape
    norms, knowledge = prose[0], prose[1]
    task = norms - 1
    if not (task >= 0 and knowledge == norms + 1 and weight > knowledge):
        return []
    found: list[dict[str, str | None]] = []
    for row in rows:
        cells = {name: table.at(row, col) for name, col in
                 (("task", task), ("norms", norms), ("knowledge", knowledge), ("weight", weight))}  # fmt: skip
        found.append({name: clean_value(cell.text) if cell is not None else None for name, cell in cells.items()})
    return found


def extract_special_content(layout: Layout) -> dict[str, Any]:
    """The contract's ``special_ability_content`` fields."""
    found = units(layout)
    table = read_rows(layout, _CONTENT_COLUMNS, min_keys=3, stops=_CONTENT_SPEC.row_stops)
    definition_parts = [
        text
        for text in _section(found, _CONTENT_HEADINGS, "definition", ("ability",), _CONTENT_LABELS)
        if not _TYPESETTING.match(text.strip()) and text.strip()
    ]
    rows = table.rows if table.found else _rows_by_shape(layout)
    tasks = [
        {
            "task": row.get("task"),
            "norms": row.get("norms"),
            "knowledge": row.get("knowledge"),
            "weight": parse_weight(row.get("weight")),
        }
        for row in rows
        if any(row.get(name) for name in ("task", "norms", "knowledge"))
    ]
    lines = CONTENT_LINES.values_in_row(found, ("ability_name", "domain"))
    ability_name = lines["ability_name"]
    return {
        # The 能力名称 names the project where the title does not ("主要考核内容" alone).
        "project": _project(found) or ability_name,
        "definition": clean_value("\n".join(definition_parts)),
        "ability_name": ability_name,
        "domain": lines["domain"],
        "tasks": tasks,
    }
