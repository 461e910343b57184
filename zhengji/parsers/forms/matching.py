"""Tolerant label matching: the accepted wordings first, then fuzzy matching with a threshold and a margin.

A clerk reads "新职业的定义", "建议新职业名称" and "新职业定义" as the same labels as the printed ones; a program that
compares exact text tells the applicant to fill in what is already filled. So a text is looked up, in order:

1. among the accepted wordings (the form's data), after :func:`wording.normalise`;
2. the same without a footnote number typed as a plain digit after the label ("所属行业5");
3. loosely, after folding words applicants use interchangeably (``data/forms/_synonyms.toml``: 薪资/薪酬,
   院校/学校 …) and dropping a bracketed qualifier ("特殊能力（技能）"): by edit similarity (rapidfuzz), or as a
   near form — the whole label with a few words added around or inside it ("人际沟通协作", "所属行业类别"),
   or the label with a few characters left out ("行业", "主要任务"). The best field must score at least
   ``threshold`` and beat the runner-up *field* by ``margin``, so that a text halfway between two labels is not
   guessed. Texts longer than any label, or that read as a sentence, are never matched loosely: a value such as
   "发展前景广阔" must not become the label 发展前景.

What the index cannot place is reported by the caller as not located, never as blank.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

from rapidfuzz import fuzz, process

from zhengji.parsers.forms.wording import MARKS_BETWEEN, normalise, without_glued_digits

THRESHOLD = 85.0
MARGIN = 8.0
# Loose matching only for texts of a label's length: longer texts are values, shorter ones too ambiguous.
MIN_FUZZY = 4
MIN_LOOSE = 2
MAX_FUZZY = 40
_NEAR_SCORE = 88.0
# The same label once interchangeable words are folded ("联络人" is 联系人).
_EQUAL_SCORE = 98.0
# A text that holds a whole label in one piece, with a few words around it.
_WHOLE_SCORE = 96.0
# A value reads as a sentence; a label never holds these.
_SENTENCE = re.compile(r"[。，；;！？!?]|\d{3,}")
# A bracketed qualifier a label may carry: "特殊能力（技能）", "全国从业人数（估计）", "新职业名称（中文）".
_QUALIFIER = re.compile(r"\([^()]{1,8}\)")
# A text that is a whole label with a few words before it ("建议新职业名称", "拟申报职业名称") or a generic noun
# after it ("所属行业领域") is a reworded label; other words after a label make a value ("发展前景广阔").
_CONTAINED_EXTRA = 3
_CONTAINED_SCORE = 90.0
_SEPARATORS = (re.compile(r"[:：]"), re.compile(r"\n"))


@dataclass(frozen=True)
class Match:
    """A label found: the field it names, how sure (100 exact), and a value typed after it in the same text."""

    field: str
    score: float
    remainder: str | None = None


class LabelIndex:
    """The wordings of one form's labels (field → wordings), looked up exactly, then fuzzily."""

    def __init__(
        self, wordings: Mapping[str, Iterable[str]], threshold: float = THRESHOLD, margin: float = MARGIN
    ) -> None:
        self.exact: dict[str, str] = {}
        for field, texts in wordings.items():
            for text in texts:
                key = normalise(text)
                if key:
                    self.exact.setdefault(key, field)
        # Loose comparison works on the keys with interchangeable words folded (薪资 → 薪酬).
        loose: dict[str, str] = {}
        for key, field in self.exact.items():
            for variant in (key, *_conjuncts_swapped(key)):
                loose.setdefault(canonical(variant), field)
        self._loose_keys = list(loose)
        self._loose_fields = [loose[key] for key in self._loose_keys]
        self._letters = [frozenset(key) for key in self._loose_keys]
        self.threshold = threshold
        self.margin = margin

    def lookup(self, text: str | None) -> Match | None:
        """The field whose label ``text`` is, as a whole (no value after it)."""
        return self._lookup_key(normalise(text))

    def _lookup_key(self, key: str) -> Match | None:
        if not key:
            return None
        return self._exact_key(key) or self._fuzzy(without_glued_digits(key) or key)

    def _fuzzy(self, key: str) -> Match | None:
        if not MIN_LOOSE <= len(key) <= MAX_FUZZY or _SENTENCE.search(key):
            return None
        found = self._loose(canonical(key))
        if found is None:
            bare = _QUALIFIER.sub("", key)
            if bare != key and len(bare) >= MIN_LOOSE:
                found = self._loose(canonical(bare))
        return found

    def _loose(self, key: str) -> Match | None:
        best: dict[str, tuple[float, str]] = {}

        def note(field: str, score: float, candidate: str) -> None:
            if score > best.get(field, (0.0, ""))[0]:
                best[field] = (score, candidate)

        if len(key) >= MIN_FUZZY:
            for candidate, score, index in process.extract(key, self._loose_keys, scorer=fuzz.ratio, limit=12):
                note(self._loose_fields[index], score, candidate)
        letters = frozenset(key)
        for candidate, field, characters in zip(self._loose_keys, self._loose_fields, self._letters, strict=True):
            # A near form holds all of the label's characters, or all of its own are the label's: skip the rest.
            if not (characters <= letters or letters <= characters):
                continue
            score = _EQUAL_SCORE if key == candidate else _near(key, candidate)
            if score:
                note(field, score, candidate)
        if not best:
            return None
        # On a tie a table's own label beats one of its column headers ("培训机构": the section, not 培训机构名称).
        ranked = sorted(best.items(), key=lambda item: (item[1][0], not item[0].startswith("col:")), reverse=True)
        field, (score, label) = ranked[0]
        # A runner-up whose label lies inside the winner's is the less specific reading ("工作内容" inside
        # "主要工作内容描述" read as 主要工作内容), and a column of the winner's own table is part of it: no rivals.
        rivals = [rival for other, (rival, text) in ranked[1:] if text not in label and _group(other) != _group(field)]
        runner_up = rivals[0] if rivals else 0.0
        if score >= self.threshold and score - runner_up >= self.margin:
            return Match(field, score)
        return None

    def _split(self, text: str, fuzzy: bool) -> Match | None:
        for separator in _SEPARATORS:
            parts = separator.split(text, maxsplit=1)
            if len(parts) == 2:
                key = normalise(parts[0])
                head = self._lookup_key(key) if fuzzy else self._exact_key(key)
                if head is not None:
                    return Match(head.field, head.score, parts[1])
        return None

    def exact_match(self, text: str | None) -> Match | None:
        """The field whose label ``text`` is, exactly (accepted wordings and glued digits only, no fuzziness)."""
        return self._exact_key(normalise(text))

    def _exact_key(self, key: str) -> Match | None:
        field = self.exact.get(key)
        if field is not None:
            return Match(field, 100.0)
        bare = without_glued_digits(key)
        return Match(self.exact[bare], 99.0) if bare is not None and bare in self.exact else None

    def match(self, text: str | None, fuzzy: bool = True) -> Match | None:
        """A label cell or line: the label alone ("新职业定义³"), or a label with its value after a colon or line
        break ("新职业名称：无人机群飞表演编队师"). The colon first: a PDF wraps a narrow label cell, leaving
        "职业(工种)名称\\n③：…" with the mark on line two."""
        if not text or not text.strip():
            return None
        key = normalise(text)
        found = self._exact_key(key) or self._split(text, fuzzy=False)
        if found is None and fuzzy:
            found = self._fuzzy(without_glued_digits(key) or key) or self._split(text, fuzzy=True)
        return found


_CONJUNCTION = re.compile(r"^(.{2,})(与|和|及|或)(.{2,})$")


def _conjuncts_swapped(key: str) -> tuple[str, ...]:
    """ "职业操守与职业道德" also as "职业道德与职业操守": people list the two halves in either order."""
    match = _CONJUNCTION.match(key)
    return (f"{match.group(3)}{match.group(2)}{match.group(1)}",) if match else ()


def _group(field: str) -> str:
    """The table a column header ("col:training_orgs.name") belongs to; a field is its own group."""
    return field[4:].split(".")[0] if field.startswith("col:") else field


def _subsequence(short: str, long: str) -> bool:
    """Whether the characters of ``short`` stand in ``long`` in the same order."""
    chars = iter(long)
    return all(char in chars for char in short)


def _near(key: str, label: str) -> float:
    """A near form of ``label``: the label with at most a few characters added around or inside it, or with a
    few left out. Both are folded (:func:`canonical`) already."""
    if key == label or len(label) < MIN_LOOSE:
        return 0.0
    if len(key) > len(label):
        extra = len(key) - len(label)
        if len(label) < MIN_FUZZY or extra > min(4, len(label)) or not _subsequence(label, key):
            return 0.0
        # Words after a whole label must be a label's own words ("…要求", "…情况"): "发展前景广阔" is a value.
        if key.startswith(label) and key[len(label) :] not in _label_suffixes():
            return 0.0
        # The label in one piece ("从业人员地区分布情况") reads closer than one spread over the text.
        return _WHOLE_SCORE if label in key else _NEAR_SCORE
    missing = len(label) - len(key)
    # Shortened labels of two characters ("地址", "名称") are too common to place.
    shortened = len(key) >= 3 and missing <= max(2, len(label) // 3) and len(key) * 2 >= len(label)
    if shortened and _subsequence(key, label) and (label.startswith(key) or label.endswith(key) or len(key) >= 4):
        # The label short of one character, in one run ("从业人员要求" of 对从业人员要求), reads closer than
        # scattered characters.
        return _WHOLE_SCORE if key in label and missing == 1 else _NEAR_SCORE - 1
    return 0.0


def near_score(key: str, label: str) -> float:
    """How near ``key`` is to ``label`` as a reworded form of it (0 when it is not), both normalised."""
    return _near(canonical(key), canonical(label))


@cache
def label_tails() -> frozenset[str]:
    """Words that may follow a whole label and leave it the same label (``data/forms/_synonyms.toml``)."""
    path = resources.files("zhengji.notices") / "data" / "forms" / "_synonyms.toml"
    return frozenset(tomllib.loads(path.read_text(encoding="utf-8"))["tails"]["words"])


@cache
def _label_suffixes() -> frozenset[str]:
    """The tails, folded as the keys they end are."""
    return frozenset(canonical(suffix) for suffix in label_tails())


@cache
def _synonyms() -> list[tuple[str, str]]:
    """(variant, spelling) pairs of ``data/forms/_synonyms.toml``, longest variant first."""
    path = resources.files("zhengji.notices") / "data" / "forms" / "_synonyms.toml"
    words: dict[str, list[str]] = tomllib.loads(path.read_text(encoding="utf-8"))["words"]
    pairs = [(normalise(variant).lower(), spelling) for spelling, variants in words.items() for variant in variants]
    return sorted(pairs, key=lambda pair: len(pair[0]), reverse=True)


@lru_cache(maxsize=4096)
def canonical(key: str) -> str:
    """A normalised key with interchangeable words folded to one spelling (for loose comparison only)."""
    folded = key.lower()
    for variant, spelling in _synonyms():
        if variant and variant in folded:
            folded = folded.replace(variant, spelling)
    return folded


@lru_cache(maxsize=512)
def label_regex(label: str) -> re.Pattern[str]:
    """A printed label inside a longer text: any spaces between its characters, marks after it."""
    chars = [re.escape(char) for char in normalise(label)]
    return re.compile(r"\s*".join(chars) + MARKS_BETWEEN)
