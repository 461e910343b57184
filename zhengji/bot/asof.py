"""The day an answer is given on, and the notices that exist on it.

A notice does not exist before its issue date: on 2024-10-10 the bot knows 319号 and nothing of 76号 (dated
2025-03-20). Every answer the core assembles is composed inside :func:`answering`, and every quote, rule and
window is chosen through :func:`known` and :func:`pin_for`, so no answer path can quote a later notice: the rule
lives here once, not in each topic or act.

A question about a period ("2024年的职业工种征集") is answered from the notice of that period: the core pins the
track to it for that question (:func:`period_pins`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache

from zhengji.clock import shanghai_date
from zhengji.notices.registry import Notice, Track, load_registry


@dataclass(frozen=True)
class AsOf:
    """The business day of the answer being composed, and the notice a question about a period pins a track to."""

    day: date
    pins: Mapping[Track, str] = field(default_factory=dict)


_CURRENT: ContextVar[AsOf | None] = ContextVar("zhengji_bot_as_of", default=None)


@contextmanager
def answering(moment: datetime, pins: Mapping[Track, str] | None = None) -> Iterator[AsOf]:
    """Compose an answer as of ``moment``'s Beijing date: notices dated later do not exist inside the block."""
    state = AsOf(shanghai_date(moment), dict(pins or {}))
    token = _CURRENT.set(state)
    try:
        yield state
    finally:
        _CURRENT.reset(token)


def current() -> AsOf | None:
    return _CURRENT.get()


def known(notice_id: str) -> bool:
    """Whether the notice is issued on the answer's day (always, outside an answer)."""
    state = _CURRENT.get()
    if state is None:
        return True
    return load_registry().notice(notice_id).date <= state.day


def pin_for(track: Track) -> str | None:
    """The notice a question about a period pins ``track`` to, if any."""
    state = _CURRENT.get()
    return state.pins.get(track) if state is not None else None


def unknown_numbers(text: str, day: date) -> list[str]:
    """The numbers of notices ``text`` names that are dated after ``day``: what no answer on ``day`` may say."""
    return [notice.number for notice in load_registry().notices if notice.date > day and _named(notice, text)]


def _named(notice: Notice, text: str) -> bool:
    return notice.number in text or bool(_short_pattern(_short(notice)).search(text))


@lru_cache(maxsize=64)
def _short_pattern(short: str) -> re.Pattern[str]:
    """ "76号" not preceded by a digit (not "176号"); compiled once, as every answer is checked against every notice."""
    return re.compile(rf"(?<!\d){re.escape(short)}")


def _short(notice: Notice) -> str:
    """ "76号" for 沪人社职〔2025〕76号, as answers name a notice beside another ("319号和76号")."""
    return notice.number.rsplit("〕", 1)[-1]


_YEAR = re.compile(r"(20\d\d)\s*年|(去年|前年|今年)")
_RELATIVE = {"今年": 0, "去年": 1, "前年": 2}


def period_pins(text: str, tracks: list[Track], moment: datetime) -> dict[Track, str]:
    """For a question naming a year ("2024年", "去年"), each track asked about pinned to the one notice of that
    track issued in that year, on or before the answer's day; nothing when the year holds none or several."""
    day = shanghai_date(moment)
    named = _named_pins(text, tracks, day)
    years = {
        int(found.group(1)) if found.group(1) else day.year - _RELATIVE[found.group(2)]
        for found in _YEAR.finditer(text)
    }
    if len(years) != 1:
        return named
    year = years.pop()
    pins: dict[Track, str] = {}
    for track in tracks:
        notices = [
            notice
            for notice, _ in load_registry().track_rules(track)
            if notice.date.year == year and notice.date <= day
        ]
        if len(notices) == 1:
            pins[track] = notices[0].id
    return pins | named


_NOTICE_NUMBER = re.compile(r"(?<!\d)(\d{2,3})号")


def _named_pins(text: str, tracks: list[Track], day: date) -> dict[Track, str]:
    """A notice named by its number ("319号的推荐主体") is the one asked about: each of its tracks asked about is
    pinned to it, once it is issued, so that its own clauses answer and not its successor's."""
    numbers = set(_NOTICE_NUMBER.findall(text))
    pins: dict[Track, str] = {}
    for track in tracks if numbers else []:
        notices = [
            notice
            for notice, _ in load_registry().track_rules(track)
            if any(notice.number.endswith(f"〕{number}号") for number in numbers) and notice.date <= day
        ]
        if len(notices) == 1:
            pins[track] = notices[0].id
    return pins
