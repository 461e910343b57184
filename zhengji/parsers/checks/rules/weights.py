"""考核比重 of a 主要考核内容 (140号 附件3): every task's weight is a percentage and together they make 100%.

Choice (the notice gives only its sample 40% + 20% + 40%): a total within 0.5 of 100 passes, so that thirds
written as 33.3 / 33.3 / 33.4 or 33.33 × 3 are accepted; a weight of 0 or less, or text that is no number, is
itself a ``bad_weights``. A missing weight is a ``missing_field`` of the required-rows rule, and the total is
then not judged (it could only repeat that finding).
"""

from __future__ import annotations

import re
from typing import Any

from zhengji.parsers.checks.context import CheckContext
from zhengji.parsers.checks.rules.base import Rule
from zhengji.parsers.checks.view import FieldView, is_blank
from zhengji.parsers.model import Finding

TOLERANCE = 0.5
_PERCENT = re.compile(r"\s*(\d+(?:\.\d+)?)\s*[%％]?\s*")


def percent(value: Any) -> float | None:
    """A weight as a number of percent: ``40``, ``40.0``, ``"40%"``; ``None`` when it is none."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        match = _PERCENT.fullmatch(value)
        return float(match.group(1)) if match else None
    return None


def _show(number: float) -> str:
    return f"{number:g}"


class Weights(Rule):
    name = "weights"
    code = "bad_weights"
    message = "各项工作任务的“考核比重”合计为 {total}%，应为 100%，请调整后重新发送。"
    value_message = "{where}“{value}”不是有效的百分比，请填写大于 0 的数值（如“40%”）。"

    def check(self, doc: FieldView, ctx: CheckContext) -> list[Finding]:
        rows = doc.rows("tasks")
        if not rows:
            return []
        findings = []
        total = 0.0
        complete = True
        for number, row in enumerate(rows, start=1):
            value = row.get("weight")
            if is_blank(value):
                complete = False
                continue
            weight = percent(value)
            if weight is None or weight <= 0:
                complete = False
                findings.append(
                    self.finding(
                        doc,
                        ctx,
                        "weight",
                        list_key="tasks",
                        row=number,
                        message=self.value_message,
                        value=str(value).strip(),
                    )
                )
                continue
            total += weight
        if complete and abs(total - 100) > TOLERANCE:
            findings.append(self.finding(doc, ctx, "tasks", total=_show(round(total, 2))))
        return findings
