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


class Topic(_Strict):
    id: str
    title: str
    patterns: list[str]
    sources: list[Source]

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
        for topic in self.topics:
            if topic.id == topic_id:
                return topic
        raise KeyError(topic_id)


def sources_for(topic: Topic, tracks: list[Track]) -> list[Source]:
    """The sources that answer ``topic`` for the tracks asked about (all of them when none was named)."""
    if not tracks:
        return list(topic.sources)
    chosen = [source for source in topic.sources if set(source.tracks) & set(tracks)]
    return chosen or list(topic.sources)


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
