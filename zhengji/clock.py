"""The one clock of zhengji: every judgement of time goes through here, and it tells two times apart.

- The **business clock** says what day it is for the applicant: which window a mail falls in, when it was
  received, the date a reply is signed. ``ZHENGJI_NOW`` freezes it, so that a window can be rehearsed before it
  opens.
- The **real clock** runs the machinery: claims and their leases, retries and their backoff, time-outs, rate
  caps. It is never frozen: a rehearsal with ``ZHENGJI_NOW`` must still retry a failed step after its wait and
  free the claim of a dead worker, which a frozen clock would never do.

Windows are judged in Asia/Shanghai whatever the host's zone is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def as_aware(instant: datetime) -> datetime:
    """Read a naive instant as Shanghai time: a clerk typing 2025-06-20T09:00 means Beijing time."""
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=SHANGHAI)


def real_now() -> datetime:
    """The machine's time, never frozen: what leases, retries, time-outs and rate caps are measured on."""
    return datetime.now(UTC)


def now(fixed: datetime | None = None) -> datetime:
    """The business clock: the fixed instant (``ZHENGJI_NOW``) when the settings give one, else the real time."""
    return as_aware(fixed) if fixed is not None else real_now()


@dataclass(frozen=True)
class Clock:
    """Both clocks of one service or command, so that no caller picks the wrong one by accident.

    ``real`` is injectable so that a test can move the machinery's time (a retry due in an hour) without waiting
    and without touching the business clock; with no ``fixed`` instant the business clock follows it.
    """

    fixed: datetime | None = None
    real: Callable[[], datetime] = field(default=real_now)

    def business(self) -> datetime:
        """What day it is for the applicant: windows, received times, reply dates, audit records."""
        return as_aware(self.fixed) if self.fixed is not None else self.real()

    def machine(self) -> datetime:
        """The real time: leases, retries, backoff, time-outs, rate caps."""
        return self.real()


def shanghai_date(instant: datetime) -> date:
    """The calendar day in Shanghai on which ``instant`` falls (a UTC evening is often the next day there)."""
    return as_aware(instant).astimezone(SHANGHAI).date()


def parse_instant(text: str) -> datetime:
    """Parse ISO-8601 from a command line or setting; a bare date means 00:00 in Shanghai."""
    value = datetime.fromisoformat(text.strip())
    return as_aware(value)
