"""Section headings of the free-text forms (专项 建议书, 主要考核内容), as applicants number and reword them.

The notices print "一、考核项目推荐情况"; applicants type "1.", "（一）", "第一部分" or no numeral, and reword the
heading or add a generic word after it ("…情况说明"). A line is a section's heading when

* the whole line (numbering aside) reads as one of the section's wordings, clearly nearer to it than to the
  form's other sections (:class:`matching.LabelIndex`), so that nothing of the heading is left in the text; or
* it starts with one of the section's wordings as printed, the text after it being the section's first words
  ("一、定义：运用…"); or
* it is numbered with the section's own numeral and shares most of its heading's words in order, as a short line
  ("（一）推荐的考核项目情况" under a form whose 一 is 考核项目推荐情况).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from zhengji.notices.forms import FormSpec
from zhengji.parsers.forms.classify import norm
from zhengji.parsers.forms.lexicon import GENERIC_TAILS, label_key, lcs
from zhengji.parsers.forms.matching import LabelIndex
from zhengji.parsers.forms.wording import GLOSS_PREFIX

__all__ = ["Headings", "numbering"]

_NUMERALS = "一二三四五六七八九十"
_NUMBERED = re.compile(
    rf"^\s*(?:第\s*([{_NUMERALS}\d]{{1,3}})\s*(?:部分|项|节|章)"
    rf"|[(（]\s*([{_NUMERALS}\d]{{1,3}})\s*[)）]"
    rf"|([{_NUMERALS}]{{1,3}})\s*[、.．]"
    r"|(\d{1,2})\s*(?:[、．]|\.(?!\d))"
    # "二 拟推荐考核机构情况": the numeral and a space, as a heading typed without its 、.
    rf"|([{_NUMERALS}]{{1,3}})\s+(?=[\u4e00-\u9fff]))"
    r"\s*[、.．:：]?\s*"
)
# Of the heading's characters, how many a reworded numbered heading keeps in order.
_SHARED = 0.6
# Characters a numbered line shares with its section's heading at least, when nearer to it than to any other.
_MIN_SHARED = 2
# How much longer than its heading a reworded heading line may be.
_LONGER = 8
# More words of a heading glued to its wording ("及内涵"): Chinese characters only, and few.
_GLUED_TAIL = re.compile(r"[\u4e00-\u9fff]{1,5}")


def _number(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    digits = [_NUMERALS.index(char) + 1 for char in text if char in _NUMERALS]
    if not digits:
        return None
    if len(digits) == 1:
        return digits[0]
    # 十一 → 11, 二十 → 20, 二十一 → 21.
    if digits[0] == 10:
        return 10 + (digits[1] if len(digits) > 1 else 0)
    return digits[0] * 10 + (digits[2] if len(digits) > 2 else 0)


def numbering(text: str) -> tuple[int | None, int]:
    """The numeral a heading line starts with ("七、" "7." "（七）" "第七部分" → 7), and where its words begin."""
    match = _NUMBERED.match(norm(text))
    if match is None:
        return None, 0
    written = next(group for group in match.groups() if group)
    return _number(written), match.end()


@dataclass(frozen=True)
class _Section:
    number: int | None
    wordings: tuple[str, ...]


class Headings:
    """The sections of one form: their numerals and wordings, and where each heading line is."""

    def __init__(self, sections: Mapping[str, tuple[str | None, Sequence[str]]]) -> None:
        self.sections = {
            name: _Section(_number(numeral) if numeral else None, tuple(wordings))
            for name, (numeral, wordings) in sections.items()
        }
        self.lexicon = LabelIndex.for_headers({name: section.wordings for name, section in self.sections.items()})

    @classmethod
    def of(cls, spec: FormSpec) -> Headings:
        return cls({section.key: (section.number, section.wordings) for section in spec.sections})

    def rest(self, text: str, name: str) -> str | None:
        """When ``text`` is the heading of section ``name``: what follows the heading in it; else None."""
        section = self.sections[name]
        number, start = numbering(text)
        normed = norm(text)
        line = normed[start:].split("\n", 1)[0]
        head, colon, _after = line.partition(":")
        head_end = start + len(head) + len(colon)
        for wording in section.wordings:
            chars = [re.escape(char) for char in norm(wording) if not char.isspace()]
            match = re.compile(r"\s*" + r"\s*".join(chars) + r"\s*[:：]?").match(normed, start)
            if match:
                tail = label_key(normed[match.end() : start + len(line)])
                # "…推荐情况说明": a generic word after the heading is part of it; so is an English gloss.
                if tail in GENERIC_TAILS or self._glued_tail(normed, match.end(), start + len(line)):
                    return text[start + len(line) :]
                return GLOSS_PREFIX.sub("", text[match.end() :], count=1)
        longest = max(len(label_key(wording)) for wording in section.wordings)
        if len(label_key(head)) > longest + _LONGER:
            return None
        if self.lexicon.field_of(head) == name:
            return text[head_end:]
        if number is None or number != section.number:
            return None
        folded = label_key(head)
        for wording in section.wordings:
            wanted = label_key(wording)
            if lcs(folded, wanted) >= _SHARED * len(wanted):
                return text[head_end:]
        # The section's own numeral on a short line is its place in the form: the line is that section's heading
        # when its words are nearer to that section's than to any other's ("二 拟推荐考核机构情况").
        shared = {
            other: max(lcs(folded, label_key(wording)) for wording in entry.wordings)
            for other, entry in self.sections.items()
        }
        best = max(shared.values())
        if best >= _MIN_SHARED and shared[name] == best and list(shared.values()).count(best) == 1:
            return text[head_end:]
        return None

    @staticmethod
    def _glued_tail(normed: str, end: int, line_end: int) -> bool:
        """Whether the words typed on after a heading's wording, glued to it on its own line, are more of the
        heading ("定义及内涵", "项目情况简介"): a few characters of words, no space, colon, digit or sentence mark
        between, the line ending there. A text typed after a heading is set apart by a colon or a space, or runs
        longer; a heading's own words taken as the section's first line would be an answer the applicant never
        wrote."""
        tail = normed[end:line_end]
        if not tail or normed[end - 1] in ":：" or tail[0].isspace():
            return False
        return _GLUED_TAIL.fullmatch(tail.rstrip()) is not None

    def starts(self, text: str, names: Sequence[str]) -> bool:
        """Whether ``text`` is the heading of one of the sections ``names``."""
        return any(self.rest(text, name) is not None for name in names)
