"""The window calendar: which window of a track holds an instant, and which opens next.

A track's windows are the union of its notices' windows in time order (the contract); every date is a
calendar day in Asia/Shanghai, both ends inclusive.
"""

from __future__ import annotations

import calendar as _calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
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
    """One collection window: inclusive dates, and the notice that opened it.

    ``final`` marks the last window its notice opens (a one-off period such as 319号's): after it, that notice's
    collection has ended, whatever later notice opens the track again.
    """

    start: date
    end: date
    notice: Notice
    final: bool = False

    def holds(self, day: date) -> bool:
        return self.start <= day <= self.end

    def as_json(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}

    def __str__(self) -> str:
        return f"{self.start.isoformat()} 至 {self.end.isoformat()}"


class Timing(StrEnum):
    """Where a day outside every window stands: early is not late.

    - ``open``: a window holds the day.
    - ``not_started``: before the track's first window: its collection has not started (its notice may not even
      be published yet, as 粤人社函〔2026〕159号 before 2026-06-02).
    - ``between``: after one window and before the next of a recurring collection: the applicant is early for
      the next period, not late for the last one.
    - ``ended``: after the last window of the notice that governed it (319号 closed on 2024-10-22), whether or
      not a later notice opens the track again: 逾期, 已截止.
    """

    open = "open"
    not_started = "not_started"
    between = "between"
    ended = "ended"


@dataclass(frozen=True)
class Position:
    """Where an instant stands for a track: the window holding it (or None), the next window to open, and the last
    window that closed before it."""

    track: Track
    day: date
    window: Window | None
    next_window: Window | None
    previous: Window | None = None

    @property
    def in_window(self) -> bool:
        return self.window is not None

    @property
    def timing(self) -> Timing:
        """Open, not started, between two windows, or ended (see :class:`Timing`)."""
        if self.window is not None:
            return Timing.open
        if self.previous is None:
            return Timing.not_started if self.next_window is not None else Timing.ended
        if self.next_window is None or self.previous.final:
            return Timing.ended
        return Timing.between

    @property
    def early(self) -> bool:
        """Outside every window, and before a window that will open: 尚未开始受理, never 逾期."""
        return self.timing in {Timing.not_started, Timing.between}

    @property
    def late(self) -> bool:
        """After the governing notice's last window: 逾期, 已截止."""
        return self.timing is Timing.ended

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
    final = isinstance(rule, PeriodRule)  # the only rule with a last window; the others recur without end
    for start, end in _rule_windows(rule):
        yield Window(start, end, notice, final=final)


def position(track: Track | str, instant: datetime, registry: Registry | None = None) -> Position:
    """The window holding ``instant`` (judged on its Shanghai date), the first window starting after it, and the
    last one that ended before it."""
    day = shanghai_date(instant)
    current: Window | None = None
    previous: Window | None = None
    for window in windows(track, registry):
        if window.start > day:
            return Position(Track(track), day, current, window, previous)
        if window.holds(day) and current is None:
            current = window
        elif window.end < day and (previous is None or window.end >= previous.end):
            previous = window
    return Position(Track(track), day, current, None, previous)


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


def _opening(pos: Position) -> str | None:
    """The clause that says when the track next takes mail, without its full stop; None when nothing is planned."""
    upcoming = pos.next_window
    if upcoming is None:
        return None
    if pos.timing is Timing.ended and pos.previous is not None and upcoming.notice.id != pos.previous.notice.id:
        return f"此后的征集按{upcoming.notice.number}开展，下一期受理时间为{cn_window(upcoming)}"
    which = "首期" if pos.timing is Timing.not_started else "下一期"
    return f"{which}受理时间为{cn_window(upcoming)}"


def opening_text(pos: Position) -> str:
    """When the track next takes mail, as a reply or the bot says it: "下一期受理时间为…。" (or the first period's)."""
    clause = _opening(pos)
    return f"{clause}。" if clause else "该事项暂无后续受理安排，请关注后续通知。"


def standing_text(pos: Position, name: str = "") -> str:
    """Where a day outside every window stands, in one sentence: not started, not yet open, or ended (逾期).

    Empty inside a window. ``name`` is the track's name as its notice gives it, left out where the sentence
    follows the name already (the bot's "新职业征集（…）：").
    """
    timing = pos.timing
    if timing is Timing.not_started:
        assert pos.next_window is not None
        notice = pos.next_window.notice
        what = f"{name}尚未开始受理" if name else "征集尚未开始"
        if notice.date > pos.day:  # the notice that opens it was not yet published on that day
            return f"{what}（{notice.number}于{cn_date(notice.date)}发布）。"
        return f"{what}。"
    if timing is Timing.between:
        assert pos.previous is not None
        return f"{name}下一期尚未开始受理（上一期已于{cn_date(pos.previous.end)}结束）。"
    if timing is Timing.ended:
        if pos.previous is None:
            return f"{name}已截止，逾期不予受理。"
        what = name or "征集"
        return f"{pos.previous.notice.number}规定的{what}已于{cn_date(pos.previous.end)}截止，逾期不予受理。"
    return ""


def outside_window_text(pos: Position, name: str) -> str:
    """The ``outside_window`` finding's message: the received day, where it stands, and when to send instead.

    The one place that tells early from late, so that no reply, decision or staff page calls an early mail 逾期.
    """
    clause = _opening(pos)
    advice = f"{clause}，请届时重新发送。" if clause else "该事项暂无后续受理安排，请关注后续通知。"
    return f"本邮件于{cn_date(pos.day)}收到，{standing_text(pos, name)}{advice}"
