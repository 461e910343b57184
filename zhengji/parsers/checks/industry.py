"""产业类别 tags judged against the notice's list (填表说明 5 of the 推荐表, 3 of the 专项 推荐汇总表).

The notices say: choose tags of "“3+6”产业" and "两大民生产业", or for "其他产业：按实填写" write the industry in
your own words, several tags "用“、”隔开". The contract adds that a group label written as a tag ("3+6产业",
"两大民生产业", "其他产业") is a bad tag.

Choice (the notices are silent): besides the notice's separator, ``，`` ``,`` ``；`` ``;`` ``/`` and whitespace also
separate tags — no listed tag contains them, and applicants use them all. A tag written with its group in front
("其他产业：低空经济", "“3+6”产业：集成电路") is judged by what follows the colon.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from zhengji.notices.registry import IndustryTags

_EXTRA_SEPARATORS = "，,；;/／"
_QUOTES = str.maketrans("", "", "“”\"'‘’「」『』")


def _fold(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split()).translate(_QUOTES)


def split_tags(value: str | Iterable[str] | None, separator: str = "、") -> list[str]:
    """The tags of one cell (text) or of one extracted list, in order, blanks dropped."""
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)
    pattern = "[" + re.escape(separator + _EXTRA_SEPARATORS) + r"]|\s+"
    # "其他产业： 低空经济" is one tag: the space after a colon separates nothing.
    texts = [re.sub(r"([:：])\s+", r"\1", str(item)) for item in items]
    return [tag.strip() for text in texts for tag in re.split(pattern, text) if tag.strip()]


@dataclass(frozen=True)
class BadTag:
    """A tag that is not acceptable, whether it is a group label (the usual mistake), and an acceptable example."""

    tag: str
    group_label: bool
    example: str = ""


def _example(head: str, tags: IndustryTags) -> str:
    """A tag of the group ``head`` names (or of the first group), to show what the notice wants instead."""
    for group in tags.groups:
        names = {_fold(group.label)} | {_fold(alias) for alias in group.aliases}
        if head in names and group.tags:
            return group.tags[0]
    return next((group.tags[0] for group in tags.groups if group.tags), "")


def judge(tag: str, tags: IndustryTags) -> BadTag | None:
    """``None`` when ``tag`` is acceptable under ``tags``; otherwise what is wrong with it."""
    labels = {_fold(label) for label in tags.group_labels()}
    listed = {_fold(listed) for listed in tags.listed_tags()}
    free_text = bool(tags.free_text_group)
    folded = _fold(tag)
    head, colon, rest = folded.partition(":")
    if colon:
        if head not in labels:
            return None if free_text else BadTag(tag, group_label=False, example=_example("", tags))
        if not rest:
            return BadTag(tag, group_label=True, example=_example(head, tags))
        if head == _fold(tags.free_text_group):
            return None
        return None if rest in listed else BadTag(tag, group_label=False, example=_example(head, tags))
    if folded in labels:
        return BadTag(tag, group_label=True, example=_example(folded, tags))
    if folded in listed or free_text:
        return None
    return BadTag(tag, group_label=False, example=_example("", tags))


def bad_tags(value: str | Iterable[str] | None, tags: IndustryTags) -> list[BadTag]:
    """The unacceptable tags of one cell, in order."""
    found = (judge(tag, tags) for tag in split_tags(value, tags.separator))
    return [bad for bad in found if bad is not None]
