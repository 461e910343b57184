"""The shape of a check: a small named object with one finding code and one Chinese message (Mailman's rules).

A rule reads a document's fields through a :class:`FieldView`, never a file, and returns findings in the
contract's shape. Rules that several forms share take their fields as constructor arguments; the table in
``checks.table`` says which rules each form gets and in what order.
"""

from __future__ import annotations

from typing import Any, ClassVar

from zhengji.parsers.checks.context import CheckContext
from zhengji.parsers.checks.labels import label
from zhengji.parsers.checks.view import FieldView, row_field
from zhengji.parsers.model import Finding, Severity


class Rule:
    """One check. ``message`` is a ``str.format`` template; these names are always available:

    ``{label}`` the form's label in quotes (“联系电话”), ``{name}`` the label without quotes, ``{at}`` where the
    field sits ("第 2 行" or "“吸纳从业人员较多的用人单位”第 2 行", empty for a plain field), ``{of}`` the same
    followed by 的 when not empty, ``{where}`` = ``{of}{label}``; a rule adds its own values (``{value}``).
    """

    name: ClassVar[str]
    code: ClassVar[str]
    severity: ClassVar[Severity] = "error"
    message: ClassVar[str]

    def check(self, doc: FieldView, ctx: CheckContext) -> list[Finding]:
        raise NotImplementedError

    def finding(
        self,
        doc: FieldView,
        ctx: CheckContext,
        path: str,
        *,
        list_key: str | None = None,
        row: int | None = None,
        severity: Severity | None = None,
        message: str | None = None,
        limit: int | None = None,
        length: int | None = None,
        **values: Any,
    ) -> Finding:
        """A finding on ``path`` (or on column ``path`` of row ``row`` of ``list_key``) with this rule's message."""
        if list_key is not None:
            name = label(doc.form, f"{list_key}.{path}", ctx.province)
            field = row_field(list_key, path)
            at = f"第 {row} 行" if list_key == "rows" else f"“{label(doc.form, list_key, ctx.province)}”第 {row} 行"
        else:
            name = label(doc.form, path, ctx.province)
            field = path
            at = ""
        of = f"{at}的" if at else ""
        text = (message or self.message).format(
            label=f"“{name}”", name=name, at=at, of=of, where=f"{of}“{name}”", limit=limit, length=length, **values
        )
        return Finding(
            code=self.code,
            severity=severity or self.severity,
            message=text,
            field=field,
            row=row,
            limit=limit,
            length=length,
        )
