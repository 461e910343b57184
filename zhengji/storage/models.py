"""The tables. Models stay thin: the workflow lives in the domain modules that use them."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from zhengji.storage.status import ChatPushState, Decision, MessageState, ReplyState, SubmissionStatus, Verdict
from zhengji.storage.types import BoundedString, CleanText, JSONType, UTCDateTime, enum_column

__all__ = [
    "Assignment",
    "AuditEvent",
    "ChatLink",
    "Correction",
    "DecisionTemplate",
    "Document",
    "LateException",
    "LoginAttempt",
    "Message",
    "MessageSource",
    "MessageState",
    "QueueEntry",
    "QueueEntryCode",
    "QueueEntryName",
    "Reply",
    "ReplyState",
    "ReviewMark",
    "SavedFilter",
    "StaffPresession",
    "StaffSession",
    "StaffUser",
    "Submission",
    "VerdictRecord",
]


class MessageSource(StrEnum):
    smtp = "smtp"  # the built-in inbound SMTP server
    imap = "imap"  # a watched inbox such as yanfa312@126.com
    file = "file"  # back-filled from an .eml with `zhengji ingest`


def string(length: int | None, **kwargs: Any) -> Any:
    """A string column: ``VARCHAR(length)`` (``TEXT`` for None) that takes any value and stores what fits.

    Every string column is declared through here, so that no header, name or parsed field an applicant sent can
    stop a step with a value the database refuses (see :mod:`zhengji.storage.types`).
    """
    return Field(sa_type=BoundedString(length) if length is not None else CleanText, **kwargs)


def _time(**kwargs: Any) -> Any:
    return Field(sa_column=sa.Column(UTCDateTime(), **kwargs))


class Message(SQLModel, table=True):
    """One received mail. Its raw bytes live in the blob store under ``sha256``, written before this row."""

    __tablename__ = "messages"
    __table_args__ = (sa.UniqueConstraint("mailbox", "imap_uidvalidity", "imap_uid", name="uq_messages_imap_uid"),)

    id: int | None = Field(default=None, primary_key=True)
    sha256: str = string(64, index=True)
    size: int
    message_id: str | None = string(998, default=None, index=True)
    source: MessageSource = Field(sa_column=enum_column(MessageSource, nullable=False))
    # The address it was received for (SMTP), or the IMAP account and folder.
    mailbox: str = string(320)
    imap_uidvalidity: int | None = Field(default=None, sa_type=sa.BigInteger)
    imap_uid: int | None = Field(default=None, sa_type=sa.BigInteger)
    # Set once the mail was flagged in its IMAP folder after processing (the watcher does it, never before).
    imap_flagged: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    envelope_from: str | None = string(320, default=None)
    envelope_to: list[str] = Field(default_factory=list, sa_column=sa.Column(JSONType, nullable=False))
    # When the mailbox got it (SMTP receipt or IMAP INTERNALDATE), never the sender's Date: header.
    received_at: datetime = _time(nullable=False, index=True)
    state: MessageState = Field(
        default=MessageState.received, sa_column=enum_column(MessageState, nullable=False, index=True)
    )
    attempts: int = 0
    next_attempt_at: datetime | None = _time(nullable=True)
    last_error: str | None = string(None, default=None)
    claimed_by: str | None = string(120, default=None)
    claimed_until: datetime | None = _time(nullable=True)
    # False for old mail back-filled with `zhengji ingest` (without --reply): processed and filed, never answered.
    reply_wanted: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    submission_id: int | None = Field(default=None, foreign_key="submissions.id", index=True)
    # Which version of its submission this mail made (1 for the first mail of a case).
    version: int | None = None
    # What the parse step decoded of the raw mail (sender, recipients, subject, thread, dates, the attachment
    # list with digests: :class:`zhengji.mailbox.envelope.Envelope`), so that no later step decodes it again.
    # Empty for a mail not yet parsed (and for mail stored before migration 0011 until it is read once).
    envelope: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(JSONType, nullable=True))


class Submission(SQLModel, table=True):
    """One case: an applicant's submission for one track, across the mails that amend it."""

    __tablename__ = "submissions"

    id: int | None = Field(default=None, primary_key=True)
    reference: str = string(32, unique=True)
    track: str = string(40, index=True)
    notice: str | None = string(80, default=None)
    # The status shown (the decision where there is one, else the verdict), kept for the queue and the bot to
    # read; set only by ``storage.status._show`` from the two below.
    status: SubmissionStatus = Field(
        default=SubmissionStatus.received, sa_column=enum_column(SubmissionStatus, nullable=False, index=True)
    )
    # The machine's verdict on the latest version (storage.status.record_verdict) ...
    verdict: Verdict = Field(default=Verdict.received, sa_column=enum_column(Verdict, nullable=False))
    # ... and a reviewer's decision (storage.status.record_decision), never changed by a check.
    decision: Decision | None = Field(default=None, sa_column=enum_column(Decision, nullable=True, index=True))
    sender: str = string(320, index=True)
    sender_name: str | None = string(200, default=None)
    subject: str | None = string(998, default=None)
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
    filename: str = string(500)
    sha256: str = string(64, index=True)
    size: int
    format: str = string(16)
    form: str = string(48)
    fields: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(JSONType, nullable=False))
    findings: list[dict[str, Any]] = Field(default_factory=list, sa_column=sa.Column(JSONType, nullable=False))
    # Evidence the submission check reads besides fields and findings: red seals on a PDF, a text layer or a scan.
    red_seals: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    text_layer: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    parser_version: str = string(32)
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
    to_address: str = string(320)
    subject: str = string(998)
    body: str = string(None)
    message_id_header: str = string(998)
    in_reply_to: str | None = string(998, default=None)
    # The thread this reply continues (RFC 5322 3.6.4): the answered mail's References, then its Message-ID.
    references_header: str | None = string(None, default=None)
    state: ReplyState = Field(default=ReplyState.pending, sa_column=enum_column(ReplyState, nullable=False, index=True))
    attempts: int = 0
    last_error: str | None = string(None, default=None)
    next_attempt_at: datetime | None = _time(nullable=True)
    created_at: datetime = _time(nullable=False)
    sent_at: datetime | None = _time(nullable=True)


class VerdictRecord(SQLModel, table=True):
    """One verdict of the checks on a case, with its findings: the pipeline's, a reprocess's or a re-check's.

    Written by :func:`zhengji.storage.status.record_verdict` beside its audit event and read by
    :func:`zhengji.storage.status.last_verdict`, so that the queue, the case page, the next reply's "已更正" list
    and the bot read the findings of the last verdict from one row instead of from audit JSON.
    """

    __tablename__ = "verdicts"
    __table_args__ = (sa.Index("ix_verdicts_submission_id_id", "submission_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submissions.id")
    message_id: int | None = Field(default=None, foreign_key="messages.id")
    event_id: int | None = Field(default=None, foreign_key="audit_events.id")
    version: int | None = None
    verdict: Verdict = Field(sa_column=enum_column(Verdict, nullable=False))
    # Which check gave it: ``verdict`` (a mail), ``reprocess``, ``recheck`` (a correction, a clerk's track).
    action: str = string(48)
    actor: str = string(120)
    # The parser version that read the documents judged (``parsers.version``); empty for a verdict copied from an
    # audit event older than this table.
    parser_version: str | None = string(32, default=None)
    # The case's own findings (submission level), as ``Finding.as_json()`` gives them.
    findings: list[dict[str, Any]] = Field(default_factory=list, sa_column=sa.Column(JSONType, nullable=False))
    # A re-check's findings of each corrected document, by document id (a mail's are on its documents' rows).
    documents: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(JSONType, nullable=False))
    created_at: datetime = _time(nullable=False)


class StaffUser(SQLModel, table=True):
    """A reviewer of the web queue."""

    __tablename__ = "staff_users"

    id: int | None = Field(default=None, primary_key=True)
    name: str = string(80, unique=True)
    password_hash: str = string(255)
    is_admin: bool = False
    active: bool = True
    created_at: datetime = _time(nullable=False)
    last_login_at: datetime | None = _time(nullable=True)


class ChatLink(SQLModel, table=True):
    """A chat (Telegram or the web chat) that follows a submission."""

    __tablename__ = "chat_links"
    __table_args__ = (sa.UniqueConstraint("channel", "chat_id", "submission_id", name="uq_chat_links"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = string(16)
    chat_id: str = string(64, index=True)
    submission_id: int | None = Field(default=None, foreign_key="submissions.id")
    created_at: datetime = _time(nullable=False)


class AuditEvent(SQLModel, table=True):
    """Who did what, when: status changes, replies, staff actions. Never updated, never deleted."""

    __tablename__ = "audit_events"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _time(nullable=False, index=True)
    actor: str = string(120)
    action: str = string(48)
    submission_id: int | None = Field(default=None, foreign_key="submissions.id", index=True)
    message_id: int | None = Field(default=None, foreign_key="messages.id")
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(JSONType, nullable=False))


# --- The staff review queue (issue 11) ----------------------------------------------------------------------------


def _day(**kwargs: Any) -> Any:
    return Field(sa_column=sa.Column(sa.Date(), **kwargs))


class StaffSession(SQLModel, table=True):
    """A signed-in browser. Only a hash of the session id is kept, so that a copy of the database opens no session.

    A session ends when it is idle too long, when it is older than its absolute limit, on logout, and when its
    account's password changes (``revoked_at``).
    """

    __tablename__ = "staff_sessions"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = string(64, unique=True)
    staff_id: int = Field(foreign_key="staff_users.id", index=True)
    created_at: datetime = _time(nullable=False)
    last_seen_at: datetime = _time(nullable=False)
    expires_at: datetime = _time(nullable=False)
    revoked_at: datetime | None = _time(nullable=True)
    address: str | None = string(64, default=None)
    user_agent: str | None = string(200, default=None)


class StaffPresession(SQLModel, table=True):
    """A login form the server handed out: its CSRF token is good only with the cookie issued beside it.

    Only a hash of the pre-session id is kept; the row is deleted when the form signs someone in.
    """

    __tablename__ = "staff_presessions"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = string(64, unique=True)
    created_at: datetime = _time(nullable=False)
    expires_at: datetime = _time(nullable=False, index=True)


class LoginAttempt(SQLModel, table=True):
    """One try to sign in, kept to lock an account or an address out after repeated failures."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        sa.Index("ix_login_attempts_name_at", "name", "at"),
        sa.Index("ix_login_attempts_address_at", "address", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _time(nullable=False)
    name: str = string(80)
    address: str = string(64)
    success: bool = False


class Correction(SQLModel, table=True):
    """A field a reviewer corrected: the machine's reading stays beside the person's, with who and when.

    ``path`` is the field's dotted key path (``contact.phone``), a table cell adds its 1-based row before the
    column (``rows.2.code``). The latest correction of a path is the one in force.
    """

    __tablename__ = "corrections"

    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submissions.id", index=True)
    document_id: int = Field(foreign_key="documents.id", index=True)
    path: str = string(200)
    original: Any = Field(default=None, sa_column=sa.Column(JSONType, nullable=True))
    corrected: Any = Field(default=None, sa_column=sa.Column(JSONType, nullable=True))
    staff: str = string(80)
    at: datetime = _time(nullable=False)


class DecisionTemplate(SQLModel, table=True):
    """A reason reviewers reuse when they return or reject a submission; any reviewer may edit it."""

    __tablename__ = "decision_templates"

    id: int | None = Field(default=None, primary_key=True)
    action: str = string(16, index=True)
    title: str = string(80)
    body: str = string(None)
    position: int = 0
    updated_by: str = string(80)
    updated_at: datetime = _time(nullable=False)


class SavedFilter(SQLModel, table=True):
    """A reviewer's named queue filter (the query string of the queue page)."""

    __tablename__ = "saved_filters"
    __table_args__ = (sa.UniqueConstraint("staff_id", "name", name="uq_saved_filters_staff_name"),)

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff_users.id", index=True)
    name: str = string(60)
    query: str = string(1000)
    created_at: datetime = _time(nullable=False)


class LateException(SQLModel, table=True):
    """A reviewer let one sender submit to one track after its window, until ``until`` (Shanghai date)."""

    __tablename__ = "late_exceptions"

    id: int | None = Field(default=None, primary_key=True)
    sender: str = string(320, index=True)
    track: str = string(40)
    until: date = _day(nullable=False)
    reason: str = string(None)
    granted_by: str = string(80)
    granted_at: datetime = _time(nullable=False)
    submission_id: int | None = Field(default=None, foreign_key="submissions.id", index=True)


class Assignment(SQLModel, table=True):
    """Who reviews a submission."""

    __tablename__ = "assignments"

    submission_id: int = Field(foreign_key="submissions.id", primary_key=True)
    staff_id: int = Field(foreign_key="staff_users.id", index=True)
    assigned_by: str = string(80)
    at: datetime = _time(nullable=False)


class QueueEntry(SQLModel, table=True):
    """One submission as the queue lists it: derived from the case, its documents and its audit trail.

    Kept so that a queue page of 20,000 submissions filters, counts and sorts on indexed columns instead of
    reading every document's JSON; rebuilt from the audit trail (``synced_event``), never the source of truth.
    """

    __tablename__ = "queue_entries"
    __table_args__ = (
        sa.Index("ix_queue_entries_track_window", "track", "window_start"),
        sa.Index("ix_queue_entries_status_received", "status", "received_at"),
    )

    submission_id: int = Field(foreign_key="submissions.id", primary_key=True)
    reference: str = string(32, index=True)
    track: str = string(40)
    status: str = string(32)
    sender: str = string(320)
    sender_name: str | None = string(200, default=None)
    unit: str | None = string(300, default=None)
    occupations: str | None = string(None, default=None)
    search: str = string(None, default="")
    codes: str = string(None, default="")
    errors: int = 0
    warnings: int = 0
    unlocated: int = 0
    documents: int = 0
    version: int = 1
    received_at: datetime = _time(nullable=False, index=True)
    updated_at: datetime = _time(nullable=False)
    window_start: date | None = _day(nullable=True, index=True)
    first_status: str | None = string(32, default=None)
    assignee_id: int | None = Field(default=None, index=True)
    synced_event: int = 0
    # The center whose mailbox received the case's latest mail (centers.toml ``id``): Guangdong's and Shanghai's
    # mail share one queue, and each office works its own.
    center: str | None = string(32, default=None, index=True)
    # A decided case (accepted, declined) that received a mail after its decision: "决定后收到新邮件".
    mail_after_decision: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    # A clerk marked the mail as not a submission (a question, a cover letter alone): out of the open work.
    not_submission: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})


class QueueEntryCode(SQLModel, table=True):
    """A finding code a submission has (once per code), for the queue's filter by code and the dashboard."""

    __tablename__ = "queue_entry_codes"
    __table_args__ = (sa.Index("ix_queue_entry_codes_code", "code", "submission_id"),)

    submission_id: int = Field(foreign_key="submissions.id", primary_key=True)
    code: str = string(48, primary_key=True)


class QueueEntryName(SQLModel, table=True):
    """An occupation, project or 推荐表 row a case proposes, folded (``key``), to find the same name in two cases.

    Two cases of one track that share a key are duplicates to a clerk (a resubmission from another address).
    """

    __tablename__ = "queue_entry_names"
    __table_args__ = (sa.Index("ix_queue_entry_names_key_track", "key", "track", "submission_id"),)

    submission_id: int = Field(foreign_key="submissions.id", primary_key=True)
    key: str = string(200, primary_key=True)
    track: str = string(40)
    name: str = string(300)


class ReviewMark(SQLModel, table=True):
    """A named number the review queue keeps between requests: how far the audit trail was read."""

    __tablename__ = "review_marks"

    name: str = string(40, primary_key=True)
    value: int = 0


# --- the chat bot (issue 12): mailbox proof, its limits, status notices, conversations --------------------


class ChatCode(SQLModel, table=True):
    """A one-time code mailed to a submission's sender so that a chat can prove it reads that mailbox.

    Only a salted hash of the code is kept; it expires (``expires_at``), allows a few attempts, and is used once.
    ``submission_id`` is empty when the chat asked by address: the code then links every submission of it.
    """

    __tablename__ = "chat_codes"

    id: int | None = Field(default=None, primary_key=True)
    channel: str = string(16)
    chat_id: str = string(64, index=True)
    submission_id: int | None = Field(default=None, foreign_key="submissions.id", index=True)
    address: str = string(320)
    code_hash: str = string(64)
    salt: str = string(32)
    attempts: int = 0
    created_at: datetime = _time(nullable=False)
    expires_at: datetime = _time(nullable=False)
    used_at: datetime | None = _time(nullable=True)


class ChatRateCount(SQLModel, table=True):
    """How often a key (a chat, a submission, an address) did something in one fixed window of time."""

    __tablename__ = "chat_rate_counts"
    __table_args__ = (sa.UniqueConstraint("key", "window_start", name="uq_chat_rate_counts"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = string(400)
    window_start: datetime = _time(nullable=False, index=True)
    count: int = 0


class ChatCursor(SQLModel, table=True):
    """How far a reader of the audit log has come (the status notifier's outbox cursor)."""

    __tablename__ = "chat_cursors"

    name: str = string(40, primary_key=True)
    last_event_id: int = 0
    updated_at: datetime = _time(nullable=False)


class ChatPush(SQLModel, table=True):
    """A status notice for one linked chat, made from one audit event: written once, delivered once."""

    __tablename__ = "chat_pushes"
    __table_args__ = (sa.UniqueConstraint("channel", "chat_id", "event_id", name="uq_chat_pushes"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = string(16)
    chat_id: str = string(64, index=True)
    submission_id: int | None = Field(default=None, foreign_key="submissions.id")
    event_id: int = Field(foreign_key="audit_events.id")
    text: str = string(None)
    state: ChatPushState = Field(
        default=ChatPushState.pending, sa_column=enum_column(ChatPushState, nullable=False, index=True)
    )
    attempts: int = 0
    next_attempt_at: datetime | None = _time(nullable=True)
    created_at: datetime = _time(nullable=False)
    sent_at: datetime | None = _time(nullable=True)


class ChatState(SQLModel, table=True):
    """What a chat was talking about (``zhengji ask --chat``: every message is a new process)."""

    __tablename__ = "chat_states"
    __table_args__ = (sa.UniqueConstraint("channel", "chat_id", name="uq_chat_states"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = string(16)
    chat_id: str = string(64)
    context: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(JSONType, nullable=False))
    updated_at: datetime = _time(nullable=False)


# --- channel safety (issue 18): the code mails' durable queue, the WeChat callback's nonces --------------------


class ChatCodeMailState(StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"  # refused for good (5xx), or still failing when its code expired
    expired = "expired"  # its code expired before it could be sent: a late code is worth nothing


class ChatCodeMail(SQLModel, table=True):
    """A code mail waiting to be sent, written in the transaction that stores its code, so that a restart loses
    none and no chat's answer waits for a mail provider.

    ``raw`` is the whole message (the code in it): it is emptied once the mail is handed over or given up, so the
    code stays in the database at most until its mail is sent or its ``expires_at`` (the code's own expiry).
    """

    __tablename__ = "chat_code_mails"

    id: int | None = Field(default=None, primary_key=True)
    code_id: int | None = Field(default=None, foreign_key="chat_codes.id", index=True)
    recipient: str = string(320)
    raw: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    state: ChatCodeMailState = Field(
        default=ChatCodeMailState.pending, sa_column=enum_column(ChatCodeMailState, nullable=False, index=True)
    )
    attempts: int = 0
    next_attempt_at: datetime = _time(nullable=False)
    claimed_until: datetime | None = _time(nullable=True)
    created_at: datetime = _time(nullable=False)
    expires_at: datetime = _time(nullable=False)
    sent_at: datetime | None = _time(nullable=True)
    error: str | None = string(400, default=None)


class ChannelNonce(SQLModel, table=True):
    """A signed callback URL already used (WeChat's timestamp and nonce), with the message it carried.

    The same URL again is a retry of that message or a replay: it is accepted only for the same message. Rows
    older than the timestamp window are deleted as new ones are written (their URLs are refused by time anyway).
    """

    __tablename__ = "channel_nonces"
    __table_args__ = (sa.UniqueConstraint("channel", "timestamp", "nonce", name="uq_channel_nonces"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = string(16)
    timestamp: int
    nonce: str = string(64)
    message_key: str = string(200)
    seen_at: datetime = _time(nullable=False, index=True)
