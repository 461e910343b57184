"""Telephone numbers of mainland China as applicants write them in a form's 联系电话 cell.

Sources: the numbering plan of the Ministry of Industry and Information Technology (《电信网编号计划》):
mobile numbers are 11 digits starting 13–19; fixed lines are an area code (010, 02x, or a four-digit 0xxx)
and a 7–8 digit subscriber number that does not start with 0 or 1; 400 and 800 service numbers have 10 digits.
The country code may come first (+86, 0086, 86), the area code then loses its 0 or keeps it.

One cell may hold several numbers ("021-64281234、13812345678"); each must be a number. A label before a
number ("手机：") and a note in brackets after it ("（办）") are not part of the number and are ignored.
Choice (the brief): a fixed line without its area code is not accepted — the centre calls from Shanghai and
Guangzhou, and a number that only works in one city is a number the applicant should complete.
"""

from __future__ import annotations

import re
import unicodedata

# Separators between several numbers in one cell; whitespace is tried only when a part is not a number as a whole.
_LIST_SEPARATORS = re.compile(r"[、,，;；/／]|或|及")
_LABEL = re.compile(r"^[\u4e00-\u9fffA-Za-z.]*\s*[:：]\s*|^[\u4e00-\u9fff]+\s*")
_NOTE = re.compile(r"\s*\([^()\d]*\)\s*$")
_DASHES = re.compile(r"[‐‑‒–—―−﹣]")

_MOBILE = re.compile(r"(?:\+86|0086|86)?1[3-9]\d{9}")
_SERVICE = re.compile(r"(?:400|800)\d{7}")
_AREA = r"(?:10|2\d|[3-9]\d{2})"
_FIXED = re.compile(
    r"(?:(?:\+|00)?86[ -]?\(?0?" + _AREA + r"\)?|\(?0" + _AREA + r"\)?)"
    r"[ -]?[2-9]\d{2,3}[ -]?\d{4}"
    r"(?:[ -]*(?:转|ext\.?|x|分机|-)[ -]*\d{1,6})?",
    re.IGNORECASE,
)
_EXTENSION = re.compile(r"[ -]*(?:转|ext\.?|x|分机)[ -]*\d{1,6}$", re.IGNORECASE)


def _normalise(text: str) -> str:
    folded = _DASHES.sub("-", unicodedata.normalize("NFKC", text)).strip()
    folded = _LABEL.sub("", folded)
    folded = _NOTE.sub("", folded)
    # A dash with spaces around it ("0755 - 86528888", or a line wrapped after the dash in a PDF) is one dash.
    folded = re.sub(r"\s*-\s*", "-", folded)
    return " ".join(folded.split())


def is_phone(text: str) -> bool:
    """True when ``text`` is one mobile, fixed-line or 400/800 number (with its optional extension)."""
    number = _normalise(text)
    if not number:
        return False
    compact = re.sub(r"[ ()-]", "", number)
    if _MOBILE.fullmatch(compact):
        return True
    if _FIXED.fullmatch(number):
        return True
    return _SERVICE.fullmatch(re.sub(r"[ ()-]", "", _EXTENSION.sub("", number))) is not None


def split_numbers(text: str) -> list[str]:
    """The numbers one cell holds, in order; a part that is not one number is split at whitespace if that helps."""
    parts: list[str] = []
    for part in _LIST_SEPARATORS.split(text):
        part = part.strip()
        if not part:
            continue
        pieces = part.split()
        if not is_phone(part) and len(pieces) > 1 and all(is_phone(piece) for piece in pieces):
            parts.extend(pieces)
        else:
            parts.append(part)
    return parts


def invalid_numbers(text: str) -> list[str]:
    """The parts of a cell that are not telephone numbers; an empty list means the cell is fine."""
    parts = split_numbers(text)
    if not parts:
        return [text.strip()] if text.strip() else []
    return [part for part in parts if not is_phone(part)]
