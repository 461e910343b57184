"""Checks: a parsed document's fields against the rules of its notice, as contract findings.

Public entry: :func:`check_document`. Validators (``credit_code``, ``phones``, ``emails``, ``dates``,
``lengths``, ``codes``, ``industry``) are pure functions other parts may reuse; ``rules`` holds one module per
family of checks and ``table.RULES_BY_FORM`` says which rules each form gets.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from functools import cache
from typing import Any

from zhengji.notices.forms import form_spec
from zhengji.notices.registry import FormId
from zhengji.parsers.checks.context import CheckContext
from zhengji.parsers.checks.labels import label
from zhengji.parsers.checks.table import RULES_BY_FORM
from zhengji.parsers.checks.view import FieldView
from zhengji.parsers.forms.matching import MAX_FUZZY, LabelIndex
from zhengji.parsers.forms.wording import normalise
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
    tell the applicant to fill in or sign such a field becomes ``unlocated_field`` for staff instead. A value
    that is itself a label of the form (:func:`misaligned_paths`) says the same of its field, and no finding on
    it reaches the applicant.
    """
    form = FormId(form)
    doc = FieldView(form, fields)
    findings = [finding for rule in RULES_BY_FORM.get(form, []) for finding in rule.check(doc, ctx)]
    misaligned = misaligned_paths(doc)
    if misaligned:
        findings = _misaligned(findings, doc, ctx, misaligned)
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


@cache
def _labels(form: FormId) -> LabelIndex | None:
    """Every label of ``form`` (fields, table columns, row columns, section headings) as one index, by path."""
    spec = form_spec(form)
    if spec is None:
        return None
    wordings: dict[str, tuple[str, ...]] = {}
    for field in spec.fields:
        wordings[field.key] = field.wordings
        for column in field.columns:
            wordings[f"{field.key}.{column.key}"] = column.wordings
    for column in spec.rows:
        wordings[f"rows.{column.key}"] = column.wordings
    for section in spec.sections:
        wordings[f"section:{section.key}"] = section.wordings
    return LabelIndex(wordings)


# A value this short in lines and characters may be a label caught in place of one; longer texts are values.
_MAX_LINES = 4


def misaligned_paths(doc: FieldView) -> set[str]:
    """The text fields whose value is evidence that the reading slipped to a neighbouring label: the value is a
    label of the form ("手机", "电话", "邮箱" read as the phone), or one of its lines is ("张丽\n手机" read as the
    contact person: the value straddles its own label's row and the next). Such a value is no applicant's
    answer: judging it would send the applicant a wrong demand ("“手机”不是有效的电话号码").
    """
    index = _labels(doc.form)
    spec = form_spec(doc.form)
    if index is None or spec is None:
        return set()
    out: set[str] = set()
    for field in spec.fields:
        if field.kind != "text":
            continue
        value = doc.text(field.key)
        if value is None:
            continue
        lines = [line for line in value.splitlines() if normalise(line)]
        if not lines or len(lines) > _MAX_LINES or any(len(normalise(line)) > MAX_FUZZY for line in lines):
            continue
        if any(index.lookup(line) is not None for line in lines):
            out.add(field.key)
    return out


def _misaligned(
    findings: list[Finding], doc: FieldView, ctx: CheckContext, misaligned: Collection[str]
) -> list[Finding]:
    """Every finding on a misaligned field replaced by one ``unlocated_field`` for staff (also where the value
    raised none: staff should look at it all the same)."""
    out = [finding for finding in findings if finding.row is not None or finding.field not in misaligned]
    for path in sorted(misaligned):
        out.append(
            Finding(
                code="unlocated_field",
                severity="warning",
                message=f"系统未能准确识别“{label(doc.form, path, ctx.province)}”一栏的填写内容，请工作人员人工核对。",
                field=path,
            )
        )
    return out
