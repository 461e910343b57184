"""新职业汇总表: the Shanghai table of 000 附件2 and the Guangdong 新职业信息汇总表 of 002 附件2.

Both list proposed occupations under a recommender; Shanghai's has three columns and a 推荐单位意见 row whose
date is the fill date, Guangdong's ten columns (repeating the 建议书's fields) and a 填报时间 line. Which one a
file is follows from its columns, so that a retyped table without a title still reads right.
"""

from __future__ import annotations

import re
from typing import Any

from zhengji.notices.forms import require_spec
from zhengji.notices.registry import FormId
from zhengji.parsers.forms.classify import (
    LineLabels,
    Rows,
    Unit,
    find_date,
    first_date,
    key,
    norm,
    read_rows,
    row_texts,
    seq_value,
    split_list,
    units,
    yes_no,
)
from zhengji.parsers.forms.locate import unlocated_paths
from zhengji.parsers.forms.text import clean_value
from zhengji.parsers.model import PICTURE, Layout

__all__ = ["category_of", "extract_summary"]

_SPEC = require_spec(FormId.new_occupation_summary)
_COLUMNS = _SPEC.header_aliases()
_GUANGDONG_COLUMNS = {
    "category",
    "alt_names",
    "definition",
    "related_occupations",
    "industry",
    "contact",
    "city_reviewed",
}
_STOPS = _SPEC.row_stops


def _printed(name: str, province: str | None = None) -> tuple[str, ...]:
    """A field's label as one province prints it, and its accepted wordings."""
    spec = _SPEC.field(name)
    if spec is None:
        return ()
    return (spec.label_for(province), *spec.accepted)


# The lines above and below the table. Guangdong prints one line for the unit, the person and the phone
# ("填表人及联系方式（单位盖章）"); a separate "填表人：" line is its contact person.
LINES = LineLabels(
    {
        "recommender": _printed("recommender"),
        "filler": _SPEC.wordings_of("recommender_gd"),
        "fill_time": _SPEC.wordings_of("fill_time_gd"),
        "contact_person": (*_printed("contact_person"), *_printed("contact_person", "guangdong")),
        "contact_phone": _SPEC.wordings_of("contact_phone"),
        "opinion": _SPEC.wordings_of("opinion"),
    },
    signature=("recommender", "filler"),
)
STAMP_MARK = re.compile(r"[(（]\s*(?:加盖公章|盖章|公章|签章|签字|盖章或签字)\s*[)）]")
_PHONE = re.compile(r"(?<!\d)(?:1[3-9]\d{9}|0\d{2,3}[-\s]?\d{7,8}(?:-\d{1,6})?|\d{7,8})(?!\d)")
_ORGANISATION = re.compile(r"(局|厅|委|委员会|中心|办公室|协会|学会|公司|集团|大学|学院|学校|研究院|研究所|单位|部)$")
_CITY_IN_TITLE = re.compile(r"新职业(?:信息)?\S{0,4}汇总表\s*[(（]\s*([^()（）]+?)\s*[)）]")


def category_of(text: str | None) -> str | None:
    """The 建议书's category enum from a 申报类别 cell: 新职业 / 新工种 / 调整变更职业（工种）信息."""
    folded = key(text)
    if not folded:
        return None
    if "调整" in folded or "变更" in folded:
        return "adjustment"
    if "新工种" in folded:
        return "new_work_type"
    if "新职业" in folded or "全新职业" in folded:
        return "new_occupation"
    return None


def _shanghai_row(row: dict[str, str | None]) -> dict[str, Any]:
    return {"seq": seq_value(row.get("seq")), "name": row.get("name"), "proposer": row.get("proposer")}


def _guangdong_row(row: dict[str, str | None]) -> dict[str, Any]:
    return {
        "seq": seq_value(row.get("seq")),
        "category": category_of(row.get("category")),
        "name": row.get("name"),
        "alt_names": split_list(row.get("alt_names")),
        "definition": row.get("definition"),
        "related_occupations": row.get("related_occupations"),
        "industry": row.get("industry"),
        "proposer": row.get("proposer"),
        "contact": row.get("contact"),
        "city_reviewed": yes_no(row.get("city_reviewed")),
    }


def _opinion(found: list[Unit]) -> tuple[str | None, str | None]:
    """The 推荐单位意见 row: its text without the date, and the date."""
    for unit in found:
        own = LINES.label_rest(unit, "opinion") if unit.cell is not None else None
        if own is None:
            continue
        text = "\n".join(part for part in (own, row_texts(unit)) if part.strip())
        fill_date, rest = find_date(text)
        # What is left of the printed "（盖章）  年 月 日" line is not part of the opinion.
        rest = STAMP_MARK.sub("", rest.replace(PICTURE, ""))
        rest = re.sub(r"(?m)^[\s年月日]*$", "", rest)
        return clean_value(rest.strip()), fill_date
    return None, None


def _split_filler(value: str | None) -> tuple[str | None, str | None, str | None]:
    """ "广州市人力资源和社会保障局 张三 020-12345678" → (unit, person, phone); any part may be missing."""
    if not value:
        return None, None, None
    text = value
    phones = _PHONE.findall(text)
    for phone in phones:
        text = text.replace(phone, " ")
    text = re.sub(r"(联系人|联系电话|电话|手机|联系方式)\s*[:：]?", " ", text)
    tokens = [token for token in re.split(r"[\s,，;；、/()（）]+", text) if token]
    units_ = [token for token in tokens if _ORGANISATION.search(token)]
    people = [token for token in tokens if token not in units_]
    return (
        clean_value(" ".join(units_)),
        clean_value(" ".join(people)),
        clean_value("、".join(phones)),
    )


def _city_from_title(found: list[Unit]) -> str | None:
    for unit in found[:8]:
        match = _CITY_IN_TITLE.search(norm(unit.text))
        if match:
            city = clean_value(match.group(1))
            if city and "xx" not in city.lower() and "×" not in city:
                return city
    return None


def extract_summary(layout: Layout) -> tuple[dict[str, Any], list[str]]:
    """The contract's ``new_occupation_summary`` fields of a 沪 or 粤 汇总表, and the required fields not located.

    Guangdong's "填表人及联系方式（单位盖章）" line is the label of the unit, the person and the phone together: where
    it stands, a part missing from it is blank, not unlocated.
    """
    found = units(layout)
    table: Rows = read_rows(layout, _COLUMNS, min_keys=2, stops=_STOPS)
    free = [unit for unit in found if not table.uses(unit)]
    fields = _read(found, free, table)
    unlocated = unlocated_paths(_SPEC, layout, fields)
    if fields["province"] == "guangdong" and LINES.located(free, "filler"):
        unlocated = [path for path in unlocated if path not in {"recommender", "contact_person", "contact_phone"}]
    return fields, unlocated


def _read(found: list[Unit], free: list[Unit], table: Rows) -> dict[str, Any]:
    guangdong = (
        bool(_GUANGDONG_COLUMNS & table.header.keys())
        or any(key(unit.text).startswith(("填表人及联系方式", "新职业信息汇总表")) for unit in found)
        or LINES.located(free, "filler")
    )
    if guangdong:
        organisation, person, phone = _split_filler(LINES.value(free, "filler"))
        fill_date, _rest = find_date(LINES.value(free, "fill_time", cut_date=False))
        return {
            "recommender": LINES.value(free, "recommender") or organisation or _city_from_title(found),
            "contact_person": LINES.value(free, "contact_person") or person,
            "contact_phone": LINES.value(free, "contact_phone") or phone,
            # A retyped form may date it on a line of its own under the table instead.
            "fill_date": fill_date or first_date(free),
            "rows": [_guangdong_row(row) for row in table.rows],
            "opinion": _opinion(free)[0],
            "province": "guangdong",
        }
    opinion, fill_date = _opinion(free)
    if fill_date is None:
        fill_date = first_date(free)
    return {
        "recommender": LINES.value(free, "recommender"),
        "contact_person": LINES.value(free, "contact_person"),
        "contact_phone": LINES.value(free, "contact_phone"),
        "fill_date": fill_date,
        "rows": [_shanghai_row(row) for row in table.rows],
        "opinion": opinion,
        "province": "shanghai",
    }
