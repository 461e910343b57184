"""The signature or stamp a form asks for (``unsigned``).

The contract counts as signed "a name typed or written on the signature line, a seal picture in or over that
line in the WORD file, or a red round seal on the pages of the PDF copy". The field is the signature line's
value (the extractor puts the picture mark there for a seal image); seal evidence found outside the fields
reaches this rule as ``ctx.signed_elsewhere``. On the 汇总表, 推荐表 and 推荐函 the stamp line holds the
recommending unit's name, so a blank line is reported once, as ``unsigned``, not also as a missing field.
"""

from __future__ import annotations

from zhengji.parsers.checks.context import CheckContext
from zhengji.parsers.checks.rules.base import Rule
from zhengji.parsers.checks.view import FieldView
from zhengji.parsers.model import Finding


class Signed(Rule):
    name = "signed"
    code = "unsigned"
    message = "{label}处没有签字或盖章，请签字或盖章后重新发送。"

    def __init__(self, path: str) -> None:
        self.path = path

    def check(self, doc: FieldView, ctx: CheckContext) -> list[Finding]:
        if ctx.signed_elsewhere or not doc.blank(self.path):
            return []
        return [self.finding(doc, ctx, self.path)]
