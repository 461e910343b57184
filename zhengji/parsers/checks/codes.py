"""Occupation and domain codes of the 《中华人民共和国职业分类大典（2022年版）》.

An occupation (职业) is ``大类-中类-小类-细类``: one digit 1–8, then three two-digit groups (``4-04-05-05``).
A 小类 (the 所属领域 of a 专项职业能力 project) stops after the third group (``4-04-05``). The catalog of
沪人社职〔2025〕76号 附件2 also lists 专项职业能力 items coded ``4-04-05-Z1`` and catch-all rows ``6-12-03-00``;
both are accepted.
"""

from __future__ import annotations

import re
import unicodedata

# Every dash applicants type between the groups: ASCII, full-width, em and en dashes, hyphens, minus signs, and
# the numeral "一" or the katakana "ー" an input method puts there.
_BETWEEN_GROUPS = re.compile(r"(?<=[0-9A-Za-z])\s*[-－—–‐‑‒―−﹣ー一]+\s*(?=[0-9A-Za-z])")
OCCUPATION = re.compile(r"[1-8]-\d{2}-\d{2}-(?:\d{2}|Z\d{0,2})")
DOMAIN = re.compile(r"[1-8]-\d{2}-\d{2}")


def normalise(text: str) -> str:
    """Full-width digits and any dash become ASCII; spaces go; a ``z`` becomes ``Z``."""
    folded = _BETWEEN_GROUPS.sub("-", unicodedata.normalize("NFKC", text))
    return "".join(folded.split()).upper()


def is_occupation_code(text: str) -> bool:
    """True for a 细类 (occupation) code such as ``4-04-05-05`` or a catalog item such as ``4-04-05-Z1``."""
    return OCCUPATION.fullmatch(normalise(text)) is not None


def is_domain_code(text: str) -> bool:
    """True for a 小类 code such as ``4-04-05``."""
    return DOMAIN.fullmatch(normalise(text)) is not None
