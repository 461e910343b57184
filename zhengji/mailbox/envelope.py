"""Facts about a stored mail that come from its transport, not from what the sender wrote."""

from __future__ import annotations

import email.utils
from datetime import datetime
from email.parser import BytesHeaderParser


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
