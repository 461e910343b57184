"""社会化职业技能等级认定职业（工种）推荐表 (001 附件, 004 附件1).

The 2024 header says "国家职业技能标准名称/版本", the 2025 one "国家职业标准名称/版本"; both read into the same
keys. The fill date has no label: it is the "年 月 日" line under the table, so it is the first date outside
the table's rows.
"""

from __future__ import annotations

from typing import Any

from zhengji.notices.forms import require_spec
from zhengji.notices.registry import FormId
from zhengji.parsers.forms.classify import (
    first_date,
    form_lines,
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

_SPEC = require_spec(FormId.skill_level_recommendation)
COLUMNS = _SPEC.header_aliases()
_STOPS = _SPEC.row_stops
LINES = form_lines(FormId.skill_level_recommendation, ("recommender", "contact_person", "contact_phone"))


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
        "recommender": LINES.value(free, "recommender"),
        "contact_person": LINES.value(free, "contact_person"),
        "contact_phone": LINES.value(free, "contact_phone"),
        "fill_date": fill_date,
        "rows": [_row(row) for row in table.rows],
    }
