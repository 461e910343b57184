"""A document's fields by path, as the contract names them, and as a reviewer sees and corrects them.

A path is the contract's dotted key path (``contact.phone``). A cell of a list adds its 1-based row between the
list and the column (``rows.2.code``, ``tasks.1.content``): row numbers count the rows the checks count (blank
rows skipped, :meth:`FieldView.rows`), so that a finding's ``row`` and a reviewer's correction name one cell.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from zhengji.notices.registry import FormId
from zhengji.parsers.checks.view import is_blank

_CELL = re.compile(r"^(?P<list>[a-z_]+)\.(?P<row>\d+)\.(?P<column>[a-z_]+)$")
_PATH = re.compile(r"^[a-z_]+(?:\.[a-z_]+)?$")


@dataclass(frozen=True)
class Cell:
    """A cell of a list field: list key, 1-based row among the non-blank rows, column key."""

    list_key: str
    row: int
    column: str


def parse_cell(path: str) -> Cell | None:
    match = _CELL.match(path)
    if match is None:
        return None
    return Cell(match["list"], int(match["row"]), match["column"])


def valid_path(path: str) -> bool:
    return bool(_PATH.match(path) or _CELL.match(path))


def finding_path(finding: Mapping[str, Any]) -> str | None:
    """The path a finding points at: ``field``, or the cell of ``row`` (the contract names a ``rows`` cell by its
    column alone, any other list's cell as ``list.column``)."""
    field = finding.get("field")
    row = finding.get("row")
    if not field:
        return None
    if row is None:
        return str(field)
    list_key, _, column = str(field).rpartition(".")
    return f"{list_key or 'rows'}.{row}.{column}"


def _real_rows(value: Any) -> list[int]:
    """Indexes into a list of the rows the checks count (records with more than a printed 序号)."""
    if not isinstance(value, list):
        return []
    return [index for index, row in enumerate(value) if isinstance(row, Mapping) and not is_blank({**row, "seq": None})]


def list_rows(fields: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = fields.get(key)
    return [value[index] for index in _real_rows(value)] if isinstance(value, list) else []


def get_path(fields: Mapping[str, Any], path: str) -> Any:
    cell = parse_cell(path)
    if cell is not None:
        rows = list_rows(fields, cell.list_key)
        if not 1 <= cell.row <= len(rows):
            return None
        return rows[cell.row - 1].get(cell.column)
    value: Any = fields
    for key in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def set_path(fields: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``fields`` with ``path`` set; a cell past the last row adds a row after it."""
    result = copy.deepcopy(fields)
    cell = parse_cell(path)
    if cell is not None:
        table = result.get(cell.list_key)
        if not isinstance(table, list):
            table = []
            result[cell.list_key] = table
        indexes = _real_rows(table)
        if cell.row > len(indexes):  # a row the reading missed: added after the last one
            row: dict[str, Any] = {"seq": len(indexes) + 1} if cell.list_key == "rows" else {}
            table.append(row)
        else:
            row = table[indexes[cell.row - 1]]
        row[cell.column] = value
        return result
    keys = path.split(".")
    target: dict[str, Any] = result
    for key in keys[:-1]:
        nested = target.get(key)
        if not isinstance(nested, dict):
            nested = {}
            target[key] = nested
        target = nested
    target[keys[-1]] = value
    return result


def coerce(form: str, path: str, text: str, current: Any) -> Any:
    """A reviewer's typed text as the contract's type for ``path``: lists split on 、 or commas, yes/no as
    booleans, counts as numbers, blank as None."""
    text = text.strip()
    if not text:
        return None
    column = path.rsplit(".", 1)[-1]
    if isinstance(current, bool) or column in {"city_reviewed", "shortage_listed", "altered_fixed_paragraph"}:
        if text in {"是", "true", "True", "1", "已纳入", "有"}:
            return True
        if text in {"否", "false", "False", "0", "未纳入", "无"}:
            return False
        return text
    if isinstance(current, list) or column in {"alt_names", "industries", "occupations", "regions", "similar_names"}:
        return [part.strip() for part in re.split(r"[、,，;；\n]", text) if part.strip()]
    if column in {"estimated_count", "weight", "seq"} or isinstance(current, int | float):
        number = re.sub(r"[^\d.]", "", text)
        try:
            return int(number) if number.isdigit() else float(number)
        except ValueError:
            return text
    if form == FormId.new_occupation_proposal and path == "category":
        return {"全新职业": "new_occupation", "新职业": "new_occupation", "新工种": "new_work_type"}.get(
            text, "adjustment" if "调整" in text or "变更" in text else text
        )
    return text


CATEGORY_LABELS = {"new_occupation": "新职业", "new_work_type": "新工种", "adjustment": "调整变更"}
PROVINCE_LABELS = {"shanghai": "上海", "guangdong": "广东"}


def show(value: Any, path: str = "") -> str:
    """A value as a reviewer reads it: lists joined with 、, booleans as 是/否, blanks as empty."""
    if is_blank(value):
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    column = path.rsplit(".", 1)[-1]
    if column == "category" and isinstance(value, str):
        return CATEGORY_LABELS.get(value, value)
    if column == "province" and isinstance(value, str):
        return PROVINCE_LABELS.get(value, value)
    if isinstance(value, list):
        if all(not isinstance(item, Mapping) for item in value):
            return "、".join(show(item) for item in value if not is_blank(item))
        return f"{len(value)} 行"
    if isinstance(value, Mapping):
        return "；".join(f"{key}：{show(item)}" for key, item in value.items() if not is_blank(item))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def flatten(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Every leaf of ``fields`` by path, list rows as cells: what a field-by-field diff compares."""
    flat: dict[str, Any] = {}
    for key, value in fields.items():
        if isinstance(value, Mapping):
            for inner, item in value.items():
                flat[f"{key}.{inner}"] = item
        elif isinstance(value, list) and any(isinstance(item, Mapping) for item in value):
            for number, row in enumerate(list_rows(fields, key), 1):
                for column, item in row.items():
                    if column != "seq":
                        flat[f"{key}.{number}.{column}"] = item
        else:
            flat[key] = value
    return {path: value for path, value in flat.items() if not is_blank(value)}
