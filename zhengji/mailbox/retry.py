"""Putting failed mail back on its path once staff fixed what stopped it (``zhengji reprocess --failed``).

A failed mail goes back to the step it failed at, with that step's full retries: ``received`` when it was never
parsed, ``parsed`` when its documents are stored, ``checked`` when it was judged but its answer could not be
sent (the replies that could not be sent are pending again). A notice already sent that staff took the mail
over stays sent: the verdict follows as the mail's next reply, so the applicant hears the outcome once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from zhengji.mailbox.mime import parse_mail
from zhengji.storage.blobs import BlobStore
from zhengji.storage.models import AuditEvent, Document, Message, MessageState, Reply, ReplyState

ACTOR = "reprocess"


@dataclass(frozen=True)
class Retried:
    """One failed mail put back, as the clerk's table shows it."""

    message_id: int
    sender: str
    subject: str
    received_at: datetime
    last_error: str
    step: MessageState


def retry_failed(engine: Engine, blobs: BlobStore, moment: datetime) -> list[Retried]:
    """Put every failed mail back at the step it failed at; returns them in the order they arrived."""
    retried: list[Retried] = []
    with Session(engine) as session:
        failed = session.exec(
            select(Message).where(Message.state == MessageState.failed).order_by(col(Message.id)).with_for_update()
        ).all()
        for message in failed:
            assert message.id is not None
            step = _step_to_resume(session, message)
            if step is MessageState.checked:
                unsent = session.exec(
                    select(Reply).where(Reply.message_id == message.id, Reply.state == ReplyState.failed)
                ).all()
                for reply in unsent:
                    reply.state = ReplyState.pending
                    session.add(reply)
            sender, subject = _who_and_what(blobs, message)
            retried.append(Retried(message.id, sender, subject, message.received_at, message.last_error or "",
                                   step))  # fmt: skip
            session.add(
                AuditEvent(
                    at=moment,
                    actor=ACTOR,
                    action="retried",
                    message_id=message.id,
                    submission_id=message.submission_id,
                    detail={"step": step.value, "last_error": message.last_error},
                )
            )
            message.state = step
            message.attempts = 0
            message.next_attempt_at = None
            message.claimed_by = None
            message.claimed_until = None
            session.add(message)
        session.commit()
    return retried


def _step_to_resume(session: Session, message: Message) -> MessageState:
    # The check step files a mail under its case in the same commit that makes it `checked`; the parse step
    # stores its documents in the commit that makes it `parsed`. What is stored tells how far it came.
    if message.submission_id is not None:
        return MessageState.checked
    parsed = session.exec(select(Document.id).where(Document.message_id == message.id).limit(1)).first()
    return MessageState.parsed if parsed is not None else MessageState.received


def _who_and_what(blobs: BlobStore, message: Message) -> tuple[str, str]:
    """The sender and subject a clerk recognises the mail by, read from the stored mail when it can be read."""
    try:
        incoming = parse_mail(blobs.get(message.sha256))
    except Exception:
        return message.envelope_from or "", ""
    return incoming.from_address or message.envelope_from or "", incoming.subject
