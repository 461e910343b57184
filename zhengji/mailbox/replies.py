"""The reply queue: the one way a mail in the center's name is queued to an applicant.

The pipeline's answer to a mail, the notice that staff took a mail over, a reviewer's decision, a clerk's answer,
a late exception's notice and a reprocess's corrected answer are all a :class:`~zhengji.storage.models.Reply` row
written here, in the caller's transaction, so that each of them is threaded under the mail it answers, numbered
after that mail's earlier replies (unique per mail and number: a crash cannot queue one twice), capped per sender
per day (a loop or a forged sender cannot make zhengji a spam cannon) and sent by the pipeline's reply step,
outside any transaction. ``review`` queues its mails here without knowing the pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import make_msgid
from typing import Protocol

from sqlalchemy import func
from sqlmodel import Session, col, select

from zhengji.clock import Clock
from zhengji.mailbox.compose import ComposedReply
from zhengji.mailbox.envelope import Envelope, deliverable
from zhengji.mailbox.outbox import thread_references
from zhengji.settings import Settings
from zhengji.storage.blobs import BlobStore, blob_store
from zhengji.storage.models import AuditEvent, Message, Reply, ReplyState, Submission

DAILY_REPLY_CAP = 10
"""Replies a day to one address (pending or sent) before the next is suppressed."""


def queue_reply(
    session: Session,
    message: Message,
    submission: Submission | None,
    composed: ComposedReply,
    *,
    to_address: str,
    envelope: Envelope,
    at: datetime,
    queued_at: datetime,
    actor: str,
) -> Reply:
    """Queue the next reply to ``message``: pending, or suppressed (the reason audited) when it must not go out.

    ``at`` is the business time of the audit record, ``queued_at`` the real time the daily cap per sender counts
    in. The caller commits, with whatever the reply belongs to (the verdict, a decision), so that both land or
    neither does.
    """
    assert message.id is not None
    to_address = deliverable(to_address)
    sequence = (
        1 + session.exec(select(func.coalesce(func.max(Reply.sequence), 0)).where(Reply.message_id == message.id)).one()
    )
    state = _state(session, to_address, queued_at) if message.reply_wanted else ReplyState.suppressed
    suffix = f".{sequence}" if sequence > 1 else ""
    reply = Reply(
        message_id=message.id,
        sequence=sequence,
        submission_id=submission.id if submission else None,
        to_address=to_address,
        subject=composed.subject,
        body=composed.body,
        message_id_header=make_msgid(f"reply{message.id}{suffix}", domain="zhengji.local"),
        in_reply_to=envelope.message_id or None,
        references_header=thread_references(list(envelope.references), envelope.message_id),
        state=state,
        created_at=queued_at,
    )
    session.add(reply)
    if state is ReplyState.suppressed:
        reason = "backfill" if not message.reply_wanted else "no_address" if not to_address else "daily_cap"
        session.add(
            AuditEvent(
                at=at,
                actor=actor,
                action="reply_suppressed",
                message_id=message.id,
                submission_id=submission.id if submission else None,
                detail={"sequence": sequence, "reason": reason},
            )
        )
    return reply


def _state(session: Session, to_address: str, moment: datetime) -> ReplyState:
    if not to_address:
        return ReplyState.suppressed
    recent = session.exec(
        select(func.count())
        .select_from(Reply)
        .where(func.lower(Reply.to_address) == to_address.lower(), col(Reply.created_at) >= moment - timedelta(days=1))
        .where(col(Reply.state).in_([ReplyState.sent, ReplyState.pending]))
    ).one()
    return ReplyState.suppressed if recent >= DAILY_REPLY_CAP else ReplyState.pending


class ReplyDesk(Protocol):
    """What a caller outside the pipeline needs to queue a mail: the clocks, the blob store, the queue."""

    @property
    def blobs(self) -> BlobStore: ...

    def now(self) -> datetime: ...

    def add_reply(
        self,
        session: Session,
        message: Message,
        submission: Submission | None,
        composed: ComposedReply,
        *,
        to_address: str,
        envelope: Envelope,
        moment: datetime,
    ) -> Reply: ...


@dataclass
class Replies:
    """The reply queue of a service: its settings and clocks, for ``review`` and the web to queue mail with."""

    settings: Settings
    clock: Clock | None = None
    actor: str = "staff"

    @property
    def blobs(self) -> BlobStore:
        return blob_store(self.settings)

    @property
    def clocks(self) -> Clock:
        return self.clock or Clock(self.settings.now)

    def now(self) -> datetime:
        """The business clock: the date a mail is signed, audit records."""
        return self.clocks.business()

    def add_reply(
        self,
        session: Session,
        message: Message,
        submission: Submission | None,
        composed: ComposedReply,
        *,
        to_address: str,
        envelope: Envelope,
        moment: datetime,
    ) -> Reply:
        """:func:`queue_reply` on this service's clocks."""
        return queue_reply(
            session, message, submission, composed, to_address=to_address, envelope=envelope, at=moment,
            queued_at=self.clocks.machine(), actor=self.actor,
        )  # fmt: skip
