"""Occupation codes (推荐表 职业编码) and domain codes (专项 汇总表 所属领域代码) of the 《大典》 (``bad_code``)."""

from __future__ import annotations

from zhengji.parsers.checks import codes
from zhengji.parsers.checks.context import CheckContext
from zhengji.parsers.checks.rules.base import Rule
from zhengji.parsers.checks.view import FieldView, is_blank
from zhengji.parsers.model import Finding


class OccupationCodes(Rule):
    name = "occupation_codes"
    code = "bad_code"
    message = "{of}{name}“{value}”格式有误，应为“4-04-05-05”形式的《大典》编码。"

    def __init__(self, key: str = "rows", column: str = "code") -> None:
        self.key = key
        self.column = column

    def valid(self, text: str) -> bool:
        return codes.is_occupation_code(text)

    def check(self, doc: FieldView, ctx: CheckContext) -> list[Finding]:
        findings = []
        for number, row in enumerate(doc.rows(self.key), start=1):
            value = row.get(self.column)
            if not is_blank(value) and not self.valid(str(value)):
                findings.append(
                    self.finding(doc, ctx, self.column, list_key=self.key, row=number, value=str(value).strip())
                )
        return findings


class DomainCodes(OccupationCodes):
    """所属领域 "应填写到小类" (140号 附件1 填表说明 2): the code of a 小类, ``4-04-05``."""

    name = "domain_codes"
    message = "{of}{name}“{value}”格式有误，应为“4-04-05”形式的《大典》小类编码。"

    def __init__(self, key: str = "rows", column: str = "domain_code") -> None:
        super().__init__(key, column)

    def valid(self, text: str) -> bool:
        return codes.is_domain_code(text)
