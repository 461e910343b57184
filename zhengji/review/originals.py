"""The original files of a submission: each document's bytes, as the applicant sent them.

Only the raw mail is stored at intake; a document is an attachment of it, or a member of an archive attached
to it. The mail's stored envelope lists its attachments with their digests, so the attachment that holds the
document is known before the mail is read; its bytes are then taken from the raw mail (unpacked within the
parsers' archive limits when it is an archive) and kept in the content-addressed blob store under the document's
digest, so that the next download is a plain read. Serving an original is one of the two reasons to read a raw
mail after its parse (the other is parsing it again).
"""

from __future__ import annotations

import hashlib

from sqlmodel import Session

from zhengji.mailbox.envelope import read_mail, stored_envelope
from zhengji.parsers.document import ARCHIVE_FORMATS
from zhengji.storage.blobs import BlobNotFound, BlobStore
from zhengji.storage.models import Document, Message

# What a browser may be told a file is, by the format zhengji detected from its bytes (never its name).
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "doc": "application/msword",
    "xls": "application/vnd.ms-excel",
    "wps": "application/octet-stream",
    "zip": "application/zip",
    "png": "image/png",
    "jpeg": "image/jpeg",
}
SAFE_DEFAULT = "application/octet-stream"


class OriginalMissing(LookupError):
    """The document's bytes are neither in the blob store nor in its mail (a damaged store)."""


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _search(data: bytes, name: str, wanted: str, depth: int = 0) -> bytes | None:
    if _digest(data) == wanted:
        return data
    if depth > 2:
        return None
    from zhengji.parsers.archives import ArchiveError, archive_format, unpack

    fmt = archive_format(name, data)
    if fmt not in ARCHIVE_FORMATS:
        return None
    try:
        members = unpack(data, fmt, name)
    except ArchiveError:
        return None
    for member in members:
        if member.problem is None and _digest(member.data) == wanted:
            return member.data
    return None


def document_bytes(session: Session, document: Document, blobs: BlobStore) -> bytes:
    """The document's own bytes, checked against its digest."""
    if document.sha256 and blobs.exists(document.sha256):
        return blobs.get(document.sha256)
    message = session.get(Message, document.message_id)
    if message is None or not document.sha256:
        raise OriginalMissing(f"document {document.id}")
    listed = stored_envelope(message, blobs).attachments
    # The document is an attachment itself, or a member of one that is not (an archive): those are the only places.
    holders = [index for index, item in enumerate(listed) if item.sha256 == document.sha256] or [
        index for index, item in enumerate(listed) if item.sha256 != document.sha256
    ]
    if not holders:
        raise OriginalMissing(f"document {document.id} is not in its mail")
    try:
        raw = blobs.get(message.sha256)
    except BlobNotFound:
        raise OriginalMissing(f"mail of document {document.id}") from None
    attachments = read_mail(raw).attachments
    for index in holders:
        if index >= len(attachments):
            break
        attachment = attachments[index]
        found = _search(attachment.data, attachment.filename, document.sha256)
        if found is not None:
            blobs.put(found)
            return found
    raise OriginalMissing(f"document {document.id} is not in its mail")


def content_type(fmt: str, data: bytes) -> str:
    """The type a browser is told: the detected format's, and PDF only when the bytes really are a PDF."""
    if fmt == "pdf" and not data[:1024].lstrip().startswith(b"%PDF-"):
        return SAFE_DEFAULT
    return CONTENT_TYPES.get(fmt, SAFE_DEFAULT)
