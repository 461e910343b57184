"""The one clock of zhengji: every judgement of time goes through here.

Windows are judged in Asia/Shanghai whatever the host's zone is, and ``ZHENGJI_NOW`` freezes the clock so
that a window can be rehearsed before it opens.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def as_aware(instant: datetime) -> datetime:
    """Read a naive instant as Shanghai time: a clerk typing 2025-06-20T09:00 means Beijing time."""
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=SHANGHAI)


def now(fixed: datetime | None = None) -> datetime:
    """The current instant, or the fixed one (``ZHENGJI_NOW``) when the settings give one."""
    return as_aware(fixed) if fixed is not None else datetime.now(UTC)


def shanghai_date(instant: datetime) -> date:
    """The calendar day in Shanghai on which ``instant`` falls (a UTC evening is often the next day there)."""
    return as_aware(instant).astimezone(SHANGHAI).date()


def parse_instant(text: str) -> datetime:
    """Parse ISO-8601 from a command line or setting; a bare date means 00:00 in Shanghai."""
    value = datetime.fromisoformat(text.strip())
    return as_aware(value)
