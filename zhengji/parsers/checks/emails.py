"""E-mail addresses as applicants type them in 电子信箱 / 邮箱 cells.

The rule is the practical subset of RFC 5321/5322 that Chinese mail providers accept: an ASCII local part of
letters, digits and ``._%+-`` (no leading, trailing or double dot) and a domain of dotted labels ending in a
top-level domain of letters. Full-width characters (``＠``, ``．``) are folded first; a label ("邮箱：") is ignored.
Several addresses in one cell are separated by 、，,;； or spaces; each must be an address.
"""

from __future__ import annotations

import re
import unicodedata

_SEPARATORS = re.compile(r"[、,，;；/\s]+")
_LABEL = re.compile(r"^[\u4e00-\u9fffA-Za-z-]*\s*[:：]\s*")
_LOCAL = re.compile(r"[A-Za-z0-9._%+-]+")
_LABEL_PART = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_DOMAIN = re.compile(_LABEL_PART + r"(?:\." + _LABEL_PART + r")*\.[A-Za-z]{2,}")


def is_email(text: str) -> bool:
    """True when ``text`` is one e-mail address."""
    address = _LABEL.sub("", unicodedata.normalize("NFKC", text).strip().replace("。", "."))
    local, at, domain = address.rpartition("@")
    if not at or not _LOCAL.fullmatch(local) or not _DOMAIN.fullmatch(domain):
        return False
    return not (local.startswith(".") or local.endswith(".") or ".." in local)


def invalid_addresses(text: str) -> list[str]:
    """The parts of a cell that are not e-mail addresses; an empty list means the cell is fine."""
    folded = _LABEL.sub("", unicodedata.normalize("NFKC", text).strip())
    parts = [part for part in _SEPARATORS.split(folded) if part]
    return [part for part in parts if not is_email(part)]
