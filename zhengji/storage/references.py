"""Public references such as ``ZJ-2025Q2-7K3M9P``: what an applicant quotes in mail and chat.

The quarter makes a reference readable at a glance; six random characters from an alphabet without look-alikes
(no 0/O, 1/I/L, U) make it unguessable (30⁶ ≈ 7×10⁸ a quarter), so that knowing one reference tells nothing
about another.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from zhengji.clock import shanghai_date

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
PATTERN = re.compile(r"\bZJ-(\d{4})Q([1-4])-([" + ALPHABET + r"]{6})\b", re.IGNORECASE)


def new_reference(received: datetime) -> str:
    day = shanghai_date(received)
    quarter = (day.month - 1) // 3 + 1
    suffix = "".join(secrets.choice(ALPHABET) for _ in range(6))
    return f"ZJ-{day.year}Q{quarter}-{suffix}"


def find_reference(text: str) -> str | None:
    """The first reference in ``text`` (a subject such as "Re: 【ZJ-2025Q2-7K3M9P】…"), normalised to upper case."""
    match = PATTERN.search(text or "")
    return match.group(0).upper() if match else None
