"""The queue's index: one row a submission with what the queue filters, counts and sorts on.

A queue page of 20,000 submissions cannot read every document's JSON, so each case is summed up in a
``queue_entries`` row (status, sender, unit, occupation names, finding codes, window, reviewer) and its finding
codes in ``queue_entry_codes``, both indexed. The rows are derived, never edited by hand: every change to a
case is written with an audit event (the pipeline's verdicts, a reprocess, a reviewer's correction, decision or
assignment), so :func:`sync` reads the audit trail from where it last stopped and rebuilds the rows of the
cases it names. It runs before every queue page and is cheap when nothing changed (one indexed range read).

On PostgreSQL an audit event may become visible after one with a higher id (ids are taken before commit), so
each sync reads again the last :data:`MARGIN` ids before its mark; a case whose row is already as new as its
latest event is not rebuilt.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import delete, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from zhengji.clock import shanghai_date
from zhengji.notices.calendar import position, windows
from zhengji.notices.registry import Track, load_registry
from zhengji.review.recheck import VERDICT_ACTIONS, corrected, corrections_of
from zhengji.storage.models import (
    Assignment,
    AuditEvent,
    Document,
    LateException,
    Message,
    QueueEntry,
    QueueEntryCode,
    QueueEntryName,
    ReviewMark,
    Submission,
    VerdictRecord,
)
from zhengji.storage.status import CHECK_RESULTS, STANDING, last_verdicts

log = logging.getLogger(__name__)

MARK = "queue_audit_event"
MARGIN = 500
CHUNK = 400
UNLOCATED = "unlocated_field"

# Fields that name the unit behind a document, in the order they are trusted.
_UNIT_KEYS = ("recommender", "applicant", "signer")
# Fields (and row columns) that name the occupations or projects a document proposes.
_NAME_KEYS = ("name", "project")
_ROW_NAME_KEYS = ("name", "occupation", "work_type", "project")


def sync(session: Session) -> int:
    """Rebuild the rows of every case the audit trail changed since the last sync; commits; returns how many."""
    mark = session.get(ReviewMark, MARK)
    last = mark.value if mark is not None else 0
    low = max(0, last - MARGIN)
    latest: dict[int, int] = {
        submission_id: event_id
        for submission_id, event_id in session.exec(
            select(AuditEvent.submission_id, func.max(AuditEvent.id))
            .where(col(AuditEvent.id) > low, col(AuditEvent.submission_id).is_not(None))
            .group_by(col(AuditEvent.submission_id))
        ).all()
        if submission_id is not None and event_id is not None
    }
    top = session.exec(select(func.max(AuditEvent.id))).one() or 0
    stale: list[int] = []
    ids = sorted(latest)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        synced = dict(
            session.exec(
                select(QueueEntry.submission_id, QueueEntry.synced_event).where(
                    col(QueueEntry.submission_id).in_(chunk)
                )
            ).all()
        )
        stale.extend(sid for sid in chunk if synced.get(sid, -1) < latest[sid])
    if not stale and mark is not None and mark.value >= top:
        session.rollback()  # nothing changed: no write, no fsync on a page view
        return 0
    try:
        for start in range(0, len(stale), CHUNK):
            refresh(session, stale[start : start + CHUNK], latest)
        if mark is None:
            mark = ReviewMark(name=MARK, value=top)
        mark.value = max(mark.value, top)
        session.add(mark)
        session.commit()
    except IntegrityError:  # another request rebuilt the same rows at the same time; its rows stand
        session.rollback()
        log.info("queue index: a concurrent sync won; %d rows left to it", len(stale))
        return 0
    return len(stale)


def rebuild(session: Session, submission_ids: Iterable[int]) -> None:
    """Rebuild these cases' rows now (in the caller's transaction), e.g. right after a reviewer's action."""
    ids = sorted(set(submission_ids))
    if not ids:
        return
    session.flush()
    latest = dict(
        session.exec(
            select(AuditEvent.submission_id, func.max(AuditEvent.id))
            .where(col(AuditEvent.submission_id).in_(ids))
            .group_by(col(AuditEvent.submission_id))
        ).all()
    )
    refresh(session, ids, {key: value for key, value in latest.items() if key is not None and value is not None})


def _first_per(rows: Iterable[tuple[int | None, Any]]) -> dict[int, Any]:
    found: dict[int, Any] = {}
    for key, value in rows:
        if key is not None and key not in found:
            found[key] = value
    return found


def refresh(session: Session, ids: Sequence[int], latest: dict[int, int]) -> None:
    """Write the queue rows of ``ids`` (existing rows replaced) in the caller's transaction."""
    submissions = {s.id: s for s in session.exec(select(Submission).where(col(Submission.id).in_(ids))).all()}
    received = _first_per(
        session.exec(
            select(Message.submission_id, Message.received_at)
            .where(col(Message.submission_id).in_(ids))
            .order_by(col(Message.id).desc())
        ).all()
    )
    rows: dict[int, list[Document]] = {}
    for document in session.exec(
        select(Document)
        .where(col(Document.submission_id).in_(ids), col(Document.superseded).is_(False))
        .order_by(col(Document.id))
    ).all():
        rows.setdefault(document.submission_id or 0, []).append(document)
    corrections = corrections_of(session, [row.id for group in rows.values() for row in group if row.id])
    verdicts = last_verdicts(session, list(ids))
    first_status: dict[int, str] = {}
    for event in session.exec(
        select(AuditEvent)
        .where(col(AuditEvent.submission_id).in_(ids), col(AuditEvent.action).in_(("verdict", "status")))
        .order_by(col(AuditEvent.id))
    ).all():
        wanted = event.detail.get("to")
        if event.submission_id is not None and event.submission_id not in first_status and wanted in CHECK_RESULTS:
            first_status[event.submission_id] = str(wanted)
    assignees = dict(
        session.exec(
            select(Assignment.submission_id, Assignment.staff_id).where(col(Assignment.submission_id).in_(ids))
        ).all()
    )
    latest_mail = _first_per(
        session.exec(
            select(Message.submission_id, Message)
            .where(col(Message.submission_id).in_(ids))
            .order_by(col(Message.id).desc())
        ).all()
    )
    decided_at_mail = _first_per(
        (event.submission_id, event.detail.get("message_id"))
        for event in session.exec(
            select(AuditEvent)
            .where(col(AuditEvent.submission_id).in_(ids), AuditEvent.action == "decision")
            .order_by(col(AuditEvent.id).desc())
        ).all()
    )
    set_aside = _set_aside(session, ids)
    senders = {submission.sender for submission in submissions.values()}
    allowances: dict[tuple[str, str], date] = {}
    for exception in session.exec(select(LateException).where(col(LateException.sender).in_(senders))).all():
        key = (exception.sender, exception.track)
        allowances[key] = max(allowances.get(key, exception.until), exception.until)
    session.exec(delete(QueueEntryCode).where(col(QueueEntryCode.submission_id).in_(ids)))
    session.exec(delete(QueueEntryName).where(col(QueueEntryName.submission_id).in_(ids)))
    session.exec(delete(QueueEntry).where(col(QueueEntry.submission_id).in_(ids)))
    for submission_id in ids:
        submission = submissions.get(submission_id)
        if submission is None:
            continue
        moment = received.get(submission_id) or submission.created_at
        verdict = verdicts.get(submission_id)
        entry, codes, names = _entry(
            submission,
            moment,
            rows.get(submission_id, []),
            corrections,
            verdict,
        )
        mail = latest_mail.get(submission_id)
        entry.center = center_of(mail, submission.track) if mail is not None else None
        decided_at = decided_at_mail.get(submission_id)
        entry.mail_after_decision = bool(
            submission.decision in STANDING
            and mail is not None
            and isinstance(decided_at, int)
            and (mail.id or 0) > decided_at
        )
        entry.not_submission = submission_id in set_aside and submission.decision is None
        if entry.not_submission:
            # Its own bucket of the indexed status column, so that the status tabs and filters leave it out of the
            # open work at no cost; the status shown (Submission.status) stays the verdict.
            entry.status = SET_ASIDE
        late_until = allowances.get((submission.sender, submission.track))
        if late_until is not None:
            entry.window_start = late_window(submission.track, moment, late_until) or entry.window_start
        entry.first_status = first_status.get(submission_id)
        entry.assignee_id = assignees.get(submission_id)
        entry.synced_event = latest.get(submission_id, 0)
        session.add(entry)
        for code in sorted(codes):
            session.add(QueueEntryCode(submission_id=submission_id, code=code))
        for folded, name in names.items():
            session.add(QueueEntryName(submission_id=submission_id, key=folded, track=submission.track, name=name))
    session.flush()


def _entry(
    submission: Submission,
    received: datetime,
    documents: list[Document],
    corrections: dict[int, dict[str, Any]],
    verdict: VerdictRecord | None,
) -> tuple[QueueEntry, set[str], dict[str, str]]:
    assert submission.id is not None
    rechecked = dict(verdict.documents) if verdict is not None else {}
    findings: list[dict[str, Any]] = list(verdict.findings) if verdict is not None else []
    units: list[str] = []
    names: list[str] = []
    unlocated = 0
    for row in documents:
        fixes = corrections.get(row.id or 0, {})
        reviewed = corrected(row, fixes, received)
        own: list[dict[str, Any]] = (
            list(rechecked.get(str(row.id)) or []) if fixes and str(row.id) in rechecked else reviewed.findings
        )
        findings.extend(own)
        unlocated += sum(1 for finding in own if finding.get("code") == UNLOCATED)
        units.extend(_units(reviewed.fields))
        names.extend(_names(reviewed.fields))
    codes = {str(finding.get("code")) for finding in findings if finding.get("code")}
    unit = next(iter(dict.fromkeys(unit for unit in units if unit)), None) or submission.sender_name
    occupations = "、".join(dict.fromkeys(name for name in names if name))
    search = " ".join(
        part for part in (submission.reference, submission.sender, submission.sender_name, unit, occupations) if part
    ).lower()
    entry = QueueEntry(
        submission_id=submission.id,
        reference=submission.reference,
        track=submission.track,
        status=str(submission.status),
        sender=submission.sender,
        sender_name=submission.sender_name,
        unit=unit,
        occupations=occupations or None,
        search=search,
        codes=" ".join(sorted(codes)),
        errors=sum(1 for finding in findings if finding.get("severity") == "error"),
        warnings=sum(1 for finding in findings if finding.get("severity") == "warning"),
        unlocated=unlocated,
        documents=len(documents),
        version=submission.version,
        received_at=received,
        updated_at=submission.updated_at,
        window_start=window_of(submission.track, received),
    )
    keyed = {key: name[:300] for name in dict.fromkeys(names) if (key := name_key(name))}
    return entry, codes, keyed


def window_of(track: str, moment: datetime) -> date | None:
    """The first day of the window a mail belongs to: the one holding it, else the last one it came after."""
    if track not in Track.__members__:
        return None
    day = shanghai_date(moment)
    found: date | None = None
    for window in windows(track):
        if window.start > day:
            break
        found = window.start
    return found


def late_window(track: str, moment: datetime, until: date) -> date | None:
    """The first day of the window a case let in under a late exception was accepted for; None when no exception
    applies to a mail received at ``moment``.

    A mail between two windows is early for the next one (the calendar's 未到受理时间), and the exception takes it
    in now for that next collection: it is filed, counted and exported under that window, not under the window
    that closed before it (issue 15). After a track's last window there is no next one, and the case stays
    under the last.
    """
    if track not in Track.__members__:
        return None
    pos = position(track, moment)
    if pos.in_window or pos.day > until or pos.next_window is None:
        return None
    return pos.next_window.start


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list):
        return "、".join(str(item).strip() for item in value if isinstance(item, str) and item.strip())
    return ""


def _units(fields: dict[str, Any]) -> list[str]:
    return [text for key in _UNIT_KEYS if (text := _text(fields.get(key)))]


def proposed_names(fields: dict[str, Any]) -> list[str]:
    """The occupations, projects and 推荐表 rows (occupation（工种）) a document proposes, as the queue lists them."""
    return _names(fields)


def _names(fields: dict[str, Any]) -> list[str]:
    found = [text for key in _NAME_KEYS if (text := _text(fields.get(key)))]
    found += [text for text in [_text(fields.get("occupations"))] if text]
    for row in fields.get("rows") or []:
        if isinstance(row, dict):
            for key in _ROW_NAME_KEYS:
                text = _text(row.get(key))
                if text and key != "work_type":
                    found.append(
                        f"{text}（{_text(row.get('work_type'))}）"
                        if key == "occupation" and _text(row.get("work_type"))
                        else text
                    )
                    break
    return found


# --- what the queue marks: the receiving center, duplicates, mail that is not a submission --------------------

NOT_SUBMISSION = "not_submission"
"""The audit action of a clerk's "not a submission" (:mod:`zhengji.review.triage`)."""
SET_ASIDE = "not_submission"
"""The queue's status bucket of such a case (``QueueEntry.status``; never a submission's status)."""
_RESETS = (*VERDICT_ACTIONS, "decision", "track_set", "not_submission_cleared")
"""Actions after which an earlier "not a submission" no longer holds: a new verdict (the sender's forms came, a
clerk set the track), a decision."""
_NAME_MARKS = str.maketrans(dict.fromkeys("·•・‧'\"“”‘’《》〈〉「」『』【】", ""))


def center_of(message: Message, track: str) -> str | None:
    """The center (``centers.toml`` id) whose mailbox received ``message``: its SMTP envelope, else the IMAP
    account it was fetched from; the track's own center where both are unknown to the notices."""
    registry = load_registry()
    addresses = [*message.envelope_to, message.mailbox.split("/", 1)[0]]
    for address in addresses:
        found = registry.center_of_mailbox(address)
        if found is not None:
            return found.id
    if track in Track.__members__:
        return registry.center_of_track(track).id
    return None


@cache
def _simplified() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


def name_key(name: str) -> str:
    """How two occupation or project names are judged the same: as a clerk reads them, so NFKC (full and half
    width alike, （） as ()), Traditional characters as Simplified, Latin letters in one case, and no white space,
    middle dots, quotes or title marks; nothing else is dropped, so that 工种 in brackets still tell two rows of
    one occupation apart. Empty for a name with nothing left."""
    text = unicodedata.normalize("NFKC", name)
    text = _simplified().convert(text).casefold().translate(_NAME_MARKS)
    return "".join(text.split())[:200]


def _set_aside(session: Session, ids: Sequence[int]) -> set[int]:
    """The cases whose latest word is a clerk's "not a submission" (no verdict or decision since)."""
    latest = _first_per(
        (event.submission_id, event.action)
        for event in session.exec(
            select(AuditEvent)
            .where(col(AuditEvent.submission_id).in_(ids), col(AuditEvent.action).in_((NOT_SUBMISSION, *_RESETS)))
            .order_by(col(AuditEvent.id).desc())
        ).all()
    )
    return {submission_id for submission_id, action in latest.items() if action == NOT_SUBMISSION}


def duplicates(session: Session, submission_ids: Sequence[int], *, most: int = 5) -> dict[int, dict[str, list[str]]]:
    """For each of ``submission_ids`` that shares a name with another case of its track: each shared name and
    the references of (at most ``most``) other cases that propose it, oldest first.

    One indexed read a name, of at most ``most + 1`` rows: a name that thousands of cases share costs no more
    than one that two share.
    """
    if not submission_ids:
        return {}
    own = session.exec(select(QueueEntryName).where(col(QueueEntryName.submission_id).in_(list(submission_ids)))).all()
    if not own:
        return {}
    holders: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for track, key in {(row.track, row.key) for row in own}:
        holders[(track, key)] = [
            (int(submission_id), str(reference))
            for submission_id, reference in session.exec(
                select(QueueEntryName.submission_id, QueueEntry.reference)
                .join(QueueEntry, col(QueueEntry.submission_id) == col(QueueEntryName.submission_id))
                .where(QueueEntryName.key == key, QueueEntryName.track == track)
                .order_by(col(QueueEntryName.submission_id))
                .limit(most + 1)
            ).all()
        ]
    found: dict[int, dict[str, list[str]]] = {}
    for row in own:
        elsewhere = [reference for sid, reference in holders.get((row.track, row.key), []) if sid != row.submission_id]
        if elsewhere:
            found.setdefault(row.submission_id, {})[row.name] = elsewhere[:most]
    return found


def duplicated_ids() -> Any:
    """A subquery of every case that shares a name with another case of its track (the queue's filter)."""
    from sqlalchemy.orm import aliased

    other = aliased(QueueEntryName)
    return (
        select(QueueEntryName.submission_id)
        .join(
            other,
            (col(other.track) == col(QueueEntryName.track))
            & (col(other.key) == col(QueueEntryName.key))
            & (col(other.submission_id) != col(QueueEntryName.submission_id)),
        )
        .distinct()
    )
