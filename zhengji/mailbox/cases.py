"""Which case a mail belongs to: a new submission, or a new version of an earlier one.

In the order a clerk would look: the reference in the subject ("Re: 【ZJ-2025Q2-7K3M9P】…"), then the mail it
answers (In-Reply-To / References: one of our replies, or an earlier mail of the case), then the same sender
with the same track in the same window. Anything else opens a new case.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from zhengji.storage.models import Message, Reply, Submission
from zhengji.storage.references import find_reference, new_reference
from zhengji.storage.status import FINAL


def find_case(
    session: Session,
    *,
    subject: str | None,
    answered_ids: list[str],
    sender: str | None,
    track: str,
    window_start: datetime | None,
) -> Submission | None:
    """The open submission this mail continues, or None for a new case."""
    reference = find_reference(subject or "")
    if reference:
        found = session.exec(select(Submission).where(Submission.reference == reference)).first()
        if found and found.status not in FINAL:
            return found
    ids = [value for value in answered_ids if value]
    if ids:
        reply = session.exec(select(Reply).where(col(Reply.message_id_header).in_(ids))).first()
        submission_id = reply.submission_id if reply else None
        if submission_id is None:
            earlier = session.exec(
                select(Message).where(col(Message.message_id).in_(ids), col(Message.submission_id).is_not(None))
            ).first()
            submission_id = earlier.submission_id if earlier else None
        if submission_id is not None:
            found = session.get(Submission, submission_id)
            if found and found.status not in FINAL:
                return found
    if sender and track != "unknown" and window_start is not None:
        candidates = session.exec(
            select(Submission)
            .where(Submission.sender == sender.lower(), Submission.track == track)
            .where(Submission.created_at >= window_start)
            .order_by(col(Submission.id).desc())
        ).all()
        for found in candidates:
            if found.status not in FINAL:
                return found
    return None


def open_case(session: Session, *, track: str, notice: str | None, sender: str, name: str | None,
              subject: str | None, at: datetime) -> Submission:  # fmt: skip
    """A new submission with a fresh public reference (retried on the rare collision by the unique index)."""
    submission = Submission(
        reference=new_reference(at),
        track=track,
        notice=notice,
        sender=sender.lower(),
        sender_name=name,
        subject=(subject or "")[:998] or None,
        created_at=at,
        updated_at=at,
    )
    session.add(submission)
    session.flush()
    return submission
