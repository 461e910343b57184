"""The tables. Models stay thin: the workflow lives in the domain modules that use them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from zhengji.storage.status import SubmissionStatus
from zhengji.storage.types import JSONType, UTCDateTime, enum_column


class MessageSource(StrEnum):
    smtp = "smtp"  # the built-in inbound SMTP server
    imap = "imap"  # a watched inbox such as yanfa312@126.com
    file = "file"  # back-filled from an .eml with `zhengji ingest`


class MessageState(StrEnum):
    """How far a mail has come on its path: received → parsed → checked → replied."""

    received = "received"
    parsed = "parsed"
    checked = "checked"
    replied = "replied"
    # Parsing or checking gave up after retries; the sender is being told that staff took the mail over.
    escalated = "escalated"
    failed = "failed"  # gave up after retries; staff see it in the queue (`zhengji reprocess --failed` retries)
    ignored = "ignored"  # automatic mail (bounces, auto-replies): kept, never answered


class ReplyState(StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"  # the outgoing server could not be reached for about a day; retried with its mail
    refused = "refused"  # the outgoing server refused it for good (5xx: no such recipient, content refused)
    suppressed = "suppressed"  # not sent on purpose (automatic sender, rate cap); the reason is kept


def _time(**kwargs: Any) -> Any:
    return Field(sa_column=sa.Column(UTCDateTime(), **kwargs))


class Message(SQLModel, table=True):
    """One received mail. Its raw bytes live in the blob store under ``sha256``, written before this row."""

    __tablename__ = "messages"
    __table_args__ = (sa.UniqueConstraint("mailbox", "imap_uidvalidity", "imap_uid", name="uq_messages_imap_uid"),)

    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(max_length=64, index=True)
    size: int
    message_id: str | None = Field(default=None, max_length=998, index=True)
    source: MessageSource = Field(sa_column=enum_column(MessageSource, nullable=False))
    # The address it was received for (SMTP), or the IMAP account and folder.
    mailbox: str = Field(max_length=320)
    imap_uidvalidity: int | None = Field(default=None, sa_type=sa.BigInteger)
    imap_uid: int | None = Field(default=None, sa_type=sa.BigInteger)
    # Set once the mail was flagged in its IMAP folder after processing (the watcher does it, never before).
    imap_flagged: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    envelope_from: str | None = Field(default=None, max_length=320)
    envelope_to: list[str] = Field(default_factory=list, sa_column=sa.Column(JSONType, nullable=False))
    # When the mailbox got it (SMTP receipt or IMAP INTERNALDATE), never the sender's Date: header.
    received_at: datetime = _time(nullable=False, index=True)
    state: MessageState = Field(
        default=MessageState.received, sa_column=enum_column(MessageState, nullable=False, index=True)
    )
    attempts: int = 0
    next_attempt_at: datetime | None = _time(nullable=True)
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    claimed_by: str | None = Field(default=None, max_length=120)
    claimed_until: datetime | None = _time(nullable=True)
    # False for old mail back-filled with `zhengji ingest` (without --reply): processed and filed, never answered.
    reply_wanted: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    submission_id: int | None = Field(default=None, foreign_key="submissions.id", index=True)
    # Which version of its submission this mail made (1 for the first mail of a case).
    version: int | None = None


class Submission(SQLModel, table=True):
    """One case: an applicant's submission for one track, across the mails that amend it."""

    __tablename__ = "submissions"

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=32, unique=True)
    track: str = Field(max_length=40, index=True)
    notice: str | None = Field(default=None, max_length=80)
    status: SubmissionStatus = Field(
        default=SubmissionStatus.received, sa_column=enum_column(SubmissionStatus, nullable=False, index=True)
    )
    sender: str = Field(max_length=320, index=True)
    sender_name: str | None = Field(default=None, max_length=200)
    subject: str | None = Field(default=None, max_length=998)
    version: int = 1
    created_at: datetime = _time(nullable=False)
    updated_at: datetime = _time(nullable=False)


class Document(SQLModel, table=True):
    """One attachment as parsed: what form it is, its fields and findings, and which parser said so.

    Written by the parse step with no submission yet; the check step then files it under its case (setting
    ``submission_id`` and ``version``) and stores the findings as judged with the rest of the mail.
    """

    __tablename__ = "documents"

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="messages.id", index=True)
    submission_id: int | None = Field(default=None, foreign_key="submissions.id", index=True)
    version: int = 1
    filename: str = Field(max_length=500)
    sha256: str = Field(max_length=64, index=True)
    size: int
    format: str = Field(max_length=16)
    form: str = Field(max_length=48)
    fields: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(JSONType, nullable=False))
    findings: list[dict[str, Any]] = Field(default_factory=list, sa_column=sa.Column(JSONType, nullable=False))
    # Evidence the submission check reads besides fields and findings: red seals on a PDF, a text layer or a scan.
    red_seals: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    text_layer: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    parser_version: str = Field(max_length=32)
    superseded: bool = False
    created_at: datetime = _time(nullable=False)


class Reply(SQLModel, table=True):
    """An answer to a processed mail: ``sequence`` 1 is the one answer of the pipeline (unique per message, so a
    crash cannot make it two); a clerk's ``zhengji reprocess --reply`` adds the next sequence number."""

    __tablename__ = "replies"
    __table_args__ = (sa.UniqueConstraint("message_id", "sequence", name="uq_replies_message_sequence"),)

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="messages.id", index=True)
    sequence: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    submission_id: int | None = Field(default=None, foreign_key="submissions.id", index=True)
    to_address: str = Field(max_length=320)
    subject: str = Field(max_length=998)
    body: str = Field(sa_type=sa.Text)
    message_id_header: str = Field(max_length=998)
    in_reply_to: str | None = Field(default=None, max_length=998)
    # The thread this reply continues (RFC 5322 3.6.4): the answered mail's References, then its Message-ID.
    references_header: str | None = Field(default=None, sa_type=sa.Text)
    state: ReplyState = Field(default=ReplyState.pending, sa_column=enum_column(ReplyState, nullable=False, index=True))
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    next_attempt_at: datetime | None = _time(nullable=True)
    created_at: datetime = _time(nullable=False)
    sent_at: datetime | None = _time(nullable=True)


class StaffUser(SQLModel, table=True):
    """A reviewer of the web queue."""

    __tablename__ = "staff_users"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80, unique=True)
    password_hash: str = Field(max_length=255)
    is_admin: bool = False
    active: bool = True
    created_at: datetime = _time(nullable=False)
    last_login_at: datetime | None = _time(nullable=True)


class ChatLink(SQLModel, table=True):
    """A chat (Telegram or the web chat) that follows a submission."""

    __tablename__ = "chat_links"
    __table_args__ = (sa.UniqueConstraint("channel", "chat_id", "submission_id", name="uq_chat_links"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=64, index=True)
    submission_id: int | None = Field(default=None, foreign_key="submissions.id")
    created_at: datetime = _time(nullable=False)


class AuditEvent(SQLModel, table=True):
    """Who did what, when: status changes, replies, staff actions. Never updated, never deleted."""

    __tablename__ = "audit_events"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _time(nullable=False, index=True)
    actor: str = Field(max_length=120)
    action: str = Field(max_length=48)
    submission_id: int | None = Field(default=None, foreign_key="submissions.id", index=True)
    message_id: int | None = Field(default=None, foreign_key="messages.id")
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(JSONType, nullable=False))
