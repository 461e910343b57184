"""Putting failed mail back on its path once staff fixed what stopped it (``zhengji reprocess --failed``).

A failed mail goes back to the step it failed at, with that step's full retries: ``received`` when it was never
parsed, ``parsed`` when its documents are stored, ``checked`` when it was judged but its answer could not be
sent (the replies that could not be sent are pending again). A notice already sent that staff took the mail
over stays sent: the verdict follows as the mail's next reply, so the applicant hears the outcome once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from zhengji.mailbox.envelope import stored_envelope
from zhengji.storage.blobs import BlobStore
from zhengji.storage.models import Document, Message, MessageState, Reply, ReplyState
from zhengji.storage.status import move_mail, move_replies

log = logging.getLogger(__name__)

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
    """Put every failed mail back at the step it failed at; returns them in the order they arrived.

    The sender and subject of each (for the clerk's table) come from its stored envelope, read before the short
    transaction that moves it (a mail that failed before its parse step stored one is decoded then, outside it);
    it is moved only if it is still ``failed`` then, so that a retry never holds the database while it reads mail.
    """
    with Session(engine) as session:
        failed = session.exec(
            select(Message).where(Message.state == MessageState.failed).order_by(col(Message.id))
        ).all()
        for row in failed:
            session.expunge(row)
    retried: list[Retried] = []
    for stored in failed:
        message_id = stored.id
        assert message_id is not None
        envelope = stored_envelope(stored, blobs)
        sender, subject = envelope.from_address or stored.envelope_from or "", envelope.subject
        with Session(engine) as session:
            message = session.get(Message, message_id)
            if message is None or message.state is not MessageState.failed:
                continue  # put back meanwhile by another clerk
            step = _step_to_resume(session, message)
            if step is MessageState.checked:
                move_replies(session, ReplyState.failed, ReplyState.pending, col(Reply.message_id) == message_id)
            last_error, received_at = message.last_error or "", message.received_at
            moved = move_mail(
                session, message_id, MessageState.failed, step, actor=ACTOR, at=moment, action="retried",
                submission_id=message.submission_id, detail={"step": step.value, "last_error": message.last_error},
                attempts=0, next_attempt_at=None, claimed_by=None, claimed_until=None,
            )  # fmt: skip
            if not moved:
                session.rollback()
                log.info("message %s was put back meanwhile; left as it is", message_id)
                continue
            session.commit()
        retried.append(Retried(message_id, sender, subject, received_at, last_error, step))
    return retried


def _step_to_resume(session: Session, message: Message) -> MessageState:
    # The check step files a mail under its case in the same commit that makes it `checked`; the parse step
    # stores its documents in the commit that makes it `parsed`. What is stored tells how far it came.
    if message.submission_id is not None:
        return MessageState.checked
    parsed = session.exec(select(Document.id).where(Document.message_id == message.id).limit(1)).first()
    return MessageState.parsed if parsed is not None else MessageState.received
