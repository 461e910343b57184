"""The paragraph of 76号 附件3 marked "（此段请勿更改）" must keep its printed words (``altered_text``).

The extractor compares the letter's paragraph with the notice's and sets ``altered_fixed_paragraph``.
"""

from __future__ import annotations

from zhengji.parsers.checks.context import CheckContext
from zhengji.parsers.checks.rules.base import Rule
from zhengji.parsers.checks.view import FieldView
from zhengji.parsers.model import Finding

FIXED_PARAGRAPH = (
    "我单位将结合产业发展需求，负责所辖领域技能评价工作的组织推动、行业指导，配合各级人社部门开展质量督导工作。"
)


class FixedParagraph(Rule):
    name = "fixed_paragraph"
    code = "altered_text"
    message = "推荐函中注明“此段请勿更改”的段落与通知附件3的原文不一致，请恢复为原文“{text}”后重新发送。"

    def check(self, doc: FieldView, ctx: CheckContext) -> list[Finding]:
        if doc.get("altered_fixed_paragraph") is True:
            return [self.finding(doc, ctx, "altered_fixed_paragraph", text=FIXED_PARAGRAPH)]
        return []
