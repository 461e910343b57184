"""What a stored mail says about itself, decoded once and kept on its row: sender, recipients, subject, thread,
dates, the list of its files.

The parse step decodes the raw mail (it needs the attachments' bytes anyway) and stores an :class:`Envelope`
on the message (``messages.envelope``), as Mailman's ``msgdata`` travels with a message so that no handler parses
the headers again. Every later reader — the check step, a reviewer's mail, the case page, the retry of failed
mail, a re-check — reads that row through :func:`stored_envelope`. The raw mail is decoded again only to hand a
document's bytes to staff (:mod:`zhengji.review.originals`) and to parse it again after a parser upgrade
(:mod:`zhengji.mailbox.reprocess`).

Also here, because every step that answers a mail needs them: the addresses a reply may go to
(:func:`reply_address`) and the transport facts of a stored mail (:func:`receipt_time`).
"""

from __future__ import annotations

import email.utils
import hashlib
import logging
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from email.parser import BytesHeaderParser
from typing import Any

from zhengji.mailbox.mime import IncomingMail, parse_mail
from zhengji.storage.blobs import BlobStore
from zhengji.storage.models import Message

log = logging.getLogger(__name__)

MAX_HEADER_BYTES = 8 * 1024
"""How much of one header field of a stored mail is decoded for the reply; the raw mail keeps it all.

A 20 MB Subject of encoded-words would otherwise be decoded, quoted and folded into the reply for minutes.
Postfix keeps at most ``header_size_limit`` (100 KB) of a header; what a reply repeats is far less than 8 KB."""
MAX_ADDRESS = 254
"""The longest address a reply goes to (RFC 5321 4.5.3.1.3: a path of 256 octets with its angle brackets)."""
TEXT_LIMIT = 20_000
"""How much of the body text is kept on the row (characters): the case page shows 6,000, a question is read
from its first 400; the raw mail keeps it all."""
_ADDRESS = re.compile(r"[^\s@<>()\[\],;:\"\\]+@[^\s@<>()\[\],;:\"\\]+")
_HEADER_END = re.compile(rb"\r?\n\r?\n")


# --- reading a stored mail ---------------------------------------------------------------------------------------


def capped_headers(raw: bytes, limit: int = MAX_HEADER_BYTES) -> bytes:
    """``raw`` with each field of its top header block cut to about ``limit`` bytes; the body is left whole.

    A field is cut after its last whole folded line that fits, or, when its first line alone is too long, at
    the last space before ``limit``, so that the encoded-words kept are whole.
    """
    end = _HEADER_END.search(raw)
    head, rest = (raw[: end.start()], raw[end.start() :]) if end else (raw, b"")
    if len(head) <= limit:
        return raw
    fields: list[list[bytes]] = []
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1].append(line)
        else:
            fields.append([line])
    kept: list[bytes] = []
    for lines in fields:
        size = 0
        for number, line in enumerate(lines):
            size += len(line) + 1
            if size <= limit:
                kept.append(line)
                continue
            if number == 0:
                cut = line.rfind(b" ", 0, limit)
                kept.append(line[: cut if cut > 0 else limit] + (b"\r" if line.endswith(b"\r") else b""))
            break
    return b"\n".join(kept) + rest


def read_mail(raw: bytes) -> IncomingMail:
    """A stored mail decoded for the pipeline, its header fields capped (:data:`MAX_HEADER_BYTES`)."""
    return parse_mail(capped_headers(raw))


def receipt_time(raw: bytes) -> datetime | None:
    """When the receiving server took the mail: the date of its topmost ``Received:`` header.

    The contract judges a submission by when the mailbox got it, never by the sender's ``Date:`` (a sender's
    clock may be wrong, or set back). For an .eml saved from a mailbox the topmost ``Received:`` line is that
    mailbox's own receipt; ``None`` when the file has none.
    """
    headers = BytesHeaderParser().parsebytes(raw)
    for value in headers.get_all("Received") or []:
        stamp = str(value).rsplit(";", 1)
        if len(stamp) == 2:
            try:
                moment = email.utils.parsedate_to_datetime(stamp[1].strip())
            except (TypeError, ValueError, IndexError):
                continue
            if moment is not None and moment.tzinfo is not None:
                return moment
    return None


# --- where an answer may go --------------------------------------------------------------------------------------


def deliverable(address: str | None) -> str:
    """``address`` when a reply may go to it; "" for what no mail server would take (too long, spaces, CR/LF,
    no single @): a trimmed or mangled address could belong to someone else."""
    address = (address or "").strip()
    if len(address) > MAX_ADDRESS or not _ADDRESS.fullmatch(address):
        return ""
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in address):
        return ""
    return address


def reply_address(from_address: str | None, envelope_from: str | None) -> str:
    """Where an answer goes: the From address, else the envelope sender (RFC 3834 §4 prefers it for automatic
    replies, and the SMTP server has already accepted it) when From is unusable; "" when neither is."""
    return deliverable(from_address) or deliverable(envelope_from)


# --- the envelope ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredAttachment:
    """One file of the mail as the parse step found it: enough to list it and to find its bytes again."""

    filename: str
    content_type: str
    size: int
    sha256: str
    inline: bool = False
    embedded: bool = False  # a picture shown in the text: it does not make a question into a submission


@dataclass(frozen=True)
class Envelope:
    """What a mail says about itself, as decoded once by the parse step (``date`` is the sender's clock)."""

    subject: str = ""
    from_address: str = ""
    from_name: str = ""
    reply_to: str = ""  # where an answer goes (:func:`reply_address`); "" when nowhere
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    message_id: str = ""
    in_reply_to: str = ""
    references: tuple[str, ...] = ()
    date: datetime | None = None
    text: str = ""
    attachments: tuple[StoredAttachment, ...] = ()
    auto_submitted: bool = False
    auto_reason: str = ""
    problems: tuple[str, ...] = ()
    forwarded_subjects: tuple[str, ...] = field(default=())

    @classmethod
    def of(cls, incoming: IncomingMail, envelope_from: str | None) -> Envelope:
        """The envelope of a decoded mail; ``envelope_from`` is the SMTP sender, the reply's fallback."""
        return cls(
            subject=incoming.subject,
            from_address=incoming.from_address,
            from_name=incoming.from_name,
            reply_to=reply_address(incoming.from_address, envelope_from),
            to=tuple(incoming.to),
            cc=tuple(incoming.cc),
            message_id=incoming.message_id,
            in_reply_to=incoming.in_reply_to,
            references=tuple(incoming.references),
            date=incoming.date,
            text=incoming.text[:TEXT_LIMIT],
            attachments=tuple(
                StoredAttachment(
                    filename=item.filename,
                    content_type=item.content_type,
                    size=len(item.data),
                    sha256=hashlib.sha256(item.data).hexdigest(),
                    inline=item.inline,
                    embedded=item.embedded,
                )
                for item in incoming.attachments
            ),
            auto_submitted=incoming.auto_submitted,
            auto_reason=incoming.auto_reason,
            problems=tuple(incoming.problems),
            forwarded_subjects=tuple(incoming.forwarded_subjects),
        )

    @classmethod
    def unreadable(cls, envelope_from: str | None) -> Envelope:
        """The envelope of a mail whose raw bytes are gone: only the SMTP sender is known."""
        return cls(reply_to=deliverable(envelope_from))

    def as_json(self) -> dict[str, Any]:
        value = asdict(self)
        value["date"] = self.date.isoformat() if self.date is not None else None
        return value

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Envelope:
        date = value.get("date")
        return cls(
            subject=str(value.get("subject") or ""),
            from_address=str(value.get("from_address") or ""),
            from_name=str(value.get("from_name") or ""),
            reply_to=str(value.get("reply_to") or ""),
            to=tuple(value.get("to") or ()),
            cc=tuple(value.get("cc") or ()),
            message_id=str(value.get("message_id") or ""),
            in_reply_to=str(value.get("in_reply_to") or ""),
            references=tuple(value.get("references") or ()),
            date=datetime.fromisoformat(date) if isinstance(date, str) and date else None,
            text=str(value.get("text") or ""),
            attachments=tuple(StoredAttachment(**item) for item in value.get("attachments") or ()),
            auto_submitted=bool(value.get("auto_submitted")),
            auto_reason=str(value.get("auto_reason") or ""),
            problems=tuple(value.get("problems") or ()),
            forwarded_subjects=tuple(value.get("forwarded_subjects") or ()),
        )

    @property
    def sender(self) -> str:
        """The sender's address as cases are keyed by it (lower case), the SMTP sender when From has none."""
        return self.from_address.lower()

    def recipients(self) -> list[str]:
        """Whom the mail was written to (To and Cc), when the SMTP envelope does not say."""
        return [*self.to, *self.cc]

    def thread(self) -> list[str]:
        """The Message-IDs this mail answers (In-Reply-To, then References), to find its case by."""
        return [self.in_reply_to, *self.references]


def stored_envelope(message: Message, blobs: BlobStore | None, *, missing_ok: bool = True) -> Envelope:
    """The envelope the parse step stored on the message; for a mail stored before it was kept (migration 0011)
    or not parsed yet, the raw mail decoded here — the one place that reads a mail's headers after its parse.

    A mail whose bytes are gone gives an envelope with only its SMTP sender, never an error, because every
    reader of it (a reviewer's mail, the case page) must still work; ``missing_ok=False`` raises instead, for
    the pipeline, which must not write to a sender it cannot name.
    """
    if message.envelope:
        return Envelope.from_json(message.envelope)
    if blobs is None and missing_ok:
        return Envelope.unreadable(message.envelope_from)
    try:
        assert blobs is not None
        raw = blobs.get(message.sha256)
    except (KeyError, OSError) as error:
        if not missing_ok:
            raise
        log.warning("message %s: the stored mail cannot be read (%s)", message.id, type(error).__name__)
        return Envelope.unreadable(message.envelope_from)
    return Envelope.of(read_mail(raw), message.envelope_from)
