"""Required fields, required table rows and their required columns (``missing_field``, error).

Which fields are required is the contract's choice ("Rules the contract fixes") for the 建议书 and the brief's
for the other forms; the printed templates are blank, so a value left as printed ("年 月 日") or a placeholder
copied from the notice's sample row ("上海×××有限公司") counts as blank.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from zhengji.notices.forms import form_spec
from zhengji.parsers.checks.context import CheckContext
from zhengji.parsers.checks.dates import is_blank_template
from zhengji.parsers.checks.rules.base import Rule
from zhengji.parsers.checks.view import FieldView, is_blank
from zhengji.parsers.model import Finding

# "上海×××有限公司", "***", "XXX": the marks the notices' samples use for "fill in here".
_PLACEHOLDER = re.compile(r"[×✕＊*]{2,}|(?<![A-Za-z])[xX]{3,}(?![A-Za-z])")
PLACEHOLDER_MESSAGE = "{where}仍是样例中的占位内容“{value}”，请填写实际内容。"


def blank_value(key: str, value: Any) -> bool:
    """Blank, or a date line left as printed."""
    if is_blank(value):
        return True
    return key.endswith("date") and isinstance(value, str) and is_blank_template(value)


def placeholder(value: Any) -> str | None:
    """The value, when it is a sample's placeholder rather than content."""
    if isinstance(value, str) and _PLACEHOLDER.search(value):
        return value.strip()
    return None


def _waived_sections(doc: FieldView, ctx: CheckContext) -> set[str]:
    """The sections this document need not fill: 粤 调整变更 needs none of 三 to 八 (its footnote ②)."""
    spec = form_spec(doc.form)
    if spec is None or doc.get("category") not in ctx.sections_waived_for:
        return set()
    return spec.waivable_sections()


def _section_of(doc: FieldView, path: str) -> str | None:
    spec = form_spec(doc.form)
    return spec.section_of(path) if spec is not None else None


class RequiredFields(Rule):
    """Fields outside any table that must be filled in."""

    name = "required_fields"
    code = "missing_field"
    message = "缺少{label}，请补充填写。"

    def __init__(self, *paths: str) -> None:
        self.paths = paths

    def check(self, doc: FieldView, ctx: CheckContext) -> list[Finding]:
        findings = []
        waived = _waived_sections(doc, ctx)
        for path in self.paths:
            if waived and _section_of(doc, path) in waived:
                continue
            value = doc.get(path)
            if blank_value(path, value):
                findings.append(self.finding(doc, ctx, path))
            elif (text := placeholder(value)) is not None:
                findings.append(self.finding(doc, ctx, path, message=PLACEHOLDER_MESSAGE, value=text))
        return findings


class RequiredRows(Rule):
    """A table that must have at least one row, and the columns every row must fill.

    ``by_province`` replaces ``columns`` where a province prints another table (Guangdong's 汇总表 has ten
    columns, Shanghai's three).
    """

    name = "required_rows"
    code = "missing_field"
    message = "{at}缺少{label}，请补充填写。"
    empty_message = "{label}未填写，请至少填写一行后重新发送。"

    def __init__(
        self, key: str, columns: Sequence[str], *, by_province: Mapping[str, Sequence[str]] | None = None
    ) -> None:
        self.key = key
        self.columns = tuple(columns)
        self.by_province = dict(by_province or {})

    def check(self, doc: FieldView, ctx: CheckContext) -> list[Finding]:
        rows = [row for row in doc.rows(self.key) if not is_blank(row)]
        if not rows:
            return [self.finding(doc, ctx, self.key, message=self.empty_message)]
        columns = self.by_province.get(ctx.province, self.columns)
        findings = []
        for number, row in enumerate(rows, start=1):
            for column in columns:
                value = row.get(column)
                if blank_value(column, value):
                    findings.append(self.finding(doc, ctx, column, list_key=self.key, row=number))
                elif (text := placeholder(value)) is not None:
                    findings.append(
                        self.finding(
                            doc, ctx, column, list_key=self.key, row=number, message=PLACEHOLDER_MESSAGE, value=text
                        )
                    )
        return findings


class RequiredTasks(Rule):
    """主要工作任务 of a 建议书: at least one task with its 内容, and no row with tools but no content."""

    name = "required_tasks"
    code = "missing_field"
    message = "{at}缺少{label}，请补充填写。"
    empty_message = "缺少{label}，请至少填写一项工作任务的内容。"

    def check(self, doc: FieldView, ctx: CheckContext) -> list[Finding]:
        rows = [row for row in doc.rows("tasks") if not is_blank(row)]
        if not any(not is_blank(row.get("content")) for row in rows):
            return [self.finding(doc, ctx, "tasks", message=self.empty_message)]
        return [
            self.finding(doc, ctx, "content", list_key="tasks", row=number)
            for number, row in enumerate(rows, start=1)
            if is_blank(row.get("content"))
        ]
