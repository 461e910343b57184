"""Reading an SMTP ``DATA`` section the way Postfix does: bare LF accepted as a line end, CRLF stored.

aiosmtpd splits the data on CRLF only, so a mail whose lines end in a bare LF is one "line" as long as the
mail, and every such mail over 1,000 bytes was refused for good (``500 5.5.2``). Postfix (3.9 and later, by
default: ``smtpd_forbid_bare_newline = normalize``) accepts a line that ends in LF and processes it as if the
client had sent CRLF, but ends the data only at the standard ``<CR><LF>.<CR><LF>``, so that no bare-LF dot can
end a mail early and smuggle a second one behind it (CVE-2023-51764). This module does the same.

The mail is stored normalised to CRLF, as Postfix queues it (a queue file holds lines, not line ends, and
Postfix writes them out with CRLF when it relays): RFC 5322 knows no other line end, a line that the sender's
client ended with LF is the same line to the applicant, and one canonical form keeps a re-sent mail the same
bytes and the parsers away from mixed line ends. A mail that arrived with CRLF only is stored byte for byte.

The data is read in pieces of up to the stream's limit (64 KB) up to each ``.<CR><LF>``, instead of one
``await`` a line: the line ends, the 1,000-octet line limit and the dot-stuffing are then handled on the
whole mail at C speed, which is most of what aiosmtpd spent on a mail.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

DOT_LINE = b".\r\n"
CRLF = b"\r\n"
MAX_LINE = 1001
"""The longest line accepted, counted with its CRLF once normalised: RFC 5321 4.5.3.1.6 allows 1,000 octets;
aiosmtpd allowed one more, and that is kept so that no mail accepted before is refused now."""

_BARE_LF = re.compile(rb"(?<!\r)\n")
_STUFFED_DOT = re.compile(rb"^\.", re.MULTILINE)


class Refusal(Enum):
    too_large = "too_large"
    line_too_long = "line_too_long"


@dataclass(frozen=True)
class Data:
    """What the client sent: the mail (normalised, un-stuffed) or why it is refused; ``wire_size`` as sent."""

    content: bytes
    refusal: Refusal | None
    wire_size: int
    bare_lf: bool


async def read_data(
    reader: asyncio.StreamReader, *, max_size: int | None, on_progress: Callable[[], None] | None = None
) -> Data:
    """Read up to the end of the data (``<CR><LF>.<CR><LF>``) and return the mail or the reason to refuse it.

    An oversize mail is discarded as it arrives (never held whole in memory) and read on to its end, so that the
    session can go on (RFC 5321 4.2.5 answers at the end of the data). ``on_progress`` runs for every piece
    received: the caller's idle time-out is for a silent client, not for a large mail on a slow line.
    """
    pieces: list[bytes] = []
    wire_size = 0
    tail = CRLF  # the DATA command's own line end comes just before the mail
    too_large = False
    while True:
        try:
            piece = await reader.readuntil(DOT_LINE)
            found = True
        except asyncio.LimitOverrunError as overrun:
            # No ".<CR><LF>" within the stream's limit: take what cannot be part of one and read on.
            piece = await reader.readexactly(overrun.consumed)
            found = False
        if on_progress is not None:
            on_progress()
        if found:
            before = piece[: -len(DOT_LINE)]
            last_two = before[-2:] if len(before) >= 2 else (tail + before)[-2:]
            if last_two == CRLF:  # the dot starts a line and the line before it ended in CRLF: the end
                wire_size += len(before)
                if not too_large:
                    pieces.append(before)
                break
        wire_size += len(piece)
        tail = (tail + piece)[-2:]
        if max_size is not None and wire_size > max_size:
            too_large = True
            pieces.clear()
        elif not too_large:
            pieces.append(piece)
    if too_large:
        return Data(b"", Refusal.too_large, wire_size, bare_lf=False)
    return normalise(b"".join(pieces), wire_size)


def normalise(data: bytes, wire_size: int) -> Data:
    """Bare LF to CRLF, the 1,000-octet line limit on lines split at every LF, then RFC 5321 4.5.2 un-stuffing."""
    bare_lf = data.count(b"\n") != data.count(CRLF)
    if bare_lf:
        data = _BARE_LF.sub(CRLF, data)
    # Every line now ends in CRLF (the data ends with one); each piece of the split keeps its CR.
    if data and max(map(len, data.split(b"\n"))) + 1 > MAX_LINE:
        return Data(b"", Refusal.line_too_long, wire_size, bare_lf)
    if data.startswith(b".") or b"\n." in data:
        data = _STUFFED_DOT.sub(b"", data)
    return Data(data, None, wire_size, bare_lf)
