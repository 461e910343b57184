"""Undo what a PDF export does to typed values, before any validator sees them.

A PDF keeps printed lines and glyph positions, not what the applicant typed. A real export wraps a long
e-mail address inside a narrow cell ("off" / "ice@fengfei-air.com" reads back as "off ice@…"), letter-spaces
numbers ("0 2 1 - 5 4 7 8 1 2 3 4"), spreads a short name over its cell (分散对齐: "王 敏") and prints soft
hyphens where it broke a word. Each of these, left as read, becomes ``bad_email``, ``bad_phone`` or
``bad_date`` on a form the applicant filled correctly.

Which values are e-mail addresses, phone numbers, dates, 大典 codes or credit codes is not listed here: it is
read from the check rules that validate them (:data:`zhengji.parsers.checks.table.RULES_BY_FORM`), and each
value is judged by the same validator its rule uses. A value of such a kind loses the whitespace inside it
where the validator then accepts it (several values in one cell stay apart: the fewest pieces that each pass
the validator win); a value no joining makes valid is left as read, so a real error is still reported.

Only a PDF's values come here (:func:`zhengji.parsers.document.interpret`): a space inside an e-mail address
in a Word file is what the applicant typed, and stays an error there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from functools import cache
from typing import Any

from zhengji.notices.registry import FormId
from zhengji.parsers.checks import credit_code, dates
from zhengji.parsers.checks.rules.base import Rule
from zhengji.parsers.checks.rules.codes import OccupationCodes
from zhengji.parsers.checks.rules.contact import DateValues, ValueFormat
from zhengji.parsers.checks.rules.credit_code import CreditCodes
from zhengji.parsers.checks.table import RULES_BY_FORM

__all__ = ["normalise_pdf_fields", "typed_values"]

# A value split into more pieces than this at its whitespace is prose, not a number or an address.
_MAX_PIECES = 40
# A value this short, on one line, may have been spread over its cell (分散对齐) by the export.
_SHORT = 40
_CJK = "\u3400-\u9fff\uf900-\ufaff"
# Single CJK characters, every one of them apart: "王 敏", "上 海 翼 舞". "张三 李四" has a gap without a space and
# is two names, so it is left alone.
_SPREAD = re.compile(rf"[{_CJK}](?:[ \u3000]+[{_CJK}])+")
_SPREAD_GAP = re.compile(r"[ \u3000]+")
# A soft hyphen is where the typesetter may break a word; it is never part of what was typed.
_SOFT_HYPHEN = "\u00ad"

Accepts = Callable[[str], bool]
Convert = Callable[[str], Any]


@cache
def typed_values(form: FormId) -> tuple[tuple[str, Accepts, Convert], ...]:
    """The form's values of a typed kind: (target, does the validator accept this text, the value to store).

    A target is a dotted path (``contact.email``) or a list column (``employers[].phone``), as the rules name
    them. Read from the rules table, so that a field a rule starts to validate is normalised too.
    """
    found: list[tuple[str, Accepts, Convert]] = []
    for rule in RULES_BY_FORM.get(form, []):
        found.extend(_targets_of(rule))
    return tuple(found)


def _targets_of(rule: Rule) -> Iterator[tuple[str, Accepts, Convert]]:
    if isinstance(rule, DateValues):
        for target in rule.targets:
            yield target, _accepted_by(rule), _iso_date
    elif isinstance(rule, ValueFormat):
        for target in rule.targets:
            yield target, _accepted_by(rule), str
    elif isinstance(rule, OccupationCodes):
        yield f"{rule.key}[].{rule.column}", rule.valid, str
    elif isinstance(rule, CreditCodes):
        yield f"{rule.key}[].{rule.column}", credit_code.is_valid, str


def _accepted_by(rule: ValueFormat) -> Accepts:
    return lambda text: not rule.wrong(text)


def _iso_date(text: str) -> Any:
    """The contract's ``YYYY-MM-DD`` once the date reads as one (the extractor writes it so for a Word file)."""
    day = dates.parse_date(text)
    return day.isoformat() if day is not None else text


def normalise_pdf_fields(form: FormId, fields: Mapping[str, Any]) -> dict[str, Any]:
    """``fields`` of a PDF as the applicant typed them, as far as the PDF lets one tell."""
    result = _walk(dict(fields), _plain_text)
    for target, accepts, convert in typed_values(form):
        _apply(result, target, _joiner(accepts, convert))
    return result


def _joiner(accepts: Accepts, convert: Convert) -> Callable[[Any], Any]:
    return lambda value: _joined(value, accepts, convert)


def _walk(value: Any, change: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return change(value)
    if isinstance(value, list):
        return [_walk(item, change) for item in value]
    if isinstance(value, dict):
        return {key: _walk(item, change) for key, item in value.items()}
    return value


def _plain_text(text: str) -> str:
    """Soft hyphens go; a short one-line value spread over its cell is closed up."""
    text = text.replace(_SOFT_HYPHEN, "")
    if len(text) > _SHORT or "\n" in text:
        return text
    return _SPREAD.sub(lambda match: _SPREAD_GAP.sub("", match.group()), text)


def _apply(fields: dict[str, Any], target: str, change: Callable[[Any], Any]) -> None:
    """Change the value at ``target`` in place (every row's column for ``list[].column``)."""
    if "[]." in target:
        key, column = target.split("[].", 1)
        rows = _get(fields, key)
        for row in rows if isinstance(rows, list) else []:
            if isinstance(row, dict) and column in row:
                row[column] = change(row[column])
        return
    *parents, last = target.split(".")
    holder: Any = fields
    for key in parents:
        holder = holder.get(key) if isinstance(holder, dict) else None
    if isinstance(holder, dict) and last in holder:
        holder[last] = change(holder[last])


def _get(fields: Mapping[str, Any], path: str) -> Any:
    value: Any = fields
    for key in path.split("."):
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def _joined(value: Any, accepts: Accepts, convert: Convert) -> Any:
    """The value with the whitespace inside each of its items removed, if the validator then accepts it.

    The value's whitespace-separated pieces are grouped into the fewest runs that each pass ``accepts`` when
    written without spaces ("0 2 1 - 5 4 7 8 1 2 3 4" is one number; "021-54781234 13812345678" stays two);
    when no grouping passes, the value is left as read.
    """
    if not isinstance(value, str):
        return value
    pieces = value.split()
    if not pieces or len(pieces) > _MAX_PIECES:
        return value
    groups = _fewest_groups(pieces, accepts)
    if groups is None:
        return value
    return convert(" ".join(groups))


def _fewest_groups(pieces: list[str], accepts: Accepts) -> list[str] | None:
    # best[end] is the fewest accepted runs that cover pieces[:end], with where its last run starts.
    best: list[tuple[int, int] | None] = [(0, 0)] + [None] * len(pieces)
    for end in range(1, len(pieces) + 1):
        for start in range(end):
            before = best[start]
            if before is None or not accepts("".join(pieces[start:end])):
                continue
            current = best[end]
            if current is None or before[0] + 1 < current[0]:
                best[end] = (before[0] + 1, start)
    if best[-1] is None:
        return None
    groups: list[str] = []
    end = len(pieces)
    while end > 0:
        entry = best[end]
        assert entry is not None
        groups.insert(0, "".join(pieces[entry[1] : end]))
        end = entry[1]
    return groups
