"""Table headers and line labels read as a clerk reads them, through the one scorer of :mod:`matching`.

The table forms (汇总表, 推荐表, 主要考核内容) are retyped with headers and line labels in the applicant's own
words. Each header cell is scored against each column's wordings by :class:`matching.LabelIndex` (one score
scale for every form, the header thresholds of the form data); what stays unclear is read by its place in the
row (:mod:`align`) and by elimination, and what is left is unread, so that the caller reports it as not
located, never as blank.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz.distance import LCSseq

from zhengji.parsers.forms.align import gap_pairs, gaps
from zhengji.parsers.forms.matching import LabelIndex, best_of, label_tails, thresholds, variants
from zhengji.parsers.forms.wording import normalise
from zhengji.parsers.model import Cell

__all__ = [
    "GENERIC_TAILS",
    "Header",
    "is_stamp_label",
    "label_key",
    "lcs",
    "match_header",
    "weak_similarity",
    "without_stamp",
]

# Nouns that say "this is the label of" without changing it (the one list, in the form data).
GENERIC_TAILS = label_tails()
# "（盖章）" "（加盖公章）" "（单位盖章）" "（签字）": the label of a line that is signed or stamped.
_STAMP = re.compile(r"\((?:单位|负责人)?(?:加盖)?(?:公章|盖章|签章|签字|印章|盖章或签字|签字或盖章)\)")


def label_key(text: str | None) -> str:
    """The one normaliser's key (marks, numbering, colons, spaces gone; brackets half-width)."""
    return normalise(text)


def is_stamp_label(text: str | None) -> bool:
    """True when a label asks for a stamp or signature ("推荐单位（盖章）", "填表人及联系方式（单位盖章）")."""
    return bool(_STAMP.search(label_key(text)))


def without_stamp(text: str | None) -> str:
    """A label's key without its request for a stamp or signature ("推荐单位意见（签章）" → "推荐单位意见")."""
    return _STAMP.sub("", label_key(text))


def lcs(first: str, second: str) -> int:
    """Length of the longest common subsequence of two texts."""
    return int(LCSseq.similarity(first, second))


def weak_similarity(text_key: str, wordings: Sequence[str]) -> int:
    """Characters ``text_key`` shares in order with its closest wording: the last resort between leftovers."""
    return max((lcs(variant, wording) for variant in variants(text_key) for wording in wordings), default=0)


# A header cell whose score reaches this is a header by itself; below it, only beside other headers.
STRONG = 80.0
_MAX_HEADER = 40


@dataclass
class Header:
    """A row read as a table's header: column key → grid column, and how sure.

    ``strong`` counts the cells that read as a column on their own; ``complete`` says that every non-blank cell
    of the row was given a column (a row of values rarely reads as labels cell by cell).
    """

    columns: dict[str, int] = field(default_factory=dict)
    strong: int = 0
    complete: bool = False

    def is_header(self, min_keys: int) -> bool:
        """Enough columns named on their own; or a row whose every cell was given a column, with one named on its
        own among more than ``min_keys``: a table's width read cell by cell, as a clerk reads a header in words
        never printed ("任务项 | 操作规程 | 所需相关知识 | 占比（%）")."""
        if self.strong >= min_keys:
            return True
        if not self.complete:
            return False
        return self.strong >= max(2, min_keys - 1) or (self.strong >= 1 and len(self.columns) > min_keys)


@lru_cache(maxsize=64)
def _index(aliases: tuple[tuple[str, tuple[str, ...]], ...]) -> LabelIndex:
    return LabelIndex.for_headers(dict(aliases))


def match_header(cells: Sequence[Cell], aliases: Mapping[str, Sequence[str]]) -> Header:
    """Give each header cell the column it reads as, the surest first, each column and cell once.

    A cell whose wording is equally near two columns waits until one of them is taken by a surer cell
    ("国家职业标准" once "国家职业技能标准版本" has taken the version). Cells left over are then read by the
    characters they share with the columns left over, and when exactly one cell and one column remain in a
    table of the form's width, the one is the other: a clerk reads the odd header by elimination.
    """
    lexicon = _index(tuple((name, tuple(names)) for name, names in aliases.items()))
    texts = {cell.col: cell.text for cell in cells if label_key(cell.text)}
    scores = {col: lexicon.scores(text) for col, text in texts.items() if len(label_key(text)) <= _MAX_HEADER}
    header = Header()
    free_fields = set(aliases)
    free_cols = set(scores)
    while True:
        pick: tuple[float, int, str] | None = None
        for col in sorted(free_cols):
            offered = {name: score for name, score in scores[col].items() if name in free_fields}
            name = best_of(offered, lexicon.threshold, lexicon.margin)
            if name is not None and (pick is None or offered[name] > pick[0]):
                pick = (offered[name], col, name)
        if pick is None:
            break
        score, col, name = pick
        header.columns[name] = col
        header.strong += score >= STRONG
        free_fields.discard(name)
        free_cols.discard(col)
    _by_place(header, texts, lexicon, free_cols, free_fields)
    _by_shared_characters(header, texts, lexicon, free_cols, free_fields)
    if len(free_cols) == 1 and len(free_fields) == 1 and len(texts) == len(aliases):
        header.columns[free_fields.pop()] = free_cols.pop()
    header.complete = bool(texts) and not free_cols and len(scores) == len(texts)
    return header


def _by_place(
    header: Header, texts: Mapping[int, str], lexicon: LabelIndex, free_cols: set[int], free_fields: set[str]
) -> None:
    """Leftover cells read as the leftover column of their place in the form's order of columns, when the columns
    read on either side (or the row's ends) agree and the cell shares characters with it, or is the one cell left
    where one column is free ("项次" before 新职业名称: every cell of a header row names a column) (:mod:`align`)."""
    if not header.columns or not free_cols or not free_fields:
        return
    order = list(lexicon.groups)
    cols = sorted(texts)
    anchors = [(cols.index(col), order.index(name)) for name, col in header.columns.items() if col in texts]
    unread = [cols.index(col) for col in sorted(free_cols)]
    free = [order.index(name) for name in order if name in free_fields]
    settings = thresholds()
    for gap in gaps(anchors, unread, free, rows=len(cols), columns=len(order), edges=True):
        pairs = gap_pairs(
            gap,
            lambda row, col: weak_similarity(label_key(texts[cols[row]]), lexicon.groups[order[col]]),
            min_shared=settings.align_min_shared,
            max_gap=settings.align_max_gap,
            alone=True,
        )
        for row, col in pairs:
            header.columns[order[col]] = cols[row]
            free_cols.discard(cols[row])
            free_fields.discard(order[col])


def _by_shared_characters(
    header: Header, texts: Mapping[int, str], lexicon: LabelIndex, free_cols: set[int], free_fields: set[str]
) -> None:
    """Leftover cells to leftover columns when they share at least two characters, and clearly."""
    while free_cols and free_fields:
        pairs = {
            (col, name): weak_similarity(label_key(texts[col]), lexicon.groups[name])
            for col in free_cols
            for name in free_fields
        }
        best = max(pairs.values(), default=0)
        if best < 2:
            return
        winners = [pair for pair, shared in pairs.items() if shared == best]
        if len(winners) != 1:
            return
        col, name = winners[0]
        header.columns[name] = col
        free_cols.discard(col)
        free_fields.discard(name)
