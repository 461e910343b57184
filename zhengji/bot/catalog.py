"""The published catalog (沪人社职〔2025〕76号 附件2) as the bot searches it: by code, however typed, and by name,
with the 工种 in brackets or alone, and with typos.

Every answer about an occupation comes from these rows; a name the catalog does not hold is reported as not
found in it, never guessed at.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

from rapidfuzz import fuzz, process

from zhengji.bot.text import fold
from zhengji.notices.registry import Catalog, CatalogEntry, load_registry

# A 大典 code typed loosely: 4-04-05-05, 4-4-5-5, 4.04.05.05, 4 04 05 05, 4－04－05－05, 4-04-05-z1, or the
# 小类 4-04-05. The major group is one digit; no digit may stand right before it (2025-06-20 is a date).
_SEP = r"\s*[-_./·]\s*|\s+"
CODE = re.compile(
    rf"(?<![0-9a-z])(?<![0-9][-./])([1-9])(?:{_SEP})(\d{{1,2}})(?:{_SEP})(\d{{1,2}})(?:(?:{_SEP})(\d{{1,2}}|z\d))?(?![0-9a-z])",
    re.IGNORECASE,
)
# Seven characters without separators: 4040505 (a code copied from a spreadsheet that dropped them).
COMPACT_CODE = re.compile(r"(?<![0-9a-z])(?<![0-9][-./])([1-9])(\d{2})(\d{2})(\d{2}|z\d)(?![0-9a-z])", re.IGNORECASE)
FUZZY_CUTOFF = 72.0
"""How alike (rapidfuzz ``ratio``, 0–100) a name must be to a catalog name to be read as a typo of it."""
_LENGTH_SLACK = 2
"""A typo changes a name's length by a character or two at most (a dropped 子, an extra 安全)."""
_CLEAR_MARGIN = 6.0
"""How far the best fuzzy candidate must lead the next distinct occupation to be taken without asking."""


def display(name: str) -> str:
    """A catalog name as an official text writes it: full-width brackets, whatever the row's spelling."""
    return name.replace("(", "（").replace(")", "）")


@dataclass(frozen=True)
class CodeMention:
    """An occupation code as typed, and the 大典 form it was read as (None when no part fits the form)."""

    typed: str
    code: str
    parts: int  # 3 for a 小类 (4-04-05), 4 for an occupation (4-04-05-05)


def read_codes(text: str) -> list[CodeMention]:
    """The occupation codes in ``text`` (already normalized), each brought to the 大典 form ``4-04-05-05``."""
    found: list[CodeMention] = []
    taken: list[tuple[int, int]] = []
    for pattern in (CODE, COMPACT_CODE):
        for match in pattern.finditer(text):
            if any(start < match.end() and match.start() < end for start, end in taken):
                continue
            major, middle, minor, unit = match.groups()
            parts = [major, middle.zfill(2), minor.zfill(2)]
            if unit:
                parts.append(unit.upper() if unit.lower().startswith("z") else unit.zfill(2))
            found.append(CodeMention(match.group(0).strip(), "-".join(parts), len(parts)))
            taken.append(match.span())
    return found


@dataclass(frozen=True)
class NameMatch:
    """Catalog rows a name in the question points at: one row, or every 工种 of an occupation."""

    typed: str
    entries: tuple[CatalogEntry, ...]
    exact: bool
    score: float = 100.0

    @property
    def label(self) -> str:
        """How the answer names what was found: the row's name, or the occupation for a group of rows."""
        names = {entry.name for entry in self.entries}
        if len(names) == 1:
            return display(self.entries[0].name)
        return display(self.entries[0].occupation)


@dataclass
class CatalogIndex:
    """Lookups over the catalog's 202 rows, built once."""

    catalog: Catalog
    _variants: dict[str, tuple[CatalogEntry, ...]] = field(default_factory=dict)
    _ordered: list[str] = field(default_factory=list)
    _folded: list[tuple[str, CatalogEntry]] = field(default_factory=list)
    _lengths: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        variants: dict[str, list[CatalogEntry]] = {}
        for entry in self.catalog.entries:
            for variant in _variants_of(entry):
                rows = variants.setdefault(variant, [])
                if entry not in rows:
                    rows.append(entry)
        # A variant shared by an occupation's rows names them all (互联网营销师); a row's own full name wins.
        self._variants = {variant: tuple(rows) for variant, rows in variants.items()}
        self._ordered = sorted(self._variants, key=len, reverse=True)
        self._folded = [(fold(entry.name), entry) for entry in self.catalog.entries]
        self._lengths = tuple(sorted({len(variant) for variant in self._variants}, reverse=True))

    @property
    def source(self) -> str:
        return self.catalog.source

    def terms(self) -> list[str]:
        """Names worth keeping whole in segmentation (the tokenizer's added words)."""
        return [variant for variant in self._ordered if len(variant) >= 2 and "(" not in variant]

    def by_code(self, code: str) -> tuple[CatalogEntry, ...]:
        return tuple(self.catalog.by_code(code))

    def under(self, prefix: str) -> tuple[CatalogEntry, ...]:
        """The rows whose code starts with a 小类 code such as ``4-04-05``."""
        return tuple(entry for entry in self.catalog.entries if entry.code.upper().startswith(prefix.upper() + "-"))

    def find_exact(self, text: str, boundaries: set[int]) -> list[NameMatch]:
        """Catalog names written out in ``text`` (normalized, spaces removed), longest first, each span once.

        A name of three characters or fewer counts only where word boundaries frame it, so that "车工" is not
        found inside "汽车工程师"."""
        found: list[tuple[int, int]] = []  # (start, end) of every variant in the text, by one pass over it
        for start in range(len(text)):
            for length in self._lengths:
                end = start + length
                if end <= len(text) and text[start:end] in self._variants:
                    found.append((start, end))
        matches: list[NameMatch] = []
        taken: list[tuple[int, int]] = []
        for start, end in sorted(found, key=lambda span: (span[0] - span[1], span[0])):  # longest first
            framed = start in boundaries and end in boundaries
            free = not any(start < right and left < end for left, right in taken)
            if free and (end - start > 3 or framed):
                variant = text[start:end]
                matches.append(NameMatch(variant, self._variants[variant], exact=True))
                taken.append((start, end))
        return sorted(matches, key=lambda match: text.find(match.typed))

    def find_fuzzy(self, span: str) -> list[NameMatch]:
        """The catalog names ``span`` may be a typo of: one clear best, or the close candidates to ask about."""
        if len(span) < 3:
            return []
        found = process.extract(span, self._ordered, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF, limit=8)
        # A part of a longer name ("人工智能") is no typo of it: which name is meant is asked about instead.
        typos = [(variant, score) for variant, score, _ in found if abs(len(variant) - len(span)) <= _LENGTH_SLACK]
        if not typos:
            return self._containing(span)
        best_score = typos[0][1]
        candidates: list[NameMatch] = []
        seen: set[tuple[int, ...]] = set()
        for variant, score in typos:
            rows = self._variants[variant]
            key = tuple(entry.seq for entry in rows)
            if key in seen or best_score - score > _CLEAR_MARGIN:
                continue
            seen.add(key)
            candidates.append(NameMatch(span, rows, exact=False, score=float(score)))
        return candidates

    def _containing(self, span: str) -> list[NameMatch]:
        """Rows whose name holds ``span`` whole ("无人机" in 无人机驾驶员): one occupation, or the ones to ask about."""
        groups: dict[str, list[CatalogEntry]] = {}
        for name, entry in self._folded:
            if span in name:
                groups.setdefault(entry.occupation, []).append(entry)
        return [NameMatch(span, tuple(rows), exact=False) for rows in groups.values()][:8]


def _variants_of(entry: CatalogEntry) -> Iterable[str]:
    name = fold(entry.name)
    yield name
    occupation = fold(entry.occupation)
    yield occupation
    work_type = entry.work_type
    if work_type:
        work_type = fold(work_type)
        yield name.replace("(", "").replace(")", "")
        if len(work_type) >= 2:
            yield work_type
        inner = work_type.split("(", 1)[0]
        if inner != work_type and len(inner) >= 2:
            yield inner


@cache
def catalog_index() -> CatalogIndex:
    return CatalogIndex(load_registry().catalog())
