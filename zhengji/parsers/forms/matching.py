"""Tolerant label matching: one scorer, one score scale, for every form and every kind of label.

A clerk reads "新职业的定义", "建议新职业名称" and "新职业定义" as the same labels as the printed ones; a program that
compares exact text tells the applicant to fill in what is already filled. :class:`LabelIndex` holds one form's
fields (or a table's columns) and their wordings, and reads a text:

1. among the accepted wordings (the form's data), after :func:`wording.normalise` (score 100);
2. the same without a footnote number typed as a plain digit after the label ("所属行业5", 99);
3. loosely, by :func:`score` against each wording, after folding words applicants use interchangeably
   (``data/forms/_synonyms.toml``: 薪资/薪酬, 院校/学校 …): a bracketed qualifier does not change a label
   ("特殊能力（技能）"); a wording with a generic noun after it is that wording ("所属行业类别"); a wording with
   words before it is a kind of it, since a Chinese compound ends with its head noun ("拟推荐职业编码"); a few
   words inserted ("人际沟通协作") or left out ("主要任务"), or a near spelling (rapidfuzz), count for less; a
   wording with other words after it ("发展前景广阔") for less still, since that is how a value begins.

The best field must reach a threshold and beat the runner-up *field* by a margin, so that a text halfway between
two labels is not guessed. The thresholds are data (``[matching]`` of ``data/forms/_synonyms.toml``, a form's own
``[matching]`` where it needs other ones): a cell that may as well be a value (a 建议书's label cells) needs
``threshold`` and ``margin``; a cell known to be a label (a table's header row, a line's label before its colon)
``header_threshold`` and ``header_margin``; a row that ends a table ``stop_threshold``. Texts longer than any
label, or that read as a sentence, are never read loosely where a value may stand.

What the index cannot place is reported by the caller as not located, never as blank.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

from rapidfuzz import fuzz

from zhengji.parsers.forms.wording import MARKS_BETWEEN, normalise, without_glued_digits


@dataclass(frozen=True)
class Thresholds:
    """The one score scale's thresholds (``[matching]`` of ``data/forms/_synonyms.toml``); see that file."""

    threshold: float
    margin: float
    header_threshold: float
    header_margin: float
    stop_threshold: float
    align_floor: float
    align_min_shared: int
    align_max_gap: int


@cache
def thresholds(form: str | None = None) -> Thresholds:
    """The thresholds of label matching, read once from the form data: the defaults, then ``form``'s own."""
    path = resources.files("zhengji.notices") / "data" / "forms" / "_synonyms.toml"
    table = dict(tomllib.loads(path.read_text(encoding="utf-8"))["matching"])
    if form is not None:
        from zhengji.notices.forms import form_spec  # the form data imports no parser: no cycle at run time

        spec = form_spec(form)
        if spec is not None:
            table.update(spec.matching)
    return Thresholds(**table)


THRESHOLD = thresholds().threshold
MARGIN = thresholds().margin
HEADER_THRESHOLD = thresholds().header_threshold
HEADER_MARGIN = thresholds().header_margin
# Loose matching only for texts of a label's length: longer texts are values, shorter ones too ambiguous.
MIN_FUZZY = 4
MIN_LOOSE = 2
MAX_FUZZY = 40
_NEAR_SCORE = 88.0
# The same label once interchangeable words are folded ("联络人" is 联系人), or a bracket dropped.
_EQUAL_SCORE = 98.0
# A text that holds a whole label in one piece, with a few words around it.
_WHOLE_SCORE = 96.0
# A whole wording with a generic noun after it ("产业类别信息").
_TAIL_SCORE = 95.0
# A variant (a bracketed qualifier dropped or unwrapped) reads a little less surely than the text as typed.
_VARIANT_PENALTY = 2.0
# A value reads as a sentence; a label never holds these.
_SENTENCE = re.compile(r"[。，；;！？!?]|\d{3,}")
_BRACKETED = re.compile(r"\([^()]*\)")
_SEPARATORS = (re.compile(r"[:：]"), re.compile(r"\n"))
# How many texts an index remembers the reading of (the printed labels come back in every document).
_REMEMBER = 4096


@dataclass(frozen=True)
class Match:
    """A label found: the field it names, how sure (100 exact), and a value typed after it in the same text."""

    field: str
    score: float
    remainder: str | None = None


def variants(key: str) -> tuple[str, ...]:
    """The key, without its bracketed qualifiers, and with its brackets unwrapped ("职业(名称)" → "职业名称")."""
    if "(" not in key:
        return (key,)
    removed = _BRACKETED.sub("", key)
    unwrapped = key.replace("(", "").replace(")", "")
    return tuple(dict.fromkeys(variant for variant in (key, removed, unwrapped) if variant))


@lru_cache(maxsize=65536)
def score(key: str, wording: str) -> float:
    """How much the label text ``key`` reads as ``wording`` (both :func:`wording.normalise` keys), 0–100: the one
    score scale of every label, header and heading. Interchangeable words are folded first; a bracketed
    qualifier may be dropped on either side (:func:`variants`), for a little less."""
    if not key or not wording:
        return 0.0
    if key == wording:
        return 100.0
    text, label = canonical(key), canonical(wording)
    best = 0.0
    for number, text_variant in enumerate(variants(text)):
        for other, label_variant in enumerate(variants(label)):
            penalty = 0.0 if number == other == 0 else _VARIANT_PENALTY
            best = max(best, _pair(text_variant, label_variant) - penalty)
    return best


def _pair(text: str, label: str) -> float:
    """:func:`score` of two folded keys without brackets to vary: the best of the rules a reader applies."""
    if text == label:
        return _EQUAL_SCORE
    best = _near(text, label)
    if len(label) >= 2 and label in text:
        before, _, after = text.partition(label)
        if not before and after in _label_suffixes():
            best = max(best, _TAIL_SCORE)
        elif not after:
            # Words before the head noun make a kind of it, the fewer the surer ("拟推荐职业编码").
            best = max(best, 80.0, 90.0 - 2.0 * max(0, len(before) - 2))
        else:
            # Other words after a wording: how a value begins ("发展前景广阔"), below every label threshold.
            share = 10.0 * len(label) / len(text)
            best = max(best, (75.0 if not before else 73.0) + share)
    elif len(text) >= 2 and text in label:
        best = max(best, 70.0 + 20.0 * len(text) / len(label))
    if len(text) < 3 or len(label) < 3:
        return best
    ratio = float(fuzz.ratio(text, label))
    if _subsequence(label, text):
        # Words inserted into a wording ("所属细分行业", "预计年评价人次").
        ratio = max(ratio, 75.0 + 5.0 * len(label) / len(text))
    return max(best, ratio)


def best_of(scores: Mapping[str, float], threshold: float, margin: float) -> str | None:
    """The key with the highest score when it reaches ``threshold`` and beats the runner-up by ``margin``."""
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    if not ranked or ranked[0][1] < threshold:
        return None
    if len(ranked) > 1 and ranked[0][1] - ranked[1][1] < margin:
        return None
    return ranked[0][0]


class LabelIndex:
    """The wordings of one form's labels (field → wordings), looked up exactly, then by :func:`score`.

    ``threshold`` and ``margin`` are those of a cell that may be a value (the default); an index of header
    cells or line labels is built with the header ones (:meth:`for_headers`).
    """

    def __init__(
        self, wordings: Mapping[str, Iterable[str]], threshold: float = THRESHOLD, margin: float = MARGIN
    ) -> None:
        self.groups: dict[str, tuple[str, ...]] = {}
        self.exact: dict[str, str] = {}
        for field, texts in wordings.items():
            keys = tuple(dict.fromkeys(key for key in (normalise(text) for text in texts) if key))
            self.groups[field] = keys
            for key in keys:
                self.exact.setdefault(key, field)
        # A field is also named by its wordings with their two halves swapped ("职业道德与职业操守").
        self._loose = {
            field: tuple(dict.fromkeys(variant for key in keys for variant in (key, *_conjuncts_swapped(key))))
            for field, keys in self.groups.items()
        }
        self.characters = {
            field: frozenset("".join(canonical(key) for key in keys) + "".join(keys))
            for field, keys in self._loose.items()
        }
        self.threshold = threshold
        self.margin = margin
        self._remembered: dict[str, Match | None] = {}

    @classmethod
    def for_headers(cls, wordings: Mapping[str, Iterable[str]], form: str | None = None) -> LabelIndex:
        """An index of texts known to be labels (header cells, a line's label): the header thresholds."""
        settings = thresholds(form)
        return cls(wordings, settings.header_threshold, settings.header_margin)

    # --- scores ---------------------------------------------------------------------------------------------------
    def key_scores(self, key: str, among: Collection[str] | None = None) -> dict[str, float]:
        """Each field's best :func:`score` for the normalised text ``key`` (fields limited to ``among``)."""
        return {field: hit[0] for field, hit in self._hits(key, among).items()}

    def scores(self, text: str | None, among: Collection[str] | None = None) -> dict[str, float]:
        """:meth:`key_scores` of a text not yet normalised."""
        return self.key_scores(normalise(text), among)

    def _hits(self, key: str, among: Collection[str] | None) -> dict[str, tuple[float, str]]:
        """Each field's best score for ``key`` and the wording that gave it."""
        if not key:
            return {}
        letters = set(key) | set(canonical(key))
        need = min(2, len(set(key)))
        hits: dict[str, tuple[float, str]] = {}
        for field, wordings in self._loose.items():
            if among is not None and field not in among:
                continue
            # No score reaches a threshold with fewer than two characters in common: skip the comparisons.
            if len(letters & self.characters[field]) < need:
                hits[field] = (0.0, "")
                continue
            best = (0.0, "")
            for wording in wordings:
                value = score(key, wording)
                if value > best[0]:
                    best = (value, wording)
            hits[field] = best
        return hits

    def _best(self, key: str, among: Collection[str] | None = None) -> Match | None:
        """The field ``key`` clearly reads as: it reaches the threshold and beats every rival field by the margin.

        A runner-up whose wording lies inside the winner's is the less specific reading ("工作内容" inside
        "主要工作内容描述"), and a column of the winner's own table is part of it: neither is a rival. On a tie a
        table's own label beats one of its column headers ("培训机构": the section, not 培训机构名称).
        """
        hits = {field: hit for field, hit in self._hits(key, among).items() if hit[0] > 0}
        if not hits:
            return None
        ranked = sorted(hits.items(), key=lambda item: (item[1][0], not item[0].startswith("col:")), reverse=True)
        field, (best, wording) = ranked[0]
        winner = canonical(wording)
        rivals = [
            value
            for other, (value, text) in ranked[1:]
            if canonical(text) not in winner and _group(other) != _group(field)
        ]
        runner_up = rivals[0] if rivals else 0.0
        if best >= self.threshold and best - runner_up >= self.margin:
            return Match(field, best)
        return None

    # --- texts that may be values (a 建议书's cells) -----------------------------------------------------------------
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
        if key not in self._remembered:
            if len(self._remembered) >= _REMEMBER:
                self._remembered.clear()
            self._remembered[key] = self._best(key)
        return self._remembered[key]

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

    # --- texts known to be labels (header cells, line labels, headings) ----------------------------------------------
    def field_of(self, text: str | None, among: Collection[str] | None = None) -> str | None:
        """The field ``text`` is the label of: an accepted wording, else a clear best (threshold and margin)."""
        return self.key_field(normalise(text), among)

    def key_field(self, key: str, among: Collection[str] | None = None) -> str | None:
        """:meth:`field_of` a text already normalised."""
        if not key or len(key) > MAX_FUZZY:
            return None
        exact = self.exact.get(key)
        if exact is not None and (among is None or exact in among):
            return exact
        found = self._fuzzy_label(key) if among is None else self._best(key, among)
        return found.field if found is not None else None

    def _fuzzy_label(self, key: str) -> Match | None:
        remembered = f"\0{key}"  # apart from the value-aware readings of :meth:`_fuzzy`
        if remembered not in self._remembered:
            if len(self._remembered) >= _REMEMBER:
                self._remembered.clear()
            self._remembered[remembered] = self._best(key)
        return self._remembered[remembered]


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
