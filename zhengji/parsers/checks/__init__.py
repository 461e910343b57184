"""Checks: a parsed document's fields against the rules of its notice, as contract findings.

Public entry: :func:`check_document`. Validators (``credit_code``, ``phones``, ``emails``, ``dates``,
``lengths``, ``codes``, ``industry``) are pure functions other parts may reuse; ``rules`` holds one module per
family of checks and ``table.RULES_BY_FORM`` says which rules each form gets.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from zhengji.notices.registry import FormId
from zhengji.parsers.checks.context import CheckContext
from zhengji.parsers.checks.labels import label
from zhengji.parsers.checks.table import RULES_BY_FORM
from zhengji.parsers.checks.view import FieldView
from zhengji.parsers.model import Finding

__all__ = ["RULES_BY_FORM", "CheckContext", "FieldView", "check_document"]


def check_document(
    form: FormId | str,
    fields: Mapping[str, Any],
    ctx: CheckContext,
    file: str | None = None,
    unlocated: Collection[str] = (),
) -> list[Finding]:
    """Every finding the rules of ``form`` make on ``fields``, in the table's order, each carrying ``file``.

    ``unlocated`` names the fields whose label or section the document does not show: a finding that would
    tell the applicant to fill in or sign such a field becomes ``unlocated_field`` for staff instead.
    """
    form = FormId(form)
    doc = FieldView(form, fields)
    findings = [finding for rule in RULES_BY_FORM.get(form, []) for finding in rule.check(doc, ctx)]
    findings = _unlocate(findings, doc, ctx, unlocated) if unlocated else findings
    if file is not None:
        findings = [finding.model_copy(update={"file": file}) for finding in findings]
    return findings


# Findings that say a field is blank (or unsigned, or not ticked): the ones a field zhengji did not find would raise.
_BLANK_CODES = frozenset({"missing_field", "unsigned", "unchecked_category"})


def _on(finding: Finding, unlocated: Collection[str]) -> bool:
    """A blank finding on a field not located, or on a table column whose header was not found (``rows.reason``,
    ``employers.phone``): every row would otherwise be told to fill a column zhengji merely failed to see."""
    if finding.code not in _BLANK_CODES or finding.field is None:
        return False
    if finding.row is None:
        return finding.field in unlocated
    return f"rows.{finding.field}" in unlocated or finding.field in unlocated


def _unlocate(findings: list[Finding], doc: FieldView, ctx: CheckContext, unlocated: Collection[str]) -> list[Finding]:
    """Blank findings on what was not located become one ``unlocated_field`` per field or column, for staff."""
    out: list[Finding] = []
    seen: set[str] = set()
    for finding in findings:
        if not _on(finding, unlocated):
            out.append(finding)
            continue
        assert finding.field is not None
        path = finding.field if finding.field in unlocated else f"rows.{finding.field}"
        if path in seen:
            continue
        seen.add(path)
        out.append(
            Finding(
                code="unlocated_field",
                severity="warning",
                message=f"系统未能在文件中找到“{label(doc.form, path, ctx.province)}”一栏，请工作人员人工核对。",
                field=finding.field,
            )
        )
    return out
