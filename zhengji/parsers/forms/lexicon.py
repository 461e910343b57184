"""Labels compared as a clerk compares them: a reworded label is still the label it most resembles, if clearly.

The table forms (汇总表, 推荐表, 主要考核内容) are retyped with headers and line labels in the applicant's own
words. The accepted wordings of the form data come first, through the one normaliser; beyond them a text is
compared with each wording the way a reader does:

* a bracketed qualifier does not change a label ("联系电话（办公）", "申报类别（单选）");
* a wording with a generic noun after it is that wording ("产业类别信息", "预计评价人次情况");
* a wording with words before it is a kind of that wording, since a Chinese compound ends with its head noun
  ("拟推荐职业编码" is a 职业编码, "拟推荐工种" a 工种, "具体工作任务" a 工作任务);
* a wording with other words after it, a text that is part of a wording ("理由"), words inserted into a
  wording ("所属细分行业"), or a near spelling (rapidfuzz) count for less.

A text is given to a field only when its best score reaches :data:`THRESHOLD` and beats every other field by
:data:`MARGIN`; what stays unclear is left unread, so that the caller reports it as not located, never as blank.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz import fuzz
from rapidfuzz.distance import LCSseq

from zhengji.parsers.forms.matching import label_tails
from zhengji.parsers.forms.wording import normalise
from zhengji.parsers.model import Cell

__all__ = [
    "GENERIC_TAILS",
    "MARGIN",
    "THRESHOLD",
    "Header",
    "Lexicon",
    "best_of",
    "is_stamp_label",
    "label_key",
    "lcs",
    "match_header",
    "similarity",
]

THRESHOLD = 75.0
MARGIN = 5.0
# Nouns that say "this is the label of" without changing it (the one list, in the form data).
GENERIC_TAILS = label_tails()
_BRACKETED = re.compile(r"\([^()]*\)")
# "（盖章）" "（加盖公章）" "（单位盖章）" "（签字）": the label of a line that is signed or stamped.
_STAMP = re.compile(r"\((?:单位|负责人)?(?:加盖)?(?:公章|盖章|签章|签字|印章|盖章或签字|签字或盖章)\)")


def label_key(text: str | None) -> str:
    """The one normaliser's key (marks, numbering, colons, spaces gone; brackets half-width)."""
    return normalise(text)


def is_stamp_label(text: str | None) -> bool:
    """True when a label asks for a stamp or signature ("推荐单位（盖章）", "填表人及联系方式（单位盖章）")."""
    return bool(_STAMP.search(label_key(text)))


def _variants(key: str) -> tuple[str, ...]:
    """The key, without its bracketed qualifiers, and with its brackets unwrapped ("职业(名称)" → "职业名称")."""
    if "(" not in key:
        return (key,)
    removed = _BRACKETED.sub("", key)
    unwrapped = key.replace("(", "").replace(")", "")
    return tuple(dict.fromkeys(variant for variant in (key, removed, unwrapped) if variant))


def lcs(first: str, second: str) -> int:
    """Length of the longest common subsequence of two texts."""
    return int(LCSseq.similarity(first, second))


def _pair(text: str, wording: str) -> float:
    """How much ``text`` reads as ``wording`` (both keys, no brackets to vary), 0–100."""
    if text == wording:
        return 100.0
    if len(wording) >= 2 and wording in text:
        before, _, after = text.partition(wording)
        if not before and after in GENERIC_TAILS:
            return 95.0
        if not after:
            return max(80.0, 90.0 - 2.0 * max(0, len(before) - 2))
        share = 10.0 * len(wording) / len(text)
        return 75.0 + share if not before else 73.0 + share
    if len(text) >= 2 and text in wording:
        return 70.0 + 20.0 * len(text) / len(wording)
    if len(text) < 3 or len(wording) < 3:
        return 0.0
    score = float(fuzz.ratio(text, wording))
    if len(wording) >= 3 and lcs(wording, text) == len(wording):
        # Words inserted into a wording ("所属细分行业", "预计年评价人次").
        score = max(score, 75.0 + 5.0 * len(wording) / len(text))
    return score


@lru_cache(maxsize=65536)
def similarity(text_key: str, wording_key: str) -> float:
    """How much the label ``text_key`` reads as ``wording_key`` (both :func:`label_key` keys), 0–100."""
    if not text_key or not wording_key:
        return 0.0
    best = 0.0
    for number, text in enumerate(_variants(text_key)):
        for other, wording in enumerate(_variants(wording_key)):
            penalty = 0.0 if number == other == 0 else 2.0
            best = max(best, _pair(text, wording) - penalty)
    return best


# How many folded texts a lexicon remembers the field of.
_REMEMBER = 4096


class Lexicon:
    """Fields and their wordings; a text goes to the field it clearly reads as, or to none."""

    def __init__(
        self, groups: Mapping[str, Iterable[str]], threshold: float = THRESHOLD, margin: float = MARGIN
    ) -> None:
        self.groups: dict[str, tuple[str, ...]] = {}
        self.exact: dict[str, str] = {}
        for name, texts in groups.items():
            keys = tuple(dict.fromkeys(key for key in (label_key(text) for text in texts) if key))
            self.groups[name] = keys
            for key in keys:
                self.exact.setdefault(key, name)
        self.characters = {name: frozenset("".join(keys)) for name, keys in self.groups.items()}
        self._remembered: dict[str, str | None] = {}
        self.threshold = threshold
        self.margin = margin

    def scores(self, text: str | None, among: Collection[str] | None = None) -> dict[str, float]:
        """Each field's best score for ``text`` (fields limited to ``among`` when given)."""
        return self.key_scores(label_key(text), among)

    def key_scores(self, key: str, among: Collection[str] | None = None) -> dict[str, float]:
        """:meth:`scores` of a text already folded by :func:`label_key`."""
        if not key:
            return {}
        letters = set(key)
        return {
            # No score reaches the threshold with fewer than two characters in common (or the one of a
            # one-character label): skip the comparisons.
            name: max((similarity(key, wording) for wording in wordings), default=0.0)
            if len(letters & self.characters[name]) >= min(2, len(letters))
            else 0.0
            for name, wordings in self.groups.items()
            if among is None or name in among
        }

    def field_of(self, text: str | None, among: Collection[str] | None = None) -> str | None:
        """The field ``text`` is the label of: an accepted wording, else a clear best (threshold and margin)."""
        return self.key_field(label_key(text), among)

    def key_field(self, key: str, among: Collection[str] | None = None) -> str | None:
        """:meth:`field_of` a text already folded by :func:`label_key` (remembered: the printed labels come back
        in every document)."""
        if not key or len(key) > 40:
            return None
        if among is None:
            if key not in self._remembered:
                if len(self._remembered) >= _REMEMBER:
                    self._remembered.clear()
                self._remembered[key] = self._key_field(key, None)
            return self._remembered[key]
        return self._key_field(key, among)

    def _key_field(self, key: str, among: Collection[str] | None) -> str | None:
        exact = self.exact.get(key)
        if exact is not None and (among is None or exact in among):
            return exact
        return best_of(self.key_scores(key, among), self.threshold, self.margin)


def best_of(scores: Mapping[str, float], threshold: float = THRESHOLD, margin: float = MARGIN) -> str | None:
    """The key with the highest score when it reaches ``threshold`` and beats the runner-up by ``margin``."""
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    if not ranked or ranked[0][1] < threshold:
        return None
    if len(ranked) > 1 and ranked[0][1] - ranked[1][1] < margin:
        return None
    return ranked[0][0]


def weak_similarity(text_key: str, wordings: Sequence[str]) -> int:
    """Characters ``text_key`` shares in order with its closest wording: the last resort between leftovers."""
    return max((lcs(variant, wording) for variant in _variants(text_key) for wording in wordings), default=0)


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
        return self.strong >= min_keys or (self.complete and self.strong >= max(2, min_keys - 1))


@lru_cache(maxsize=64)
def _lexicon(aliases: tuple[tuple[str, tuple[str, ...]], ...]) -> Lexicon:
    return Lexicon(dict(aliases))


def match_header(cells: Sequence[Cell], aliases: Mapping[str, Sequence[str]]) -> Header:
    """Give each header cell the column it reads as, the surest first, each column and cell once.

    A cell whose wording is equally near two columns waits until one of them is taken by a surer cell
    ("国家职业标准" once "国家职业技能标准版本" has taken the version). Cells left over are then read by the
    characters they share with the columns left over, and when exactly one cell and one column remain in a
    table of the form's width, the one is the other: a clerk reads the odd header by elimination.
    """
    lexicon = _lexicon(tuple((name, tuple(names)) for name, names in aliases.items()))
    texts = {cell.col: cell.text for cell in cells if label_key(cell.text)}
    scores = {col: lexicon.scores(text) for col, text in texts.items() if len(label_key(text)) <= _MAX_HEADER}
    header = Header()
    free_fields = set(aliases)
    free_cols = set(scores)
    while True:
        pick: tuple[float, int, str] | None = None
        for col in sorted(free_cols):
            offered = {name: score for name, score in scores[col].items() if name in free_fields}
            name = best_of(offered)
            if name is not None and (pick is None or offered[name] > pick[0]):
                pick = (offered[name], col, name)
        if pick is None:
            break
        score, col, name = pick
        header.columns[name] = col
        header.strong += score >= STRONG
        free_fields.discard(name)
        free_cols.discard(col)
    _by_shared_characters(header, texts, lexicon, free_cols, free_fields)
    if len(free_cols) == 1 and len(free_fields) == 1 and len(texts) == len(aliases):
        header.columns[free_fields.pop()] = free_cols.pop()
    header.complete = bool(texts) and not free_cols and len(scores) == len(texts)
    return header


def _by_shared_characters(
    header: Header, texts: Mapping[int, str], lexicon: Lexicon, free_cols: set[int], free_fields: set[str]
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
