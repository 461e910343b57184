"""Dates as people write them on a form's 填写时间 / 年 月 日 line.

Accepted: ``2025-03-20``, ``2025/3/20``, ``2025.3.20``, ``2025年3月20日`` (with or without spaces, 日 or 号 or
nothing at the end), ``二〇二五年三月二十日`` (also with 零 or ○ for zero), ``20250320``, and any of these in
full-width digits. Anything else, or a day the calendar does not have, is not a date. A template left as it
was printed ("年 月 日", "____年__月__日") is blank, not a bad date: the required-field check reports it.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

_NUMERIC = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_DIGITS = "〇一二三四五六七八九"
_ZEROS = str.maketrans({"零": "〇", "○": "〇", "О": "〇", "o": "〇", "O": "〇", "Ｏ": "〇", "0": "〇"})
_CHINESE = re.compile(
    r"([〇一二三四五六七八九]{4})\s*年\s*([一二三四五六七八九十]{1,3})\s*月\s*([一二三四五六七八九十]{1,3})\s*[日号]?"
)
_TEMPLATE = re.compile(r"[\s_＿年月日号.\-/]*")
_EARLIEST, _LATEST = 1900, 2100


def _chinese_number(text: str) -> int | None:
    """一 … 三十一: the numbers a month or a day can be, written in Chinese numerals."""
    if "十" not in text:
        return _DIGITS.index(text) if len(text) == 1 else None
    tens, _, units = text.partition("十")
    if len(tens) > 1 or len(units) > 1:
        return None
    return (_DIGITS.index(tens) if tens else 1) * 10 + (_DIGITS.index(units) if units else 0)


def _make(year: int, month: int, day: int) -> date | None:
    if not _EARLIEST <= year <= _LATEST:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def is_blank_template(text: str | None) -> bool:
    """True for nothing at all, or the printed "年 月 日" with nothing filled in."""
    return not text or _TEMPLATE.fullmatch(unicodedata.normalize("NFKC", text)) is not None


def parse_date(value: str | date | None) -> date | None:
    """The date ``value`` names, or ``None`` when it names none (blank, incomplete, impossible)."""
    if value is None:
        return None
    if isinstance(value, date):
        return value
    text = unicodedata.normalize("NFKC", value).strip()
    for pattern in (_NUMERIC, _COMPACT):
        match = pattern.fullmatch(text)
        if match:
            return _make(*(int(group) for group in match.groups()))
    match = _CHINESE.fullmatch(text.translate(_ZEROS))
    if match:
        year = int("".join(str(_DIGITS.index(char)) for char in match.group(1)))
        month, day = _chinese_number(match.group(2)), _chinese_number(match.group(3))
        if month is not None and day is not None:
            return _make(year, month, day)
    return None
