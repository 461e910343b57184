"""Values that must be a telephone number, an e-mail address or a date (``bad_phone``, ``bad_email``, ``bad_date``).

A target is a dotted path (``contact.phone``) or a list column written ``list[].column`` (``employers[].phone``).
Blank values are left to the required-field rules.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from zhengji.parsers.checks import dates, emails, phones
from zhengji.parsers.checks.context import CheckContext
from zhengji.parsers.checks.rules.base import Rule
from zhengji.parsers.checks.rules.required import blank_value
from zhengji.parsers.checks.view import FieldView
from zhengji.parsers.model import Finding


class ValueFormat(Rule):
    """Shared walk over the targets; a subclass says which parts of a value are wrong."""

    def __init__(self, *targets: str) -> None:
        self.targets = targets

    def wrong(self, value: Any) -> list[str]:
        raise NotImplementedError

    def value_message(self) -> str:
        return self.message

    def _values(self, doc: FieldView) -> Iterator[tuple[str, str | None, int | None, Any]]:
        for target in self.targets:
            if "[]." in target:
                key, column = target.split("[].")
                for number, row in enumerate(doc.rows(key), start=1):
                    yield column, key, number, row.get(column)
            else:
                yield target, None, None, doc.get(target)

    def check(self, doc: FieldView, ctx: CheckContext) -> list[Finding]:
        findings: list[Finding] = []
        for path, key, row, value in self._values(doc):
            if blank_value(path, value):
                continue
            findings.extend(
                self.finding(doc, ctx, path, list_key=key, row=row, message=self.value_message(), value=part)
                for part in self.wrong(value)
            )
        return findings


class PhoneValues(ValueFormat):
    name = "phone_values"
    code = "bad_phone"
    message = "{where}中的“{value}”不是有效的电话号码，请填写手机号码或带区号的固定电话（如“021-12345678”）。"
    email_message = "{where}中的“{value}”不是有效的电话号码或电子邮箱，请填写手机号码、带区号的固定电话或电子邮箱。"

    def __init__(self, *targets: str, email_allowed: bool = False) -> None:
        super().__init__(*targets)
        # 推荐表 prints "联系方式", where an e-mail address is as good a way to reach the contact.
        self.email_allowed = email_allowed

    def value_message(self) -> str:
        return self.email_message if self.email_allowed else self.message

    def wrong(self, value: Any) -> list[str]:
        parts = phones.invalid_numbers(str(value))
        if self.email_allowed:
            parts = [part for part in parts if not emails.is_email(part)]
        return parts


class EmailValues(ValueFormat):
    name = "email_values"
    code = "bad_email"
    message = "{where}中的“{value}”不是有效的电子邮箱地址，请核对后更正。"

    def wrong(self, value: Any) -> list[str]:
        return emails.invalid_addresses(str(value))


class DateValues(ValueFormat):
    """A date field holds ``YYYY-MM-DD`` when the extractor understood it, else the text as written."""

    name = "date_values"
    code = "bad_date"
    message = "{where}填写的“{value}”不是有效的日期，请按“2025年3月20日”的格式填写。"

    def wrong(self, value: Any) -> list[str]:
        return [] if dates.parse_date(value) is not None else [str(value).strip()]
