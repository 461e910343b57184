"""Raw .eml bytes as Foxmail, NetEase web mail (126/163), Outlook and WPS mail really send them.

Each builder writes the bytes by hand rather than through ``email.generator``, because the point is to
reproduce each client's habits exactly, including the non-standard ones: Foxmail's encoded-words in quoted
parameters split mid-character, Outlook's gb2312 label on GBK text and its winmail.dat, NetEase's RFC 2231
continuations, WPS's raw 8-bit file names. The golden corpus reuses these builders, so their signatures are
kept stable: ``(subject, sender, recipients, body, attachments, *, options…) -> bytes``, where ``sender`` is
``(display name, address)`` and ``attachments`` is a sequence of ``(file name, bytes)``.
"""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import re
import struct
import urllib.parse
from collections.abc import Sequence

Sender = tuple[str, str]
Files = Sequence[tuple[str, bytes]]

DEFAULT_DATE = "Fri, 20 Jun 2025 10:00:00 +0800"
_CRLF = b"\r\n"


def _token(*parts: object) -> str:
    """A stable pseudo-random token, so that rebuilt fixtures are byte-identical."""
    return hashlib.sha1(repr(parts).encode()).hexdigest()


def _b64_lines(data: bytes, width: int = 76) -> bytes:
    encoded = base64.b64encode(data)
    return _CRLF.join(encoded[i : i + width] for i in range(0, len(encoded), width)) or b""


def encoded_words(text: str, charset: str, *, chunk: int = 45, codec: str | None = None) -> str:
    """RFC 2047 B-words of ``text`` in ``charset``, cut every ``chunk`` bytes, even inside a character.

    Clients cut by bytes, not by characters; an odd ``chunk`` guarantees cuts inside two-byte GBK characters.
    ``codec`` encodes the bytes when the label is not the real encoding (Outlook labels GBK text gb2312).
    """
    raw = text.encode(codec or charset)
    pieces = [raw[i : i + chunk] for i in range(0, len(raw), chunk)] or [b""]
    return "\r\n ".join(f"=?{charset}?B?{base64.b64encode(piece).decode()}?=" for piece in pieces)


def _content_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _multipart(boundary: str, parts: Sequence[bytes]) -> bytes:
    out = b""
    for part in parts:
        out += b"--" + boundary.encode() + _CRLF + part + _CRLF
    return out + b"--" + boundary.encode() + b"--" + _CRLF


def _part(headers: Sequence[str | bytes], body: bytes) -> bytes:
    lines = [h.encode("ascii") if isinstance(h, str) else h for h in headers]
    return _CRLF.join(lines) + _CRLF + _CRLF + body


def _message(headers: Sequence[str | bytes], body: bytes) -> bytes:
    return _part(headers, body) + (b"" if body.endswith(_CRLF) else _CRLF)


def _html(body: str) -> str:
    paragraphs = "".join(f"<div>{line}</div>" for line in body.split("\n"))
    return f'<html><head><meta http-equiv="Content-Type" content="text/html"></head><body>{paragraphs}</body></html>'


# --- Foxmail ----------------------------------------------------------------------------------------------------


def foxmail_mail(
    subject: str,
    sender: Sender,
    recipients: Sequence[str],
    body: str,
    attachments: Files = (),
    *,
    charset: str = "GB18030",
    date: str = DEFAULT_DATE,
    message_id: str | None = None,
) -> bytes:
    """Foxmail 7.2 (Windows): GB18030 (or GBK) base64 encoded-words cut at byte counts, the same words inside
    quoted ``name="=?GB18030?B?…?="`` and ``filename="…"`` parameters, every attachment
    application/octet-stream, the body as plain and HTML alternatives in base64."""
    token = _token("foxmail", subject, sender, date)
    outer = f"----=_001_NextPart{token[:12]}_=----"
    inner = f"----=_002_NextPart{token[12:24]}_=----"
    name, address = sender
    headers = [
        f"Date: {date}",
        f'From: "{encoded_words(name, charset, chunk=9)}" <{address}>',
        f"To: {', '.join(recipients)}",
        f"Subject: {encoded_words(subject, charset, chunk=15)}",
        "X-Priority: 3",
        f"X-GUID: {token[:8].upper()}-{token[8:12].upper()}-{token[12:16].upper()}-{token[16:28].upper()}",
        f"X-Has-Attach: {'yes' if attachments else 'no'}",
        "X-Mailer: Foxmail 7.2.25.228[cn]",
        "Mime-Version: 1.0",
        f"Message-ID: {message_id or f'<{token[:20]}@qq.com>'}",
        f'Content-Type: multipart/mixed;\r\n\tboundary="{outer}"',
    ]
    alternative = _multipart(
        inner,
        [
            _part(
                [f'Content-Type: text/plain;\r\n\tcharset="{charset}"', "Content-Transfer-Encoding: base64"],
                _b64_lines(body.encode(charset)),
            ),
            _part(
                [f'Content-Type: text/html;\r\n\tcharset="{charset}"', "Content-Transfer-Encoding: base64"],
                _b64_lines(_html(body).encode(charset)),
            ),
        ],
    )
    parts = [_part([f'Content-Type: multipart/alternative;\r\n\tboundary="{inner}"'], alternative)]
    for filename, data in attachments:
        words = encoded_words(filename, charset, chunk=21)
        parts.append(
            _part(
                [
                    f'Content-Type: application/octet-stream;\r\n\tname="{words}"',
                    "Content-Transfer-Encoding: base64",
                    f'Content-Disposition: attachment;\r\n\tfilename="{words}"',
                ],
                _b64_lines(data),
            )
        )
    return _message([*headers], b"This is a multi-part message in MIME format.\r\n\r\n" + _multipart(outer, parts))


# --- NetEase web mail (126.com / 163.com, Coremail) -------------------------------------------------------------


def _rfc2231(key: str, value: str, charset: str, width: int = 60) -> str:
    """``key*=charset''…``, or the ``key*0*=…; key*1*=…`` continuation form when the value is long."""
    quoted = urllib.parse.quote(value.encode(charset), safe="")
    if len(quoted) <= width:
        return f"{key}*={charset}''{quoted}"
    # Cut between escapes only: a continuation may not split one %XX.
    chunks, current = [], ""
    for token in re.findall(r"%[0-9A-F]{2}|.", quoted):
        current += token
        if len(current) >= width:
            chunks.append(current)
            current = ""
    if current:
        chunks.append(current)
    segments = [f"{key}*0*={charset}''{chunks[0]}"] + [f"{key}*{n}*={c}" for n, c in enumerate(chunks[1:], 1)]
    return ";\r\n ".join(segments)


def netease_mail(
    subject: str,
    sender: Sender,
    recipients: Sequence[str],
    body: str,
    attachments: Files = (),
    *,
    charset: str = "UTF-8",
    html_only: bool = False,
    date: str = DEFAULT_DATE,
    message_id: str | None = None,
) -> bytes:
    """NetEase 126/163 web mail (Coremail): UTF-8 (or GBK) encoded-words for the subject and names, attachment
    names as RFC 2231 ``filename*=UTF-8''…`` (continuations for long names) with a ``name=`` word beside it;
    the body as quoted-printable HTML only or as plain and HTML alternatives."""
    token = _token("netease", subject, sender, date)
    outer = f"----=_Part_{int(token[:6], 16)}_{int(token[6:14], 16)}.1750384800000"
    inner = f"----=_Part_{int(token[14:20], 16)}_{int(token[20:28], 16)}.1750384800000"
    name, address = sender
    headers = [
        f"Date: {date}",
        f"From: {encoded_words(name, charset)} <{address}>",
        f"To: {', '.join(recipients)}",
        f"Message-ID: {message_id or f'<{token[:8]}.{token[8:12]}.{token[12:24]}.Coremail.{address}>'}",
        f"Subject: {encoded_words(subject, charset, chunk=30)}",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/mixed; \r\n\tboundary="{outer}"',
        "X-Originating-IP: [180.169.1.23]",
        "X-Priority: 3",
        "X-Mailer: Coremail Webmail Server Version XT5.0.14 build 20230109(dcb5de15)"
        f"\r\n Copyright (c) 2002-2025 www.mailtech.cn {address.split('@')[-1].split('.')[0]}com",
        f"X-CM-CTRLDATA: {token[:24]}",
    ]
    html_part = _part(
        [f"Content-Type: text/html; charset={charset}", "Content-Transfer-Encoding: base64"],
        _b64_lines(_html(body).encode(charset)),
    )
    if html_only:
        parts = [html_part]
    else:
        plain_part = _part(
            [f"Content-Type: text/plain; charset={charset}", "Content-Transfer-Encoding: base64"],
            _b64_lines(body.encode(charset)),
        )
        parts = [
            _part(
                [f'Content-Type: multipart/alternative; \r\n\tboundary="{inner}"'],
                _multipart(inner, [plain_part, html_part]),
            )
        ]
    for filename, data in attachments:
        parts.append(
            _part(
                [
                    f'Content-Type: {_content_type(filename)}; \r\n\tname="{encoded_words(filename, charset)}"',
                    "Content-Transfer-Encoding: base64",
                    f"Content-Disposition: attachment; \r\n\t{_rfc2231('filename', filename, charset)}",
                ],
                _b64_lines(data),
            )
        )
    return _message(headers, _multipart(outer, parts))


# --- Outlook ----------------------------------------------------------------------------------------------------


def _tnef_attribute(level: int, attribute: int, data: bytes) -> bytes:
    checksum = sum(data) & 0xFFFF
    return struct.pack("<BII", level, attribute, len(data)) + data + struct.pack("<H", checksum)


def winmail_dat(attachments: Files, *, long_names: bool = True, codepage: int = 936) -> bytes:
    """A TNEF stream (winmail.dat) as Outlook writes it with "Rich Text" format on.

    The attachment title (attAttachTitle) is in the OEM code page (936: GBK); with ``long_names`` the MAPI
    property PR_ATTACH_LONG_FILENAME holds the name in UTF-16 as well, as Outlook 2007 and later write it.
    """
    out = struct.pack("<IH", 0x223E9F78, 0x1234)
    out += _tnef_attribute(1, 0x00089006, struct.pack("<I", 0x00010000))  # attTnefVersion
    out += _tnef_attribute(1, 0x00069007, struct.pack("<II", codepage, 0))  # attOemCodepage
    out += _tnef_attribute(1, 0x00078008, b"IPM.Microsoft Mail.Note\x00")  # attMessageClass
    for filename, data in attachments:
        out += _tnef_attribute(2, 0x00069002, struct.pack("<HiHHI", 1, -1, 0, 0, 0))  # attAttachRendData
        out += _tnef_attribute(2, 0x00018010, filename.encode(f"cp{codepage}") + b"\x00")  # attAttachTitle
        out += _tnef_attribute(2, 0x0006800F, data)  # attAttachData
        if long_names:
            name = filename.encode("utf-16-le") + b"\x00\x00"
            padded = name + b"\x00" * (-len(name) % 4)
            props = struct.pack("<IHHII", 1, 0x001F, 0x3707, 1, len(name)) + padded  # PR_ATTACH_LONG_FILENAME
            out += _tnef_attribute(2, 0x00069005, props)  # attAttachment
    return out


def outlook_mail(
    subject: str,
    sender: Sender,
    recipients: Sequence[str],
    body: str,
    attachments: Files = (),
    *,
    tnef: bool = False,
    tnef_long_names: bool = True,
    date: str = DEFAULT_DATE,
    message_id: str | None = None,
) -> bytes:
    """Outlook 2016 (Chinese Windows): everything labelled gb2312 but encoded as GBK (so 镕, 喆, 堃, 昇 occur
    under a gb2312 label), names as gb2312 encoded-words in quoted parameters, ``X-Mailer: Microsoft Outlook
    16.0``; with ``tnef`` the attachments travel inside winmail.dat (application/ms-tnef)."""
    token = _token("outlook", subject, sender, date)
    outer = f"----=_NextPart_000_{token[:4].upper()}_01DBE1A2.{token[4:12].upper()}"
    inner = f"----=_NextPart_001_{token[12:16].upper()}_01DBE1A2.{token[4:12].upper()}"
    name, address = sender

    def gb(text: str, chunk: int = 45) -> str:
        return encoded_words(text, "gb2312", chunk=chunk, codec="gbk")

    headers = [
        f'From: "{gb(name)}" <{address}>',
        f"To: {', '.join(f'<{r}>' for r in recipients)}",
        f"Subject: {gb(subject, chunk=30)}",
        f"Date: {date}",
        f"Message-ID: {message_id or f'<000001{token[:10]}$01DBE1A2${token[10:18]}@{address.split(chr(64))[-1]}>'}",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/mixed;\r\n\tboundary="{outer}"',
        "X-Mailer: Microsoft Outlook 16.0",
        f"Thread-Index: {base64.b64encode(bytes.fromhex(token[:32])).decode()}",
        "Content-Language: zh-cn",
    ]
    plain = _part(
        ['Content-Type: text/plain;\r\n\tcharset="gb2312"', "Content-Transfer-Encoding: base64"],
        _b64_lines(body.encode("gbk")),
    )
    if tnef:
        parts = [plain]
        parts.append(
            _part(
                [
                    'Content-Type: application/ms-tnef;\r\n\tname="winmail.dat"',
                    "Content-Transfer-Encoding: base64",
                    'Content-Disposition: attachment;\r\n\tfilename="winmail.dat"',
                ],
                _b64_lines(winmail_dat(attachments, long_names=tnef_long_names)),
            )
        )
    else:
        html = _part(
            ['Content-Type: text/html;\r\n\tcharset="gb2312"', "Content-Transfer-Encoding: base64"],
            _b64_lines(_html(body).encode("gbk")),
        )
        parts = [
            _part([f'Content-Type: multipart/alternative;\r\n\tboundary="{inner}"'], _multipart(inner, [plain, html]))
        ]
        for filename, data in attachments:
            words = gb(filename)
            parts.append(
                _part(
                    [
                        f'Content-Type: {_content_type(filename)};\r\n\tname="{words}"',
                        "Content-Transfer-Encoding: base64",
                        f'Content-Disposition: attachment;\r\n\tfilename="{words}"',
                    ],
                    _b64_lines(data),
                )
            )
    return _message(headers, b"This is a multipart message in MIME format.\r\n\r\n" + _multipart(outer, parts))


# --- WPS mail ---------------------------------------------------------------------------------------------------


def wps_mail(
    subject: str,
    sender: Sender,
    recipients: Sequence[str],
    body: str,
    attachments: Files = (),
    *,
    charset: str = "utf-8",
    date: str = DEFAULT_DATE,
    message_id: str | None = None,
) -> bytes:
    """WPS Office's "send as mail" (WPS 邮箱): raw 8-bit UTF-8 (or GBK) in the Subject, the From name and the
    file names, with no encoded-words at all; the body in 8bit."""
    token = _token("wps", subject, sender, date)
    boundary = f"=_wps_{token[:24]}"
    name, address = sender
    headers: list[str | bytes] = [
        b"Subject: " + subject.encode(charset),
        b"From: " + name.encode(charset) + f" <{address}>".encode(),
        f"To: {', '.join(recipients)}",
        f"Date: {date}",
        f"Message-ID: {message_id or f'<{token[:16]}@wps.cn>'}",
        "MIME-Version: 1.0",
        "X-Mailer: WPS Mail",
        f'Content-Type: multipart/mixed; boundary="{boundary}"',
    ]
    parts = [
        _part(
            [f"Content-Type: text/plain; charset={charset}", "Content-Transfer-Encoding: 8bit"],
            body.encode(charset),
        )
    ]
    for filename, data in attachments:
        raw_name = filename.encode(charset)
        parts.append(
            _part(
                [
                    f'Content-Type: {_content_type(filename)}; name="'.encode() + raw_name + b'"',
                    "Content-Transfer-Encoding: base64",
                    b'Content-Disposition: attachment; filename="' + raw_name + b'"',
                ],
                _b64_lines(data),
            )
        )
    return _message(headers, _multipart(boundary, parts))
