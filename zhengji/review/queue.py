"""The queue: a filter kept in the query string, counts per status, a sorted page, and the next case to open.

The filter is the contract's query (``track``, ``status``, ``code``, ``q``, ``window``, ``page``) plus the
reviewer (``reviewer``: an account id, ``me`` or ``none``), the receiving mailbox (``mailbox``: a center's id in
``centers.toml``, since Guangdong's and Shanghai's mail share one queue), a mark (``mark``: ``duplicate``,
``new_mail`` after a decision, ``not_submission``) and the order (``sort``). A value that makes no sense is
ignored rather than refused, so that an old bookmark still opens the queue.

A case a clerk marked as not a submission has left the open work: its queue row's status is the bucket
``not_submission`` (:data:`zhengji.review.index.SET_ASIDE`), so the status tabs do not count it as 待人工确认 and a
status filter does not list it; ``mark=not_submission`` does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from zhengji.notices.registry import load_registry
from zhengji.review.index import SET_ASIDE, duplicated_ids
from zhengji.review.labels import CODE_LABELS
from zhengji.storage.models import QueueEntry, QueueEntryCode
from zhengji.storage.status import SubmissionStatus

PER_PAGE = 50
MAX_PAGE_SIZE = 200
SORTS: dict[str, tuple[str, str]] = {
    "-received": ("received_at", "desc"),
    "received": ("received_at", "asc"),
    "reference": ("reference", "asc"),
    "-errors": ("errors", "desc"),
    "-updated": ("updated_at", "desc"),
}
SORT_LABELS = {
    "-received": "收件时间（新→旧）",
    "received": "收件时间（旧→新）",
    "-updated": "最近变动",
    "-errors": "问题数（多→少）",
    "reference": "受理编号",
}
_STATUSES = {status.value for status in SubmissionStatus}
MARK_LABELS = {
    "duplicate": "疑似重复申报",
    "new_mail": "决定后收到新邮件",
    "not_submission": "非申报来信",
}


def mailbox_labels() -> dict[str, str]:
    """The receiving mailboxes a reviewer filters by, keyed by their center's id."""
    return {center.id: f"{'、'.join(center.mailboxes)}（{center.name}）" for center in load_registry().centers}


@dataclass(frozen=True)
class QueueQuery:
    track: str | None = None
    statuses: tuple[str, ...] = ()
    code: str | None = None
    q: str | None = None
    window: date | None = None
    reviewer: str | None = None  # an account id, "none" (unassigned); "me" is resolved by the caller
    mailbox: str | None = None  # a center's id: the cases received at its mailboxes
    mark: str | None = None  # one of MARK_LABELS
    sort: str = "-received"
    page: int = 1
    per_page: int = PER_PAGE

    @classmethod
    def from_params(cls, params: Mapping[str, str], *, me: int | None = None) -> QueueQuery:
        statuses = tuple(
            dict.fromkeys(part for part in (params.get("status") or "").split(",") if part.strip() in _STATUSES)
        )
        code = params.get("code") or None
        window: date | None = None
        try:
            window = date.fromisoformat(params["window"]) if params.get("window") else None
        except ValueError:
            window = None
        reviewer = (params.get("reviewer") or "").strip() or None
        if reviewer == "me":
            reviewer = str(me) if me is not None else None
        if reviewer is not None and reviewer != "none" and not reviewer.isdigit():
            reviewer = None
        sort = params.get("sort") or "-received"
        mailbox = (params.get("mailbox") or "").strip() or None
        mark = (params.get("mark") or "").strip() or None
        return cls(
            mailbox=mailbox if mailbox in mailbox_labels() else None,
            mark=mark if mark in MARK_LABELS else None,
            track=(params.get("track") or "").strip() or None,
            statuses=statuses,
            code=code if code in CODE_LABELS else None,
            q=(params.get("q") or "").strip()[:100] or None,
            window=window,
            reviewer=reviewer,
            sort=sort if sort in SORTS else "-received",
            page=_int(params.get("page"), 1, 1, 100000),
            per_page=_int(params.get("per_page"), PER_PAGE, 1, MAX_PAGE_SIZE),
        )

    def params(self, **changes: Any) -> dict[str, str]:
        """The query string of this filter (with ``changes``), without defaults."""
        query = replace(self, **changes) if changes else self
        values = {
            "track": query.track,
            "status": ",".join(query.statuses) or None,
            "code": query.code,
            "q": query.q,
            "window": query.window.isoformat() if query.window else None,
            "reviewer": query.reviewer,
            "mailbox": query.mailbox,
            "mark": query.mark,
            "sort": query.sort if query.sort != "-received" else None,
            "page": str(query.page) if query.page != 1 else None,
            "per_page": str(query.per_page) if query.per_page != PER_PAGE else None,
        }
        return {key: value for key, value in values.items() if value}

    def url(self, **changes: Any) -> str:
        encoded = urlencode(self.params(**changes))
        return f"/staff/queue?{encoded}" if encoded else "/staff/queue"

    @property
    def filtered(self) -> bool:
        return bool(
            self.track
            or self.statuses
            or self.code
            or self.q
            or self.window
            or self.reviewer
            or self.mailbox
            or self.mark
        )


def _int(text: str | None, default: int, low: int, high: int) -> int:
    try:
        return min(max(int(text or default), low), high)
    except ValueError:
        return default


def conditions(query: QueueQuery, *, with_status: bool = True) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if query.track:
        found.append(col(QueueEntry.track) == query.track)
    if with_status and query.statuses:
        found.append(col(QueueEntry.status).in_(query.statuses))
    if query.window:
        found.append(col(QueueEntry.window_start) == query.window)
    if query.reviewer == "none":
        found.append(col(QueueEntry.assignee_id).is_(None))
    elif query.reviewer:
        found.append(col(QueueEntry.assignee_id) == int(query.reviewer))
    if query.code:
        having = select(QueueEntryCode.submission_id).where(QueueEntryCode.code == query.code)
        found.append(col(QueueEntry.submission_id).in_(having))
    if query.q:
        found.append(col(QueueEntry.search).contains(query.q.lower(), autoescape=True))
    if query.mailbox:
        found.append(col(QueueEntry.center) == query.mailbox)
    if query.mark == "duplicate":
        found.append(col(QueueEntry.submission_id).in_(duplicated_ids()))
    elif query.mark == "new_mail":
        found.append(col(QueueEntry.mail_after_decision).is_(True))
    elif query.mark == "not_submission":
        found.append(col(QueueEntry.status) == SET_ASIDE)
    return found


def _order(query: QueueQuery) -> list[Any]:
    column, direction = SORTS[query.sort]
    first = getattr(QueueEntry, column)
    tie = col(QueueEntry.submission_id)
    if direction == "desc":
        return [col(first).desc(), tie.desc()]
    return [col(first).asc(), tie.asc()]


def page(session: Session, query: QueueQuery) -> tuple[int, list[QueueEntry]]:
    """The total under the filter and the entries of the query's page."""
    where = conditions(query)
    total = session.exec(select(func.count()).select_from(QueueEntry).where(*where)).one()
    entries = session.exec(
        select(QueueEntry)
        .where(*where)
        .order_by(*_order(query))
        .offset((query.page - 1) * query.per_page)
        .limit(query.per_page)
    ).all()
    return int(total), list(entries)


def counts(session: Session, query: QueueQuery) -> dict[str, int]:
    """Submissions per status under every filter but the status; the cases set aside as not submissions
    under ``not_submission`` apart (they left the open work)."""
    rows = session.exec(
        select(QueueEntry.status, func.count())
        .where(*conditions(query, with_status=False))
        .group_by(col(QueueEntry.status))
    ).all()
    return {str(status): int(number) for status, number in rows}


def windows_in_queue(session: Session, track: str | None) -> list[tuple[str, date]]:
    """(track, first day) of every window that holds submissions, newest first."""
    query = select(col(QueueEntry.track), col(QueueEntry.window_start)).distinct()
    if track:
        query = query.where(QueueEntry.track == track)
    rows = session.exec(query.where(col(QueueEntry.window_start).is_not(None))).all()
    return sorted(((str(t), w) for t, w in rows if w is not None), key=lambda item: (item[1], item[0]), reverse=True)


def neighbour(session: Session, query: QueueQuery, submission_id: int) -> str | None:
    """The reference after ``submission_id`` in the filtered order (the case "save and next" opens)."""
    current = session.get(QueueEntry, submission_id)
    if current is None:
        return None
    column, direction = SORTS[query.sort]
    value = getattr(current, column)
    first = col(getattr(QueueEntry, column))
    tie = col(QueueEntry.submission_id)
    if direction == "desc":
        after = (first < value) | ((first == value) & (tie < submission_id))
    else:
        after = (first > value) | ((first == value) & (tie > submission_id))
    found = session.exec(
        select(QueueEntry.reference).where(*conditions(query), after).order_by(*_order(query)).limit(1)
    ).first()
    return str(found) if found else None
