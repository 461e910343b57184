"""Sections 三 to 八 of a 建议书 (从业要求 … 国外相关情况), optional in Shanghai, required in Guangdong.

The contract: blank sections give warnings in Shanghai and errors in Guangdong (its 填写说明 二 "表格各项内容须
如实、完整填写"), except that a Guangdong 调整变更 needs none of them (its footnote ②). The severity and the
waived categories come from the track's ``DocumentRule`` through the context.
"""

from __future__ import annotations

from zhengji.parsers.checks.context import CheckContext
from zhengji.parsers.checks.rules.base import Rule
from zhengji.parsers.checks.view import FieldView, is_blank
from zhengji.parsers.model import Finding

# Fields named one by one (the contract's ``requirements.ethics``) …
SECTION_FIELDS = (
    "requirements.ethics",
    "requirements.education",
    "requirements.special_ability",
    "requirements.physique",
    "requirements.teamwork",
    "requirements.safety",
    "workforce.national_count",
    "workforce.distribution",
    "workforce.supply_demand",
    "workforce.salary",
    "workforce.data_source",
    "laws",
    "foreign.regions",
    "foreign.similar_names",
    "foreign.main_tasks",
    "foreign.requirements",
    "foreign.standards",
    "foreign.training",
)
# … and tables named by their key when blank, by their columns when a row is half filled.
SECTION_LISTS = {
    "employers": ("name", "address", "phone"),
    "schools": ("name", "major", "courses"),
    "training_orgs": ("name", "address", "phone"),
}


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
        findings = [
            self.finding(doc, ctx, path, severity=severity, message=message)
            for path in SECTION_FIELDS
            if doc.blank(path)
        ]
        for key, columns in SECTION_LISTS.items():
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
