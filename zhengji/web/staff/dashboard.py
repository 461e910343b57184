"""The dashboard: how a window is going, drawn on the server, and the backlog: the cases that wait for a person,
by status and by reviewer, across every window (work does not stop when a window closes)."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select

from zhengji.clock import shanghai_date
from zhengji.notices.calendar import position, windows
from zhengji.notices.registry import load_registry
from zhengji.review.index import SET_ASIDE, sync
from zhengji.review.labels import QUEUE_STATUSES, code_label, track_names
from zhengji.review.queue import windows_in_queue
from zhengji.storage.models import QueueEntry, QueueEntryCode, StaffUser
from zhengji.storage.status import Decision
from zhengji.web.staff.charts import bars, columns, ring
from zhengji.web.staff.context import business_now, database, templates
from zhengji.web.staff.guard import staff_of

router = APIRouter()


def _window_end(track: str | None, start: date) -> date | None:
    for candidate in [track] if track else list(track_names()):
        for window in windows(candidate):
            if window.start == start:
                return window.end
            if window.start > start:
                break
    return None


DECIDED = frozenset(decision.value for decision in Decision)
"""Shown statuses that are a reviewer's decision: what is no longer open work."""


def backlog(session: Any, track: str | None) -> dict[str, Any]:
    """The open work: cases with no decision that a clerk has not set aside as not a submission, counted by
    status and, for each reviewer (and 未分配), by status; with the count of decided cases that got mail since."""
    where: list[ColumnElement[bool]] = [
        col(QueueEntry.status).not_in({*DECIDED, SET_ASIDE}),
    ]
    if track:
        where.append(col(QueueEntry.track) == track)
    rows = session.exec(
        select(QueueEntry.assignee_id, QueueEntry.status, func.count())
        .where(*where)
        .group_by(col(QueueEntry.assignee_id), col(QueueEntry.status))
    ).all()
    names = dict(session.exec(select(StaffUser.id, StaffUser.name)).all())
    by_status: dict[str, int] = {}
    by_reviewer: dict[int | None, dict[str, int]] = {}
    for assignee, status, count in rows:
        by_status[str(status)] = by_status.get(str(status), 0) + int(count)
        by_reviewer.setdefault(assignee, {})[str(status)] = int(count)
    statuses = [status.value for status in QUEUE_STATUSES if status.value in by_status]
    reviewers = sorted(
        (
            {
                "id": assignee,
                "name": names.get(assignee, "（已删除的账号）") if assignee is not None else "未分配",
                "counts": counts,
                "total": sum(counts.values()),
            }
            for assignee, counts in by_reviewer.items()
        ),
        key=lambda item: (item["id"] is None, str(item["name"])),
    )
    new_mail: list[ColumnElement[bool]] = [col(QueueEntry.mail_after_decision).is_(True)]
    if track:
        new_mail.append(col(QueueEntry.track) == track)
    return {
        "statuses": statuses,
        "by_status": by_status,
        "total": sum(by_status.values()),
        "reviewers": reviewers,
        "new_mail": int(session.exec(select(func.count()).select_from(QueueEntry).where(*new_mail)).one()),
    }


def _next_windows(today_moment: Any) -> list[dict[str, Any]]:
    registry = load_registry()
    found = []
    for track in registry.tracks():
        pos = position(track, today_moment, registry)
        shown = pos.window or pos.next_window
        found.append(
            {
                "track": track.value,
                "window": pos.window,
                "next": pos.next_window,
                "days_left": pos.days_left(),
                "notice": shown.notice.number if shown is not None else "",
            }
        )
    return found


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request) -> Response:
    staff = staff_of(request)
    track = request.query_params.get("track") or None
    if track not in track_names():
        track = None
    with database(request) as session:
        sync(session)
        options = windows_in_queue(session, track)
        chosen: date | None
        try:
            chosen = date.fromisoformat(request.query_params.get("window", ""))
        except ValueError:
            chosen = options[0][1] if options else None
        where = [col(QueueEntry.window_start) == chosen]
        if track:
            where.append(col(QueueEntry.track) == track)
        times = session.exec(select(QueueEntry.received_at).where(*where)).all()
        firsts = session.exec(
            select(QueueEntry.first_status, func.count()).where(*where).group_by(col(QueueEntry.first_status))
        ).all()
        top = session.exec(
            select(QueueEntryCode.code, func.count())
            .join(QueueEntry, col(QueueEntry.submission_id) == col(QueueEntryCode.submission_id))
            .where(*where)
            .group_by(col(QueueEntryCode.code))
            .order_by(func.count().desc(), col(QueueEntryCode.code))
            .limit(10)
        ).all()
        unlocated = session.exec(
            select(QueueEntry)
            .where(*where, col(QueueEntry.unlocated) > 0)
            .order_by(col(QueueEntry.unlocated).desc(), col(QueueEntry.received_at).desc())
            .limit(20)
        ).all()
        waiting = backlog(session, track)
        unlocated_total = session.exec(
            select(func.count()).select_from(QueueEntry).where(*where, col(QueueEntry.unlocated) > 0)
        ).one()
    per_day = Counter(shanghai_date(moment) for moment in times)
    days: list[tuple[str, int]] = []
    if chosen is not None:
        end = _window_end(track, chosen) or max(per_day, default=chosen)
        end = max(end, max(per_day, default=end))
        day = min(chosen, min(per_day, default=chosen))
        while day <= end and len(days) < 400:
            days.append((f"{day.month}-{day.day:02d}", per_day.get(day, 0)))
            day += timedelta(days=1)
    judged = {str(status): int(count) for status, count in firsts if status}
    total_judged = sum(judged.values())
    share = judged.get("complete", 0) / total_judged if total_judged else None
    return templates().TemplateResponse(
        request,
        "staff/dashboard.html",
        {
            "staff": staff,
            "csrf": staff.csrf,
            "nav": "dashboard",
            "track": track,
            "tracks": track_names(),
            "options": options,
            "chosen": chosen,
            "total": len(times),
            "per_day": columns(days, title="每日收到的申报件数"),
            "share": share,
            "share_ring": ring(share, title="首次提交即材料齐全的比例"),
            "complete_first": judged.get("complete", 0),
            "total_judged": total_judged,
            "top": bars([(code_label(str(code)), int(count)) for code, count in top], title="最常见的十类问题"),
            "unlocated": unlocated,
            "unlocated_total": int(unlocated_total),
            "backlog": waiting,
            "next_windows": _next_windows(business_now(request)),
            "today": shanghai_date(business_now(request)),
        },
    )
