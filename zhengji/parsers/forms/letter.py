"""关于推荐（申报单位全称）成为评价机构的函 (004 附件3): a letter, not a table.

The applicant is named in the title and again in the body; the occupations in "开展（…）的职业技能等级认定
工作"; the recommender is the 主管部门 that stamps, written at "主管部门（盖章）" or as the sender line above
the date. One paragraph is marked "此段请勿更改": it is compared after folding whitespace and punctuation, so
that a retyped comma or a removed marker is not an alteration but a changed word is.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from zhengji.notices.registry import FormId
from zhengji.parsers.forms.classify import Unit, find_date, form_lines, key, norm, split_list, units
from zhengji.parsers.forms.text import clean_value
from zhengji.parsers.model import PICTURE, Layout

__all__ = ["FIXED_PARAGRAPH", "extract_letter"]

FIXED_PARAGRAPH = (
    "我单位将结合产业发展需求，负责所辖领域技能评价工作的组织推动、行业指导，配合各级人社部门开展质量督导工作。"
)

_TITLE = re.compile(r"关于推荐\s*(.+?)\s*成为评价机构的函")
_BODY = re.compile(r"同意推荐\s*(.+?)\s*成为评价机构")
_OCCUPATIONS = re.compile(r"开展\s*(.+?)\s*的\s*职业技能等级认定")
_PLACEHOLDERS = {"申报单位全称", "职业(工种)", "职业工种", ""}
LINES = form_lines(FormId.evaluator_recommendation_letter, ("recommender",))
_STAMP = LINES.groups["recommender"]
# A label typed before the sender's name on the stamp line ("推荐单位：…", "主管部门（盖章）：…").
_LEADING_LABEL = re.compile(r"^\s*[^\s:：\d]{2,14}\s*[:：]\s*")
_OCCUPATION_SPLIT = re.compile(r"[、，,;；/\n]|(?<=[工员师])和")


def _folded(text: str) -> str:
    """Whitespace and punctuation removed: what "verbatim" means for the fixed paragraph."""
    return "".join(char for char in unicodedata.normalize("NFKC", text) if not char.isspace() and not _is_punct(char))


def _is_punct(char: str) -> bool:
    return unicodedata.category(char)[0] in "PS"


def _unbracket(text: str) -> str:
    """Remove one pair of brackets enclosing the whole text ("（电工、焊工）" → "电工、焊工")."""
    text = text.strip()
    normed = norm(text)
    if len(text) >= 2 and normed[0] == "(" and normed[-1] == ")":
        depth = 0
        for index, char in enumerate(normed):
            depth += {"(": 1, ")": -1}.get(char, 0)
            if depth == 0 and index < len(text) - 1:
                return text
        return text[1:-1].strip()
    return text


def _named(text: str | None) -> str | None:
    if text is None:
        return None
    value = _unbracket(text).strip("“”\"' ")
    return None if key(value) in _PLACEHOLDERS else clean_value(value)


def _group(pattern: re.Pattern[str], text: str) -> str | None:
    """The first group of ``pattern`` matched on the folded text, cut from the text as typed."""
    match = pattern.search(norm(text))
    return text[match.start(1) : match.end(1)] if match else None


def _occupations(body: str) -> list[str]:
    named = _named(_group(_OCCUPATIONS, body))
    if named is None:
        return []
    items = split_list(named, _OCCUPATION_SPLIT)
    cleaned = [re.sub(r"等$", "", item.strip('“”"')) for item in items]
    return [item for item in cleaned if item and key(item) not in _PLACEHOLDERS]


def _closing(lines: list[str]) -> list[str]:
    """The lines after the body ("以上推荐，望予支持。") and before "抄送": the sender, the stamp, the date.

    The background paragraph may hold dates and names of its own ("成立于2016年3月1日"), so the sender and the
    date are looked for here only; a letter without the closing sentence is read whole.
    """
    start, end = 0, len(lines)
    for index, line in enumerate(lines):
        folded = key(line)
        if "望予支持" in folded or "此段请勿更改" in folded or "以上推荐" in folded:
            start = index + 1
        if folded.startswith("抄送"):
            end = min(end, index)
    return lines[start:end]


def _recommender(lines: list[str]) -> str | None:
    """The 主管部门: after the stamp label, else the sender line above or below it."""
    closing = _closing(lines)
    stated = LINES.value([Unit(line) for line in closing], "recommender")
    if stated:
        return _without_stamp(stated)
    for line in closing:
        candidate = _without_stamp(find_date(line)[1])
        if candidate and key(candidate) not in {key(label) for label in _STAMP}:
            return candidate
    return None


def _without_stamp(text: str) -> str | None:
    text = text.replace(PICTURE, "")
    text = _LEADING_LABEL.sub("", text)
    text = re.sub(r"^\s*主管部门\s*", "", text)
    text = re.sub(r"[(（]\s*(?:单位)?(?:加盖)?(?:盖章|公章|章|签章|印章|签字|签名)\s*[)）]", "", text)
    text = text.strip(" :：_\u3000")
    return clean_value(text) if key(text) and key(text) not in {"年月日"} else None


def _fill_date(lines: list[str]) -> str | None:
    """The date under the signature: the last line that is a date (with at most a short sender before it)."""
    for line in reversed(_closing(lines)):
        fill_date, rest = find_date(line)
        if fill_date and len(key(rest)) <= 30:
            return fill_date
    return None


def extract_letter(layout: Layout) -> dict[str, Any]:
    """The contract's ``evaluator_recommendation_letter`` fields."""
    lines = [unit.text for unit in units(layout)]
    text = "\n".join(lines)
    applicant = _named(_group(_TITLE, text)) or _named(_group(_BODY, text))
    return {
        "applicant": applicant,
        "occupations": _occupations(text),
        "recommender": _recommender(lines),
        "fill_date": _fill_date(lines),
        "altered_fixed_paragraph": _folded(FIXED_PARAGRAPH) not in _folded(text),
    }
