"""A 推荐表 row against the published catalog of 沪人社职〔2025〕76号 附件2.

Two checks: a code the catalog knows must carry the catalog's occupation name (``bad_code``, "职业编码与职业
名称不一致"); and a row whose occupation (工种) is already in the catalog needs no recommendation (填表说明 8:
"已纳入…目录（见附件2）的无需重复推荐", ``already_listed``, a warning). The contract matches by code, or by name
where no code is given, and only for forms under 76号 and later notices.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

from zhengji.notices.registry import Catalog
from zhengji.parsers.checks import codes
from zhengji.parsers.checks.context import CheckContext
from zhengji.parsers.checks.rules.base import Rule
from zhengji.parsers.checks.view import FieldView, is_blank
from zhengji.parsers.model import Finding


def _fold(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def _text(row: Mapping[str, Any], key: str) -> str | None:
    value = row.get(key)
    return None if is_blank(value) else str(value).strip()


def _disagreement(catalog: Catalog, code: str, occupation: str) -> str | None:
    """The catalog's occupation name for ``code`` when ``occupation`` is not it, else ``None``."""
    entries = catalog.by_code(code)
    if not entries:
        return None
    names = {_fold(entry.occupation) for entry in entries} | {_fold(entry.name) for entry in entries}
    return None if _fold(occupation) in names else entries[0].occupation


class CatalogAgreement(Rule):
    name = "catalog_agreement"
    code = "bad_code"
    message = (
        "{at}的职业编码与职业名称不一致：“{value}”在《大典》中为“{expected}”，表中填写的是“{occupation}”，"
        "请核对后更正。"
    )

    def check(self, doc: FieldView, ctx: CheckContext) -> list[Finding]:
        catalog = ctx.reference_catalog()
        if catalog is None:
            return []
        findings = []
        for number, row in enumerate(doc.rows(), start=1):
            code, occupation = _text(row, "code"), _text(row, "occupation")
            if not code or not occupation or not codes.is_occupation_code(code):
                continue
            expected = _disagreement(catalog, codes.normalise(code), occupation)
            if expected is not None:
                findings.append(
                    self.finding(
                        doc,
                        ctx,
                        "code",
                        list_key="rows",
                        row=number,
                        value=code,
                        expected=expected,
                        occupation=occupation,
                    )
                )
        return findings


class AlreadyListed(Rule):
    name = "already_listed"
    code = "already_listed"
    severity = "warning"
    message = "{at}的“{listed}”已在《{title}》中，无需重复推荐。"

    def check(self, doc: FieldView, ctx: CheckContext) -> list[Finding]:
        found = ctx.listing_catalog()
        if found is None:
            return []
        catalog, title = found
        findings = []
        for number, row in enumerate(doc.rows(), start=1):
            code, occupation, work_type = _text(row, "code"), _text(row, "occupation"), _text(row, "work_type")
            if code:
                # A malformed code or one that names another occupation is a bad_code; guessing would mislead.
                if not codes.is_occupation_code(code):
                    continue
                code = codes.normalise(code)
                if occupation and _disagreement(catalog, code, occupation):
                    continue
            entry = catalog.find(code, occupation, work_type)
            if entry is not None:
                column = "work_type" if work_type else ("code" if code else "occupation")
                findings.append(
                    self.finding(doc, ctx, column, list_key="rows", row=number, listed=entry.name, title=title)
                )
        return findings
