"""Sections 三 to 八 of a 建议书 (从业要求 … 国外相关情况), optional in Shanghai, required in Guangdong.

The contract: blank sections give warnings in Shanghai and errors in Guangdong (its 填写说明 二 "表格各项内容须
如实、完整填写"), except that a Guangdong 调整变更 needs none of them (its footnote ②). The severity and the
waived categories come from the track's ``DocumentRule`` through the context.
"""

from __future__ import annotations

from zhengji.notices.forms import form_spec
from zhengji.notices.registry import FormId
from zhengji.parsers.checks.context import CheckContext
from zhengji.parsers.checks.rules.base import Rule
from zhengji.parsers.checks.view import FieldView, is_blank
from zhengji.parsers.model import Finding


def _optional_fields(form: FormId) -> tuple[list[str], dict[str, list[str]]]:
    """The optional sections' fields, named one by one (``requirements.ethics``), and their tables with the
    columns a half-filled row is checked for, from the form data."""
    spec = form_spec(form)
    if spec is None:
        return [], {}
    optional = spec.optional_sections()
    fields = [field for field in spec.fields if field.section in optional]
    plain = [field.key for field in fields if field.kind in ("text", "list")]
    tables = {field.key: [column.key for column in field.columns] for field in fields if field.kind == "table"}
    return plain, tables


class OptionalSections(Rule):
    name = "optional_sections"
    code = "missing_field"
    severity = "warning"
    message = "{where}未填写，建议补充完整。"
    error_message = "{at}缺少{label}，请补充填写。"

    def check(self, doc: FieldView, ctx: CheckContext) -> list[Finding]:
        if doc.get("category") in ctx.sections_waived_for:
            return []
        severity = ctx.optional_sections
        message = self.error_message if severity == "error" else self.message
        plain, tables = _optional_fields(doc.form)
        findings = [
            self.finding(doc, ctx, path, severity=severity, message=message) for path in plain if doc.blank(path)
        ]
        for key, columns in tables.items():
            rows = [row for row in doc.rows(key) if not is_blank(row)]
            if not rows:
                findings.append(self.finding(doc, ctx, key, severity=severity, message=message))
                continue
            for number, row in enumerate(rows, start=1):
                findings.extend(
                    self.finding(doc, ctx, column, list_key=key, row=number, severity=severity, message=message)
                    for column in columns
                    if is_blank(row.get(column))
                )
        return findings
