"""Which case a mail belongs to: a new submission, or a new version of an earlier one.

In the order a clerk would look: the reference in the subject ("Re: 【ZJ-2025Q2-7K3M9P】…"), then the mail it
answers (In-Reply-To / References: one of our replies, or an earlier mail of the case), then the same sender
with the same track in the same window. Anything else opens a new case.

A mail that names a case a reviewer decided (``accepted``, ``declined``) by reference or thread is filed to that
case as a new version for the reviewer to see, and the decision stands (the contract's "Submission statuses"); a
mail that only shares its sender, track and window with such a case opens a new one, since a unit may propose
another occupation in the same window after its first was decided.

A mail with no file (a question, :mod:`zhengji.mailbox.answer`) is only ever filed to the case it names by
reference or thread, never a new version of it: it brings nothing to judge, and judging nothing would wipe the
case's documents and demand every form again.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from zhengji.storage.models import Message, Reply, Submission
from zhengji.storage.references import find_reference, new_reference
from zhengji.storage.status import STANDING


def find_case(
    session: Session,
    *,
    subject: str | None,
    answered_ids: list[str],
    sender: str | None,
    track: str,
    window_start: datetime | None,
) -> Submission | None:
    """The submission this mail continues, or None for a new case."""
    found = threaded_case(session, subject=subject, answered_ids=answered_ids, open_only=False)
    if found is not None:
        return found
    if sender and track != "unknown" and window_start is not None:
        candidates = session.exec(
            select(Submission)
            .where(Submission.sender == sender.lower(), Submission.track == track)
            .where(Submission.created_at >= window_start)
            .order_by(col(Submission.id).desc())
        ).all()
        for found in candidates:
            if found.decision not in STANDING:
                return found
    return None


def threaded_case(
    session: Session, *, subject: str | None, answered_ids: list[str], open_only: bool
) -> Submission | None:
    """The case the mail names: the reference in its subject, else the mail it answers (one of our replies, or an
    earlier mail of the case). ``open_only`` leaves out a case whose decision stands (accepted, declined)."""
    reference = find_reference(subject or "")
    if reference:
        found = session.exec(select(Submission).where(Submission.reference == reference)).first()
        if found and (not open_only or found.decision not in STANDING):
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
            if found and (not open_only or found.decision not in STANDING):
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
