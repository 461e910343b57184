"""Read-only access to a parsed document's ``fields`` by the contract's dotted paths."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zhengji.notices.registry import FormId


def is_blank(value: Any) -> bool:
    """Blank as the contract means it: absent, ``null``, whitespace, or a list or record with nothing in it.

    ``False`` and ``0`` are values (是否已纳入急需紧缺职业目录 "否", 0 人), not blanks.
    """
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, Mapping):
        return all(is_blank(item) for item in value.values())
    if isinstance(value, list | tuple):
        return all(is_blank(item) for item in value)
    return False


def row_field(list_key: str, column: str) -> str:
    """The ``field`` of a finding on a list row.

    The contract names a row of a table form's ``rows`` by the column alone (``code``, row 2); a row of any other
    list (the 建议书's ``employers``) keeps its list in the path (``employers.phone``) so that two lists with
    a ``phone`` column stay apart.
    """
    return column if list_key == "rows" else f"{list_key}.{column}"


class FieldView:
    """One document's fields, with the form they belong to."""

    def __init__(self, form: FormId, fields: Mapping[str, Any]) -> None:
        self.form = form
        self.fields = fields

    def get(self, path: str) -> Any:
        """The value at a dotted path (``contact.phone``), ``None`` when any step is missing."""
        value: Any = self.fields
        for key in path.split("."):
            if not isinstance(value, Mapping):
                return None
            value = value.get(key)
        return value

    def blank(self, path: str) -> bool:
        return is_blank(self.get(path))

    def text(self, path: str) -> str | None:
        """The value as trimmed text, ``None`` when blank; lists are joined the way the form shows them."""
        value = self.get(path)
        if is_blank(value):
            return None
        if isinstance(value, list | tuple):
            return "、".join(str(item).strip() for item in value if not is_blank(item))
        return str(value).strip()

    def rows(self, key: str = "rows") -> list[Mapping[str, Any]]:
        """The records of a list field, in the document's order; blank rows and non-records are skipped.

        The contract's lists already drop blank rows; skipping them here too keeps every rule's row numbers equal.
        A row that holds only its printed 序号 (``seq``) is blank: the templates number their empty rows.
        """
        value = self.get(key)
        if not isinstance(value, list | tuple):
            return []
        return [row for row in value if isinstance(row, Mapping) and not is_blank({**row, "seq": None})]
