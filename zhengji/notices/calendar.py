"""The window calendar: which window of a track holds an instant, and which opens next.

A track's windows are the union of its notices' windows in time order (the contract); every date is a
calendar day in Asia/Shanghai, both ends inclusive.
"""

from __future__ import annotations

import calendar as _calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import islice

from zhengji.clock import shanghai_date
from zhengji.notices.registry import (
    DeadlineRule,
    MonthlyRule,
    Notice,
    PeriodRule,
    Registry,
    Track,
    WindowRule,
    load_registry,
)

# Recurring rules have no end; a scan stops this far ahead so that a wrong rule cannot loop forever.
_HORIZON_YEARS = 200


@dataclass(frozen=True)
class Window:
    """One collection window: inclusive dates, and the notice that opened it."""

    start: date
    end: date
    notice: Notice

    def holds(self, day: date) -> bool:
        return self.start <= day <= self.end

    def as_json(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}

    def __str__(self) -> str:
        return f"{self.start.isoformat()} 至 {self.end.isoformat()}"


@dataclass(frozen=True)
class Position:
    """Where an instant stands for a track: the window holding it (or None), and the next window to open."""

    track: Track
    day: date
    window: Window | None
    next_window: Window | None

    @property
    def in_window(self) -> bool:
        return self.window is not None

    @property
    def notice(self) -> Notice | None:
        """The notice that governs the instant: the current window's, else the next one's, else the last."""
        chosen = self.window or self.next_window
        return chosen.notice if chosen else None

    def days_left(self) -> int | None:
        """Days until the current window closes (0 on its last day), or until the next opens."""
        if self.window:
            return (self.window.end - self.day).days
        if self.next_window:
            return (self.next_window.start - self.day).days
        return None


def _month_end(year: int, month: int) -> int:
    return _calendar.monthrange(year, month)[1]


def _rule_windows(rule: WindowRule) -> Iterator[tuple[date, date]]:
    if isinstance(rule, PeriodRule):
        yield rule.start, rule.end
    elif isinstance(rule, MonthlyRule):
        for year in range(rule.effective_from.year, rule.effective_from.year + _HORIZON_YEARS):
            for month in sorted(rule.months):
                last = _month_end(year, month)
                start = date(year, month, min(rule.first_day, last))
                end = date(year, month, min(rule.last_day, last))
                if end >= rule.effective_from:
                    yield max(start, rule.effective_from), end
    elif isinstance(rule, DeadlineRule):
        start = rule.start
        for deadline in _deadlines(rule):
            if deadline >= start:
                yield start, deadline
                start = deadline + timedelta(days=1)


def _deadlines(rule: DeadlineRule) -> Iterator[date]:
    yield from sorted(rule.deadlines)
    last = max(rule.deadlines, default=rule.start)
    for year in range(last.year, last.year + _HORIZON_YEARS):
        for month_day in rule.yearly:
            month, day = (int(part) for part in month_day.split("-"))
            candidate = date(year, month, min(day, _month_end(year, month)))
            if candidate > last:
                yield candidate


def _merge(streams: list[Iterator[Window]]) -> Iterator[Window]:
    """Merge the notices' window streams by start date; an identical window from two notices counts once."""
    heads: list[Window | None] = [next(stream, None) for stream in streams]
    previous: Window | None = None
    while any(head is not None for head in heads):
        index = min(
            (i for i, head in enumerate(heads) if head is not None),
            key=lambda i: (heads[i].start, heads[i].end),  # type: ignore[union-attr]
        )
        window = heads[index]
        assert window is not None
        heads[index] = next(streams[index], None)
        if previous and (previous.start, previous.end) == (window.start, window.end):
            continue
        previous = window
        yield window


def windows(track: Track | str, registry: Registry | None = None) -> Iterator[Window]:
    """Every window of ``track`` in time order (recurring rules give an unending, lazily computed stream)."""
    registry = registry or load_registry()
    streams = [_notice_windows(notice, rule.window) for notice, rule in registry.track_rules(track)]
    return _merge(streams)


def _notice_windows(notice: Notice, rule: WindowRule) -> Iterator[Window]:
    for start, end in _rule_windows(rule):
        yield Window(start, end, notice)


def position(track: Track | str, instant: datetime, registry: Registry | None = None) -> Position:
    """The window holding ``instant`` (judged on its Shanghai date) and the first window starting after it."""
    day = shanghai_date(instant)
    current: Window | None = None
    for window in windows(track, registry):
        if window.start > day:
            return Position(Track(track), day, current, window)
        if window.holds(day) and current is None:
            current = window
    return Position(Track(track), day, current, None)


def upcoming(track: Track | str, since: date, count: int, registry: Registry | None = None) -> list[Window]:
    """``count`` windows from the one that holds ``since`` (or the next one to open) onward."""
    stream = (window for window in windows(track, registry) if window.end >= since)
    return list(islice(stream, count))


def cn_date(day: date) -> str:
    """A date as the notices write it: 2025年6月20日."""
    return f"{day.year}年{day.month}月{day.day}日"


def cn_window(window: Window) -> str:
    """A window as the notices write it: 2025年6月20日至6月30日 (the year once when it does not change)."""
    if window.start.year == window.end.year:
        return f"{cn_date(window.start)}至{window.end.month}月{window.end.day}日"
    return f"{cn_date(window.start)}至{cn_date(window.end)}"
