"""The public table of tracks and windows: each notice with the window its track is in, or, for a notice whose
own period is over (沪人社职〔2024〕319号), that it has ended and which notice took its place.

Without this a notice that ended would stand beside its track's next window (opened by its successor) as if it
were still the notice to answer; an applicant reading 319号's row would send the 2024 form to the 2025 window.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from zhengji.clock import shanghai_date
from zhengji.notices.calendar import position
from zhengji.notices.registry import Notice, PeriodRule, Registry, TrackRule, load_registry


def ended_on(rule: TrackRule) -> date | None:
    """The last day of a notice's own window for a track when it is a one-off period; None for recurring ones."""
    return rule.window.end if isinstance(rule.window, PeriodRule) else None


def successor(registry: Registry, notice: Notice, rule: TrackRule) -> Notice | None:
    """The next notice that opens windows for the same track."""
    later = [other for other, _ in registry.track_rules(rule.id) if other.date > notice.date]
    return later[0] if later else None


def window_overview(moment: datetime, registry: Registry | None = None) -> list[dict[str, Any]]:
    """Every track of every notice with its current and next window, as the public page and ``/api/windows`` show
    them; an ended notice has ``ended`` (its last day) and ``successor`` (the notice that replaced it) instead."""
    registry = registry or load_registry()
    today = shanghai_date(moment)
    rows = []
    for notice in registry.notices:
        for rule in notice.tracks:
            last = ended_on(rule)
            replaced_by = successor(registry, notice, rule) if last is not None and last < today else None
            ended = last is not None and last < today
            pos = position(rule.id, moment, registry)
            rows.append(
                {
                    "notice": notice.number,
                    "notice_title": notice.title,
                    "track": rule.id.value,
                    "name": rule.name,
                    "mailbox": rule.mailbox,
                    "in_window": pos.in_window and not ended,
                    "window": pos.window.as_json() if pos.window and not ended else None,
                    "next_window": pos.next_window.as_json() if pos.next_window and not ended else None,
                    "days_left": None if ended else pos.days_left(),
                    "ended": last.isoformat() if ended and last else None,
                    "successor": replaced_by.number if replaced_by else None,
                }
            )
    return rows
