"""The fact base the direct answers read: one view over the notice registry, the form data and faq.toml's quotes.

Nothing here is a second copy of a fact: a track's channel (mailbox to apply at or to ask at, the 自助经办系统,
the 属地 route, paper copies) comes from its TrackRule, its windows from the calendar, a field's limit from the
form data, and every quote from faq.toml (whose quotes tests/bot/test_faq.py compares with the notices). What
this module adds is time: a notice does not exist before its date, and a track is over after its last window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum

from zhengji.bot.asof import pin_for
from zhengji.bot.faq import Source, cite, load_faq, sources_for
from zhengji.clock import SHANGHAI, shanghai_date
from zhengji.notices.calendar import Position, Window, position, windows
from zhengji.notices.forms import FieldSpec, form_spec
from zhengji.notices.registry import Notice, Track, TrackRule, load_registry


class Stage(StrEnum):
    """Where a track stands on a day, as its notices dated up to that day say."""

    unpublished = "unpublished"  # no notice of the track is dated on or before the day
    open = "open"  # inside a window
    between = "between"  # a next window is set by a notice already issued
    over = "over"  # the last window of the issued notices has ended


@dataclass(frozen=True)
class TrackFacts:
    """One track as of one day: the notice in force, its rule, and where the calendar stands."""

    track: Track
    day: date
    notice: Notice | None
    rule: TrackRule | None
    stage: Stage
    window: Window | None
    next_window: Window | None
    last_window: Window | None

    @property
    def name(self) -> str:
        if self.rule is not None:
            return self.rule.name
        return load_registry().track_rules(self.track)[-1][1].name

    @property
    def province(self) -> str:
        notice = self.notice or load_registry().track_rules(self.track)[-1][0]
        return notice.province


def track_facts(track: Track, moment: datetime) -> TrackFacts:
    """The track's facts on ``moment``'s Beijing date; a notice dated later is not known yet."""
    day = shanghai_date(moment)
    registry = load_registry()
    issued = [(notice, rule) for notice, rule in registry.track_rules(track) if notice.date <= day]
    if not issued:
        return TrackFacts(track, day, None, None, Stage.unpublished, None, None, None)
    pin = pin_for(track)
    pinned = [(notice, rule) for notice, rule in issued if notice.id == pin]
    if pinned:
        return _pinned_facts(track, day, *pinned[0])
    notice, rule = issued[-1]
    pos: Position = position(track, datetime.combine(day, time(12), tzinfo=SHANGHAI), registry)
    upcoming = pos.next_window if pos.next_window and pos.next_window.notice.date <= day else None
    last = None
    for window in windows(track, registry):
        if window.start > day:
            break
        last = window
    if pos.window is not None:
        stage = Stage.open
    elif upcoming is not None:
        stage = Stage.between
    else:
        stage = Stage.over
    if pos.window is not None and pos.notice is not None:
        notice = pos.notice
        rule = next(item for owner, item in registry.track_rules(track) if owner.id == notice.id)
    return TrackFacts(track, day, notice, rule, stage, pos.window, upcoming, last)


def _pinned_facts(track: Track, day: date, notice: Notice, rule: TrackRule) -> TrackFacts:
    """The track as the notice of the period asked about sets it ("2024年的征集": 319号's one period), judged on
    ``day``: a later notice's windows are another period's."""
    current = upcoming = last = None
    for window in windows(track, load_registry()):  # recurring rules never end: stop at the next one
        if window.start > day and (upcoming is not None or window.start.year > day.year + 1):
            break
        if window.notice.id != notice.id:
            continue
        if window.start > day:
            upcoming = window
        else:
            current = window if window.holds(day) else current
            last = window if last is None or window.end >= last.end else last
    stage = Stage.open if current else Stage.between if upcoming else Stage.over
    return TrackFacts(track, day, notice, rule, stage, current, upcoming, last)


def source(topic: str, track: Track, notice: Notice | None = None) -> Source | None:
    """faq.toml's source of ``topic`` for ``track`` (only one written for that track, never another's); with
    ``notice``, only a quote of that notice: on 2024-10-15 the notice in force is 319号, and 76号 (dated
    2025-03-20) cannot be quoted yet."""
    for item in sources_for(load_faq().topic(topic), [track]):
        if track in item.tracks and (notice is None or item.notice == notice.id):
            return item
    return None


def quoted(topic: str, track: Track, notice: Notice | None = None) -> str:
    """The clause quoted once, or nothing when faq.toml holds no quote of ``topic`` for ``track`` (in
    ``notice``, when given)."""
    item = source(topic, track, notice)
    return cite(item) if item else ""


@dataclass(frozen=True)
class FieldFact:
    """A form field as its form data gives it: the printed label of the province, the limit and the clause."""

    label: str
    limit: int | None
    clause: str


def field_fact(form: str, key: str, province: str | None) -> FieldFact | None:
    spec = form_spec(form)
    if spec is None:
        return None
    item: FieldSpec | None = spec.field(key)
    if item is None:
        return None
    label = item.label_for(province)
    return FieldFact(label, item.limit, item.clause)


def section_limits(form: str, section: str, province: str | None) -> list[FieldFact]:
    """Every limited field of a section, in the form's order (职业分析: 400, 300, 400, 200)."""
    spec = form_spec(form)
    if spec is None:
        return []
    return [
        FieldFact(item.label_for(province), item.limit, item.clause)
        for item in spec.fields
        if item.limit is not None and spec.section_of(item.key) == section
    ]
