"""Checks: a parsed document's fields against the rules of its notice, as contract findings.

Public entry: :func:`check_document`. Validators (``credit_code``, ``phones``, ``emails``, ``dates``,
``lengths``, ``codes``, ``industry``) are pure functions other parts may reuse; ``rules`` holds one module per
family of checks and ``table.RULES_BY_FORM`` says which rules each form gets.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zhengji.notices.registry import FormId
from zhengji.parsers.checks.context import CheckContext
from zhengji.parsers.checks.table import RULES_BY_FORM
from zhengji.parsers.checks.view import FieldView
from zhengji.parsers.model import Finding

__all__ = ["RULES_BY_FORM", "CheckContext", "FieldView", "check_document"]


def check_document(
    form: FormId | str, fields: Mapping[str, Any], ctx: CheckContext, file: str | None = None
) -> list[Finding]:
    """Every finding the rules of ``form`` make on ``fields``, in the table's order, each carrying ``file``."""
    form = FormId(form)
    doc = FieldView(form, fields)
    findings = [finding for rule in RULES_BY_FORM.get(form, []) for finding in rule.check(doc, ctx)]
    if file is not None:
        findings = [finding.model_copy(update={"file": file}) for finding in findings]
    return findings
