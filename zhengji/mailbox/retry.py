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

from zhengji.mailbox.pipeline import read_mail
from zhengji.storage.blobs import BlobStore
from zhengji.storage.models import Document, Message, MessageState, Reply, ReplyState
from zhengji.storage.status import move_mail

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

    Each mail is read from the blob store (for the clerk's table) before the short transaction that moves it, and
    is moved only if it is still ``failed`` then, so that a retry never holds the database while it reads mail.
    """
    with Session(engine) as session:
        failed = session.exec(
            select(Message.id, Message.sha256, Message.envelope_from)
            .where(Message.state == MessageState.failed)
            .order_by(col(Message.id))
        ).all()
    retried: list[Retried] = []
    for message_id, sha256, envelope_from in failed:
        assert message_id is not None
        sender, subject = _who_and_what(blobs, message_id, sha256, envelope_from)
        with Session(engine) as session:
            message = session.get(Message, message_id)
            if message is None or message.state is not MessageState.failed:
                continue  # put back meanwhile by another clerk
            step = _step_to_resume(session, message)
            if step is MessageState.checked:
                unsent = session.exec(
                    select(Reply).where(Reply.message_id == message_id, Reply.state == ReplyState.failed)
                ).all()
                for reply in unsent:
                    reply.state = ReplyState.pending
                    session.add(reply)
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


def _who_and_what(blobs: BlobStore, message_id: int, sha256: str, envelope_from: str | None) -> tuple[str, str]:
    """The sender and subject a clerk recognises the mail by, read from the stored mail when it can be read."""
    try:
        incoming = read_mail(blobs.get(sha256))
    except Exception as error:
        log.warning("message %s: the stored mail cannot be read (%s: %s)", message_id, type(error).__name__, error)
        return envelope_from or "", ""
    return incoming.from_address or envelope_from or "", incoming.subject
