"""Keeping a received mail: the raw bytes to the blob store, then one ``messages`` row, before anything else.

Both receivers (the SMTP server and the IMAP watcher) call :func:`keep`. The blob is fsynced before the row is
committed, and the row is committed before the receiver says yes (SMTP ``250``) or moves on (IMAP), so that a
crash at any instant leaves either nothing (the sender retries, the watcher re-reads) or a mail that the
pipeline will process. Keeping the same IMAP mail twice returns the first row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from email.parser import BytesHeaderParser

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from zhengji.storage.blobs import BlobStore
from zhengji.storage.models import Message, MessageSource


@dataclass(frozen=True)
class Receipt:
    """How a mail reached us: the transport's facts, never what the sender wrote in the headers."""

    source: MessageSource
    mailbox: str
    received_at: datetime
    envelope_from: str | None = None
    envelope_to: list[str] = field(default_factory=list)
    imap_uidvalidity: int | None = None
    imap_uid: int | None = None
    # Old mail back-filled by a clerk is processed and filed, but its sender is not answered months later.
    reply_wanted: bool = True


def message_id_of(raw: bytes) -> str | None:
    """The Message-ID header, trimmed to what the column holds; None when absent."""
    try:
        value = BytesHeaderParser().parsebytes(raw).get("Message-ID")
    except Exception:  # a malformed header block still gets stored
        return None
    return str(value).strip()[:998] or None if value else None


def keep(engine: Engine, blobs: BlobStore, raw: bytes, receipt: Receipt) -> Message:
    """Store ``raw`` durably and record it; returns the stored row (the existing one for a repeated IMAP UID)."""
    digest = blobs.put(raw)
    row = Message(
        sha256=digest,
        size=len(raw),
        message_id=message_id_of(raw),
        source=receipt.source,
        mailbox=receipt.mailbox,
        imap_uidvalidity=receipt.imap_uidvalidity,
        imap_uid=receipt.imap_uid,
        envelope_from=receipt.envelope_from,
        envelope_to=list(receipt.envelope_to),
        received_at=receipt.received_at,
        reply_wanted=receipt.reply_wanted,
    )
    with Session(engine, expire_on_commit=False) as session:
        session.add(row)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            existing = session.exec(
                select(Message).where(
                    Message.mailbox == receipt.mailbox,
                    Message.imap_uidvalidity == receipt.imap_uidvalidity,
                    Message.imap_uid == receipt.imap_uid,
                )
            ).first()
            if existing is None:
                raise
            return existing
        return row  # expire_on_commit=False: the id and every column stay loaded, no second query
