"""Length limits printed on a form ("新职业产生背景（400 字以内）"), counted by ``checks.lengths``."""

from __future__ import annotations

from collections.abc import Mapping

from zhengji.parsers.checks.context import CheckContext
from zhengji.parsers.checks.lengths import count_chars
from zhengji.parsers.checks.rules.base import Rule
from zhengji.parsers.checks.view import FieldView
from zhengji.parsers.model import Finding

# 五、职业分析 of both 建议书 (沪人社职〔2025〕77号 附件1, 粤人社函〔2026〕159号 附件1).
ANALYSIS_LIMITS = {
    "analysis.background": 400,
    "analysis.role": 300,
    "analysis.tech_change": 400,
    "analysis.prospects": 200,
}


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
