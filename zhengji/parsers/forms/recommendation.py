"""社会化职业技能等级认定职业（工种）推荐表 (001 附件, 004 附件1).

The 2024 header says "国家职业技能标准名称/版本", the 2025 one "国家职业标准名称/版本"; both read into the same
keys. The fill date has no label: it is the "年 月 日" line under the table, so it is the first date outside
the table's rows.
"""

from __future__ import annotations

from typing import Any

from zhengji.parsers.forms.classify import (
    first_date,
    label_value,
    parse_count,
    read_rows,
    seq_value,
    split_list,
    units,
    yes_no,
)
from zhengji.parsers.forms.text import clean_value
from zhengji.parsers.model import Layout

__all__ = ["extract_recommendation"]

COLUMNS: dict[str, tuple[str, ...]] = {
    "seq": ("序号",),
    "code": ("职业编码", "职业代码", "编码"),
    "occupation": ("职业", "职业名称"),
    "work_type": ("工种", "工种名称"),
    "standard_name": ("国家职业技能标准名称", "国家职业标准名称", "标准名称"),
    "standard_version": ("国家职业技能标准版本", "国家职业标准版本", "标准版本", "版本号", "版本"),
    "shortage_listed": ("是否已纳入急需紧缺职业目录", "是否纳入急需紧缺职业目录", "急需紧缺职业目录", "急需紧缺"),
    "industries": ("产业类别", "产业标签"),
    "estimated_count": ("预计评价人次", "预计评价人数", "预计评价"),
    "reason": ("推荐理由",),
}
_STOPS = ("联系人", "联系方式", "推荐单位", "填表说明", "备注", "抄送")
_RECOMMENDER = ("推荐单位(加盖公章)", "推荐单位(盖章)", "推荐单位")
_LABELS = (*_RECOMMENDER, "联系人", "联系方式", "联系电话")


def _row(row: dict[str, str | None]) -> dict[str, Any]:
    return {
        "seq": seq_value(row.get("seq")),
        # A code has no spaces; a PDF's text layer puts some where the cell wrapped ("4-04- 05-05").
        "code": clean_value("".join((row.get("code") or "").split())),
        "occupation": row.get("occupation"),
        "work_type": row.get("work_type"),
        "standard_name": row.get("standard_name"),
        "standard_version": row.get("standard_version"),
        "shortage_listed": yes_no(row.get("shortage_listed")),
        "industries": split_list(row.get("industries")),
        "estimated_count": parse_count(row.get("estimated_count")),
        "reason": row.get("reason"),
    }


def extract_recommendation(layout: Layout) -> dict[str, Any]:
    """The contract's ``skill_level_recommendation`` fields."""
    table = read_rows(layout, COLUMNS, min_keys=3, stops=_STOPS)
    free = [unit for unit in units(layout) if not table.uses(unit)]
    fill_date = first_date(free)
    return {
        "recommender": label_value(free, _RECOMMENDER, _LABELS),
        "contact_person": label_value(free, ("联系人",), _LABELS),
        "contact_phone": label_value(free, ("联系方式", "联系电话"), _LABELS),
        "fill_date": fill_date,
        "rows": [_row(row) for row in table.rows],
    }
