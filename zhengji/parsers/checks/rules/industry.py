"""产业类别 tags of table rows against the notice's tag list (``bad_industry_tag``, a warning)."""

from __future__ import annotations

from zhengji.parsers.checks import industry
from zhengji.parsers.checks.context import CheckContext
from zhengji.parsers.checks.rules.base import Rule
from zhengji.parsers.checks.view import FieldView
from zhengji.parsers.model import Finding


class IndustryTagRule(Rule):
    name = "industry_tags"
    code = "bad_industry_tag"
    severity = "warning"
    message = "{of}{name}“{value}”是产业分组名称，请改填该组中的具体标签（如“{example}”）；其他产业请按实填写产业名称。"
    outside_message = (
        "{of}{name}“{value}”不在该产业分组的标签中，请按填表说明选择标签（如“{example}”），其他产业请按实填写产业名称。"
    )

    def __init__(self, key: str = "rows", column: str = "industries") -> None:
        self.key = key
        self.column = column

    def check(self, doc: FieldView, ctx: CheckContext) -> list[Finding]:
        tags = ctx.industry_tags(doc.form)
        if tags is None:
            return []
        findings = []
        for number, row in enumerate(doc.rows(self.key), start=1):
            for bad in industry.bad_tags(row.get(self.column), tags):
                findings.append(
                    self.finding(
                        doc,
                        ctx,
                        self.column,
                        list_key=self.key,
                        row=number,
                        message=self.message if bad.group_label else self.outside_message,
                        value=bad.tag,
                        example=bad.example,
                    )
                )
        return findings
