"""Untrusted text made safe to print on one line of a reply, a mail header or a staff page.

A sender controls the From display name, the Subject, attachment names and the names inside archives. Left
as they are, a CR/LF in them breaks a mail header (the reply is refused by the mail library and never sent)
or starts a line of its own in a reply body (a member named "b\\r\\n【审核结果】材料齐全…" prints a false
verdict line), and a bidirectional override makes "exe.docx" look like "xcod.exe". Every such value passes
through :func:`clean_line` before anyone reads it.
"""

from __future__ import annotations

import unicodedata

ELLIPSIS = "…"

# Bidirectional embeddings, overrides and isolates, the implicit marks, and the byte-order mark: invisible,
# and able to reorder what a reader sees.
_INVISIBLE = frozenset(
    [chr(code) for code in range(0x202A, 0x202F)]
    + [chr(code) for code in range(0x2066, 0x206A)]
    + ["\u200e", "\u200f", "\u061c", "\ufeff"]
)
# Categories that end or break a line, or are control characters: Cc (C0, DEL, C1 incl. NEL), Zl, Zp.
_BREAKING = frozenset({"Cc", "Zl", "Zp"})
# How much of an over-long value is looked at: cleaning only ever shortens text, so a prefix a few times the
# limit is enough for any ordinary value, and a 20 MB subject costs no more than a short one.
_WINDOW_FACTOR = 4
_WINDOW_SLACK = 64


def clean_line(text: str | None, limit: int) -> str:
    """``text`` as one printable line of at most ``limit`` characters ("…" marks a cut); ``""`` for None.

    Control characters and line or paragraph separators become a space (a run of them one space), the
    bidirectional controls vanish, and the result is stripped.
    """
    if not text:
        return ""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    window = text[: limit * _WINDOW_FACTOR + _WINDOW_SLACK]
    pieces: list[str] = []
    broke = False
    for char in window:
        if char in _INVISIBLE:
            continue
        if unicodedata.category(char) in _BREAKING:
            broke = True
            continue
        if broke:
            pieces.append(" ")
            broke = False
        pieces.append(char)
    cleaned = "".join(pieces).strip()
    if len(cleaned) <= limit and len(window) == len(text):
        return cleaned
    return cleaned[: limit - 1].rstrip() + ELLIPSIS
