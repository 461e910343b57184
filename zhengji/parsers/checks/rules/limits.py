"""Length limits printed on a form ("新职业产生背景（400 字以内）", in the form data), counted by ``checks.lengths``."""

from __future__ import annotations

from collections.abc import Mapping

from zhengji.parsers.checks.context import CheckContext
from zhengji.parsers.checks.lengths import count_chars
from zhengji.parsers.checks.rules.base import Rule
from zhengji.parsers.checks.view import FieldView
from zhengji.parsers.model import Finding


class LengthLimits(Rule):
    name = "length_limits"
    code = "too_long"
    message = "{label}超过 {limit} 字（现为 {length} 字），请精简后重新发送。"

    def __init__(self, limits: Mapping[str, int]) -> None:
        self.limits = dict(limits)

    def check(self, doc: FieldView, ctx: CheckContext) -> list[Finding]:
        findings = []
        for path, limit in self.limits.items():
            length = count_chars(doc.text(path))
            if length > limit:
                findings.append(self.finding(doc, ctx, path, limit=limit, length=length))
        return findings
