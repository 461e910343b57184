"""新职业类别 / 申报类别 of a 建议书: exactly one box ticked (``unchecked_category``).

The extractor writes ``category: null`` when it cannot tell the category and, when it could count the boxes,
``category_ticks`` (the number of ticked boxes). 0 or more than 1 is ``unchecked_category``; a blank category
with no count is a ``missing_field`` (the required-field rule reports it, not this one).
"""

from __future__ import annotations

from zhengji.parsers.checks.context import CheckContext
from zhengji.parsers.checks.rules.base import Rule
from zhengji.parsers.checks.view import FieldView
from zhengji.parsers.model import Finding

CATEGORIES = frozenset({"new_occupation", "new_work_type", "adjustment"})


def ticks(doc: FieldView) -> int | None:
    value = doc.get("category_ticks")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def unclear(doc: FieldView) -> bool:
    """True when the category finding is this rule's, so that the required-field rule stays silent."""
    count = ticks(doc)
    return (count is not None and count != 1) or (not doc.blank("category") and doc.get("category") not in CATEGORIES)


class CategoryTicked(Rule):
    name = "category_ticked"
    code = "unchecked_category"
    message = "{label}未勾选，请在相应选项前的括号内画“√”后重新发送。"
    several_message = "{label}勾选了 {count} 项，只能选择一项，请更正后重新发送。"
    unknown_message = "{label}“{value}”不是表中的选项，请在相应选项前的括号内画“√”后重新发送。"

    def check(self, doc: FieldView, ctx: CheckContext) -> list[Finding]:
        count = ticks(doc)
        if count is not None and count > 1:
            return [self.finding(doc, ctx, "category", message=self.several_message, count=count)]
        if count == 0:
            return [self.finding(doc, ctx, "category")]
        if not doc.blank("category") and doc.get("category") not in CATEGORIES:
            return [self.finding(doc, ctx, "category", message=self.unknown_message, value=doc.get("category"))]
        return []


class RequiredCategory(Rule):
    """The required-field rule for ``category``, silent when :class:`CategoryTicked` has spoken."""

    name = "required_category"
    code = "missing_field"
    message = "缺少{label}，请在相应选项前的括号内画“√”后重新发送。"

    def check(self, doc: FieldView, ctx: CheckContext) -> list[Finding]:
        if doc.blank("category") and not unclear(doc):
            return [self.finding(doc, ctx, "category")]
        return []
