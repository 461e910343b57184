"""Undo a PDF's line wraps: join the printed lines of a cell or paragraph as the author typed them.

A PDF keeps no paragraphs, only printed lines. Where a line was wrapped by the typesetter the text must run on
(with nothing between CJK characters, with a space between Latin words, with nothing inside a phone number or
an address that was broken mid-token); where the author ended it (a numbered item) the break stays.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["ITEM_START", "Line", "is_cjk", "join_lines", "join_wrapped_lines"]

# Measuring slack (points) when asking whether a word would have fitted at the end of the line above.
_FIT_SLACK = 1.0

# A line that starts a new item keeps its line break: "1." "2、" "（一）" "(3)" "一、" "①".
ITEM_START = re.compile(
    r"^\s*(?:\d+\s*[.．、)）]|[（(]\s*[一二三四五六七八九十\d]+\s*[)）]|[一二三四五六七八九十]+、|[①-⑳])"
)

# Tokens that may be wrapped inside: the run of non-CJK, non-space text at a line's end and at the next one's start.
_TOKEN_END = re.compile(r"[^\s\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]+$")
_TOKEN_START = re.compile(r"[^\s\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]+")
_DASHES = "-‐‑‒–—"
# A phone number, a code (4-04-05-05, X-00-00-00, GB/T 4754—2017's year), a long number or a decimal.
_NUMBERISH = re.compile(r"\+?(?:[A-Za-z]-?)?[\d()]+(?:[-‐‑‒–—/.][\d()]+)*")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.ASCII)
_COMPLETE_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}", re.ASCII)
_URL = re.compile(r"(?:https?://|www\.)[\w\-./?%&=#:~+@]+", re.ASCII)
# Where a line breaker may split an address: after a hyphen, a dot, a slash, an at sign, an underscore or a digit.
_URL_BREAKS = _DASHES + "./@_:=&?#0123456789"


def is_cjk(char: str) -> bool:
    code = ord(char)
    return (
        0x3000 <= code <= 0x303F  # CJK punctuation
        or 0x3400 <= code <= 0x9FFF  # ideographs
        or 0xF900 <= code <= 0xFAFF
        or 0xFF00 <= code <= 0xFFEF  # full-width forms: ，：（）
        or 0x2018 <= code <= 0x201D  # quotation marks used in Chinese text
    )


def join_wrapped_lines(text: str, starts_item: Callable[[str], bool] | None = None) -> str:
    """Undo the line wraps of a PDF: CJK wraps join with nothing, Latin wraps with a space.

    A line that starts a new numbered item ("1." "（一）") keeps its line break: there the break is the
    author's, not the typesetter's. A line written with a trailing space (the PDF kept the space glyph the wrap
    fell on) joins with a space whatever the script. A wrap inside one token — a phone number, a code such as
    4-04-05-05, an e-mail address, a URL — joins with nothing: a narrow cell breaks "0755-86528888" after the
    hyphen, and a space there would make a different number. Spaces inside a line are never touched.
    """
    lines = [Line(line.strip(), spaced=line.strip() != line.lstrip()) for line in text.split("\n")]
    return join_lines(lines, starts_item)


@dataclass
class Line:
    """One printed line of text, with what its geometry says about the break after it.

    ``room`` is the free width left at the line's end and ``lead`` the width of the line's first word, in
    points; without geometry both are 0 and every break counts as a possible wrap.
    """

    text: str
    spaced: bool = False
    room: float = 0.0
    lead: float = 0.0


def join_lines(lines: Sequence[Line], starts_item: Callable[[str], bool] | None) -> str:
    is_item = starts_item or (lambda line: bool(ITEM_START.match(line)))
    kept = [line for line in lines if line.text]
    if not kept:
        return ""
    texts = [line.text for line in kept]
    # Breaks that may fall inside a token: Latin on both sides, no space kept, and the line above was full
    # (a break that left room for the next line's first word was not a wrap inside that word).
    inside_word = [
        not is_item(line.text)
        and not previous.spaced
        and not is_cjk(previous.text[-1])
        and not is_cjk(line.text[0])
        and previous.room < line.lead + _FIT_SLACK
        for previous, line in itertools.pairwise(kept)
    ]
    in_token = _token_breaks(texts, inside_word)
    joined = texts[0]
    for index, (previous, line) in enumerate(itertools.pairwise(kept)):
        if is_item(line.text):
            joined += "\n"
        elif previous.spaced or not (is_cjk(previous.text[-1]) or is_cjk(line.text[0]) or in_token[index]):
            joined += " "
        joined += line.text
    return joined


def _token_breaks(texts: Sequence[str], inside_word: Sequence[bool]) -> list[bool]:
    """For each break between lines, whether it splits one token: a number, a code, an e-mail, a URL.

    A long token may run over several lines ("wangm" "in@yiw" "u-" "tech.cn" in a narrow cell); each break
    is judged on the whole token, read across the neighbouring breaks that may fall inside it too.
    """
    result = []
    for index, candidate in enumerate(inside_word):
        if not candidate:
            result.append(False)
            continue
        piece, start = _run_end(texts[index]), index
        head = piece
        while piece == texts[start] and start > 0 and inside_word[start - 1]:
            start -= 1
            piece = _run_end(texts[start])
            head = piece + head
        piece, end = _run_start(texts[index + 1]), index + 1
        tail = piece
        while piece == texts[end] and end < len(inside_word) and inside_word[end]:
            end += 1
            piece = _run_start(texts[end])
            tail += piece
        result.append(_splits_one_token(head, tail))
    return result


def _run_end(text: str) -> str:
    found = _TOKEN_END.search(text)
    return found.group() if found else ""


def _run_start(text: str) -> str:
    found = _TOKEN_START.match(text)
    return found.group() if found else ""


def _splits_one_token(head: str, tail: str) -> bool:
    """Whether ``head`` and ``tail``, a token's parts before and after a break, are one token with no space.

    A number or code breaks after a digit or a dash. An address breaks after its punctuation, or anywhere
    when it is too long for the cell; a complete address before the break is followed by a new word instead.
    """
    if not head or not tail or not tail[0].isascii() or not tail[0].isalnum():
        return False
    token, last = head + tail, head[-1]
    if (last.isdigit() or last in _DASHES) and tail[0].isdigit() and _NUMBERISH.fullmatch(token):
        return True
    if not (_EMAIL.fullmatch(token) or _URL.fullmatch(token)):
        return False
    return last in _URL_BREAKS or not (_COMPLETE_EMAIL.fullmatch(head) or _URL.fullmatch(head))
