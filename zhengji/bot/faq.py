"""The notices' other questions (who may apply, contacts, limits, scores, terms), answered in their own words.

The topics live in ``data/faq.toml``: patterns that recognise a question, and for each notice that answers it
a verbatim quote, the notice and the clause. An answer quotes and names them; it never paraphrases a rule.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from pydantic import BaseModel, ConfigDict, field_validator

from zhengji.bot.asof import current, known, pin_for
from zhengji.bot.memo import Memo
from zhengji.notices.registry import Notice, Track, load_registry


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    """One notice's answer to a topic: its clause and its words."""

    tracks: list[Track]
    notice: str
    clause: str
    quotes: list[str]
    lead: str = ""
    tail: str = ""
    individual: str = ""  # the one-line answer to "may a person apply alone" for these tracks (可以/不可以…)
    outsider: str = ""  # the one-line answer for a unit registered in another province (本市依法登记 …)
    # Given only to a question about its tracks: a closed collection's contact is no answer to "电话多少".
    named_only: bool = False
    # For a condition topic: the one-line ruling on the case asked ("不可以。…" / "须…"), and the words that
    # name the case it rules on (every wording of the topic when empty; "已脱钩" is not "未脱钩").
    ruling: str = ""
    ruled_when: list[str] = []


class Topic(_Strict):
    id: str
    title: str
    patterns: list[str]
    sources: list[Source]
    # Asked with no track named, only the notices whose quotes hold the very words asked answer ("准入类" is 76号's
    # alone); for a topic every notice answers in its own words (contacts), all of them answer.
    by_words: bool = False
    # A condition of the notices on who or what may apply (信用, 目录, 脱钩, 推荐): a question naming it is answered
    # by its ruling, never by the window's 可以 (zhengji/bot/answers/conditions.py).
    condition: bool = False

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            re.compile(pattern)
        return patterns


class Contact(_Strict):
    """An office the bot sends an applicant to, as its notice publishes it (``quote`` holds ``text``'s facts)."""

    province: str
    notice: str
    office: str
    quote: str
    text: str


class _File(_Strict):
    topics: list[Topic]
    contacts: list[Contact]


@dataclass(frozen=True)
class FaqMatch:
    """A topic a question asks about, and how many of its patterns the question hit."""

    topic: Topic
    hits: int


@dataclass(frozen=True)
class Faq:
    topics: tuple[Topic, ...]
    compiled: tuple[tuple[Topic, tuple[re.Pattern[str], ...]], ...]
    contacts: tuple[Contact, ...]
    combined: tuple[re.Pattern[str], ...] = ()

    def __post_init__(self) -> None:
        combined = tuple(re.compile("|".join(f"(?:{pattern})" for pattern in topic.patterns)) for topic in self.topics)
        object.__setattr__(self, "combined", combined)
        object.__setattr__(self, "_by_id", {topic.id: topic for topic in self.topics})

    def match(self, text: str) -> list[FaqMatch]:
        """The topics ``text`` (normalized) asks about: the most hits first, then the one asked last in the
        sentence (a Chinese question ends on what it asks: "拿到证书有补贴吗" asks about the subsidy)."""
        found = []
        for (topic, patterns), any_pattern in zip(self.compiled, self.combined, strict=True):
            if not any_pattern.search(text):  # most questions ask about no topic: one search each says so
                continue
            matches = [match for pattern in patterns if (match := pattern.search(text))]
            if matches:
                found.append((FaqMatch(topic, len(matches)), max(match.end() for match in matches)))
        return [match for match, _ in sorted(found, key=lambda item: (-item[0].hits, -item[1]))]

    def topic(self, topic_id: str) -> Topic:
        """The topic of that id (answers look their clauses up by id, several times a message)."""
        by_id: dict[str, Topic] = self._by_id  # type: ignore[attr-defined]
        return by_id[topic_id]


_SOURCES: Memo[tuple[Source, ...]] = Memo()
"""What :func:`sources_for` chose, by topic, tracks and the answer's day and pins: an answer asks it for each
clause it quotes, and each time it judged every source of the topic against the registry (issue 18)."""


def sources_for(topic: Topic, tracks: list[Track]) -> list[Source]:
    """The sources that answer ``topic`` for the tracks asked about (all of them when none was named).

    Only notices issued on the answer's day count (:mod:`zhengji.bot.asof`): before 76号's date its quotes are
    no answer, and a topic only later notices answer has no source yet. A track pinned to the notice of the period
    asked about ("2024年的征集") is answered by that notice's sources alone."""
    state = current()
    when = (state.day, tuple(sorted(state.pins.items()))) if state is not None else None
    return list(_SOURCES.get((topic.id, tuple(tracks), when), lambda: tuple(_sources_for(topic, tracks))))


def _sources_for(topic: Topic, tracks: list[Track]) -> list[Source]:
    issued = [source for source in topic.sources if _in_force(source)]
    # A later notice's words for the same tracks replace the earlier one's (76号's scope, not 319号's).
    issued = [source for source in issued if not any(_supersedes(other, source) for other in issued)]
    if not tracks:
        return [source for source in issued if not source.named_only] or issued
    chosen = [source for source in issued if set(source.tracks) & set(tracks)]
    if not chosen and any(set(source.tracks) & set(tracks) for source in topic.sources):
        return []  # the tracks' own notice is not issued yet (or is another period's): no other track's quote
    return chosen or issued


def issued_for(topic: Topic, tracks: list[Track]) -> bool:
    """Whether a notice issued on the answer's day (of the period asked about) answers ``topic`` for ``tracks``:
    a topic only a later notice answers for them is no answer yet, and another track's quote is none either."""
    if not tracks:
        return any(_in_force(source) for source in topic.sources)
    ours = [source for source in topic.sources if set(source.tracks) & set(tracks)]
    if ours:
        return any(_in_force(source) for source in ours)
    return any(_in_force(source) for source in topic.sources)


def _supersedes(later: Source, earlier: Source) -> bool:
    if set(later.tracks) != set(earlier.tracks) or later.notice == earlier.notice:
        return False
    registry = load_registry()
    return registry.notice(later.notice).date > registry.notice(earlier.notice).date


def _in_force(source: Source) -> bool:
    if not known(source.notice):
        return False
    pinned = {pin_for(track) for track in source.tracks} - {None}
    return not pinned or source.notice in pinned


def cite(source: Source) -> str:
    """One source as the answer gives it: "根据沪人社职〔2025〕140号（四、组织实施）：“……”"."""
    notice: Notice = load_registry().notice(source.notice)
    quoted = "”“".join(source.quotes)
    return f"{source.lead}根据{notice.number}（{source.clause}）：“{quoted}”{source.tail}"


@cache
def load_faq() -> Faq:
    """Read and validate ``data/faq.toml``; a topic naming an unknown notice stops start-up."""
    text = resources.files("zhengji.bot").joinpath("data", "faq.toml").read_text("utf-8")
    parsed = _File.model_validate(tomllib.loads(text))
    registry = load_registry()
    for topic in parsed.topics:
        for source in topic.sources:
            registry.notice(source.notice)  # raises KeyError for a notice the registry does not hold
    compiled = tuple((topic, tuple(re.compile(pattern) for pattern in topic.patterns)) for topic in parsed.topics)
    for contact in parsed.contacts:
        registry.notice(contact.notice)
    return Faq(tuple(parsed.topics), compiled, tuple(parsed.contacts))
