"""Decode a mail as Chinese mail clients really send it: subject, sender, body text and attachments.

The standard library's ``email`` package parses the MIME tree and the transfer encodings. Its header and
charset handling is not used where Chinese mail breaks it: a part labelled gb2312 routinely holds GBK-only
characters (镕, 喆, 堃, 昇) that a gb2312 codec drops or replaces, Foxmail splits encoded-words in the middle
of a character, WPS writes raw 8-bit GBK file names, and Outlook wraps attachments in winmail.dat. So headers
are decoded here from their raw bytes, and every GB label is read as GB18030, the superset of all of them.

Nothing in here raises on a malformed mail: what cannot be decoded is decoded as far as it goes and noted in
``IncomingMail.problems`` (Chinese sentences for the clerk who reviews the submission).
"""

from __future__ import annotations

import base64
import binascii
import codecs
import email
import email.errors
import email.policy
import email.utils
import logging
import mimetypes
import re
import unicodedata
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from html.parser import HTMLParser
from typing import ClassVar

import tnefparse

# Every label of the GB family, and the aliases mail clients write for it, is read as GB18030.
_GB_LABELS = {
    "gb2312",
    "gbk",
    "x-gbk",
    "cp936",
    "ms936",
    "windows-936",
    "euc-cn",
    "x-euc-cn",
    "euccn",
    "csgb2312",
    "gb_2312-80",
    "gb2312-80",
    "chinese",
    "gb18030",
    "hz-gb-2312",
}
# Big5 mail from Taiwan and Hong Kong: big5hkscs reads plain Big5 and the HKSCS additions.
_BIG5_LABELS = {"big5", "x-big5", "csbig5", "big5-hkscs", "cn-big5", "cp950"}
_SIGNATURE_TYPES = {"application/pkcs7-signature", "application/x-pkcs7-signature", "application/pgp-signature"}
_TNEF_TYPES = {"application/ms-tnef", "application/vnd.ms-tnef"}
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_HEADER_LINE = re.compile(rb"^[!-9;-~]+:")
_MSG_ID = re.compile(r"<[^<>\s]+>")
_AUTO_SENDERS = re.compile(r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply)([+._-].*)?$", re.IGNORECASE)
_MAGIC = [
    (b"%PDF", ".pdf"),
    (b"PK\x03\x04", ".zip"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", ".doc"),
    (b"Rar!\x1a\x07", ".rar"),
    (b"7z\xbc\xaf\x27\x1c", ".7z"),
    (b"\x89PNG", ".png"),
    (b"\xff\xd8\xff", ".jpg"),
]

log = logging.getLogger("zhengji.mime")


@dataclass(frozen=True)
class Attachment:
    """One file of the mail: its cleaned file name, its bytes, the type the sender declared."""

    filename: str
    data: bytes
    content_type: str
    inline: bool = False
    # A picture shown inside the mail's text (pasted in, a signature logo) rather than a file the sender
    # attached: kept for staff, but it does not make a question into a submission.
    embedded: bool = False


@dataclass
class IncomingMail:
    """What the intake needs of one received mail. ``date`` is the sender's clock: informational only."""

    subject: str = ""
    from_address: str = ""
    from_name: str = ""
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    message_id: str = ""
    in_reply_to: str = ""
    references: list[str] = field(default_factory=list)
    date: datetime | None = None
    mailer: str = ""
    text: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    # Subjects of mails forwarded inside this one (message/rfc822 parts), outermost first.
    forwarded_subjects: list[str] = field(default_factory=list)
    auto_submitted: bool = False
    auto_reason: str = ""
    problems: list[str] = field(default_factory=list)

    def note(self, problem: str) -> None:
        if problem not in self.problems:
            self.problems.append(problem)


def parse_mail(raw: bytes) -> IncomingMail:
    """Decode one raw mail; never raises, whatever the bytes."""
    mail = IncomingMail()
    try:
        message = email.message_from_bytes(_repair_header_block(raw, mail), policy=email.policy.default)
        _read_envelope(message, mail)
        bodies = _Bodies()
        _walk(message, mail, bodies, depth=0)
        mail.text = bodies.text()
        _note_defects(message, mail)
    except Exception as error:  # A last guard: the mail is stored either way and a clerk reads the problem.
        log.warning("a %d-byte mail could not be fully decoded", len(raw), exc_info=True)
        mail.note(f"邮件结构无法完整解析（{type(error).__name__}），请人工查看原始邮件。")
    return mail


# --- charsets ---------------------------------------------------------------------------------------------------


def codec_for(label: str | None) -> str | None:
    """The Python codec to read a declared charset with, or None when the label is unknown."""
    if not label:
        return None
    name = label.strip().strip('"').lower()
    if name in _GB_LABELS:
        return "gb18030"
    if name in _BIG5_LABELS:
        return "big5hkscs"
    if name in ("utf8", "utf-8", "unicode-1-1-utf-8", "x-unicode20utf8"):
        return "utf-8"
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_text(data: bytes, label: str | None, where: str, mail: IncomingMail) -> str:
    """Bytes to text by the declared charset, falling back to UTF-8 then GB18030 (what Chinese mail is in)."""
    codec = codec_for(label)
    if label and codec is None:
        mail.note(f"{where}声明的字符集“{label}”无法识别，已按 UTF-8 或 GB18030 解读。")
    tried = [codec] if codec else []
    tried += [name for name in ("utf-8", "gb18030") if name not in tried]
    for name in tried:
        try:
            return data.decode(name)
        except UnicodeDecodeError:
            continue
    log.info("%s: %d bytes not valid in %s, UTF-8 or GB18030; decoded with replacements", where, len(data), label)
    mail.note(f"{where}无法按字符集“{label or 'UTF-8'}”完整解码，个别文字可能显示为“\ufffd”。")
    return data.decode(codec or "gb18030", errors="replace")


def _raw_text(raw: bytes) -> str:
    """Header bytes to text: raw 8-bit headers are UTF-8 (web mail, WPS) or GBK (older clients)."""
    for name in ("ascii", "utf-8", "gb18030"):
        try:
            return raw.decode(name)
        except UnicodeDecodeError:
            continue
    return raw.decode("gb18030", errors="replace")


def decode_words(text: str, mail: IncomingMail | None = None) -> str:
    """Decode RFC 2047 encoded-words, joining adjacent words of one charset before decoding their bytes.

    Foxmail and Outlook split long subjects into several encoded-words at byte boundaries, so one Chinese
    character can start in one word and end in the next; decoding word by word would garble it.
    """
    out: list[str] = []
    pending: bytearray = bytearray()
    pending_charset: str | None = None
    position = 0

    def flush() -> None:
        nonlocal pending, pending_charset
        if pending_charset is not None:
            sink = mail if mail is not None else IncomingMail()
            out.append(decode_text(bytes(pending), pending_charset, "邮件头中的编码文字", sink))
        pending = bytearray()
        pending_charset = None

    after_word = False
    for match in _ENCODED_WORD.finditer(text):
        between = text[position : match.start()]
        charset = match.group(1).split("*", 1)[0].lower()
        if after_word and not between.strip():
            # Whitespace between two encoded-words is folding, not text (RFC 2047 §6.2).
            if charset != pending_charset:
                flush()
        else:
            flush()
            out.append(between)
        pending_charset = charset
        pending.extend(_word_bytes(match.group(2), match.group(3), mail))
        position = match.end()
        after_word = True
    flush()
    out.append(text[position:])
    return "".join(out)


def _word_bytes(encoding: str, payload: str, mail: IncomingMail | None) -> bytes:
    if encoding in "bB":
        try:
            return base64.b64decode(payload + "=" * (-len(payload) % 4))
        except (binascii.Error, ValueError) as error:
            log.info("skipped an encoded-word of bad base64 in a header: %s", error)
            if mail is not None:
                mail.note("邮件头中有一段 base64 编码有误，已跳过无法解码的部分。")
            return b""
    return re.sub(rb"=([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), payload.replace("_", " ").encode())


# --- headers ----------------------------------------------------------------------------------------------------


def _repair_header_block(raw: bytes, mail: IncomingMail) -> bytes:
    """Drop lines of the top header block that are no header, which would otherwise end the headers early."""
    end = re.search(rb"\r?\n\r?\n", raw)
    head, rest = (raw[: end.start()], raw[end.start() :]) if end else (raw, b"")
    kept: list[bytes] = []
    for number, line in enumerate(head.split(b"\n")):
        bare = line.rstrip(b"\r")
        if number == 0 and bare.startswith(b"From "):
            continue  # An mbox envelope line, not a header.
        if (bare[:1] in (b" ", b"\t") and kept) or _HEADER_LINE.match(bare):
            kept.append(line)
        elif bare.strip():
            shown = _raw_text(bare.strip())[:60]
            mail.note(f"邮件头中有一行格式不正确（缺少冒号），已忽略：“{shown}”。")
    return b"\n".join(kept) + rest


def _header_values(part: Message, name: str) -> list[str]:
    """Every value of a header, from its raw bytes, unfolded, encoded-words left as they are."""
    values = []
    for key, value in part.raw_items():
        if key.lower() == name.lower():
            raw = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else bytes(str(value), "utf-8")
            raw = re.sub(rb"\r?\n(?=[ \t])", b"", raw).strip()
            values.append(_raw_text(raw))
    return values


def _header(part: Message, name: str) -> str:
    values = _header_values(part, name)
    return values[0] if values else ""


def _addresses(values: list[str], mail: IncomingMail) -> list[tuple[str, str]]:
    """(display name, address) pairs; names decoded after splitting so that a decoded comma cannot split."""
    pairs = []
    for name, address in email.utils.getaddresses(values):
        address = address.strip().strip("<>")
        if address or name:
            pairs.append((decode_words(name, mail).strip(), address))
    return pairs


def _read_envelope(message: Message, mail: IncomingMail) -> None:
    mail.subject = decode_words(_header(message, "Subject"), mail).strip()
    senders = _addresses(_header_values(message, "From"), mail)
    if senders:
        mail.from_name, mail.from_address = senders[0]
    mail.to = [address for _, address in _addresses(_header_values(message, "To"), mail) if address]
    mail.cc = [address for _, address in _addresses(_header_values(message, "Cc"), mail) if address]
    mail.message_id = _first_id(_header(message, "Message-ID"))
    mail.in_reply_to = _first_id(_header(message, "In-Reply-To"))
    mail.references = _MSG_ID.findall(" ".join(_header_values(message, "References")))
    mail.mailer = decode_words(_header(message, "X-Mailer") or _header(message, "User-Agent"), mail).strip()
    date = _header(message, "Date")
    if date:
        try:
            mail.date = email.utils.parsedate_to_datetime(date)
        except (TypeError, ValueError, IndexError):
            mail.note(f"邮件头中的发送日期“{date[:40]}”无法识别（仅供参考，不影响收件时间）。")
    mail.auto_reason = _auto_reason(message, mail.from_address)
    mail.auto_submitted = bool(mail.auto_reason)


def _first_id(value: str) -> str:
    found = _MSG_ID.search(value)
    return found.group(0) if found else value.strip()


def _auto_reason(message: Message, sender: str) -> str:
    """Why the mail was sent by a machine (so that no auto-reply answers it), or "" for a person's mail."""
    auto = _header(message, "Auto-Submitted").split(";", 1)[0].strip().lower()
    if auto and auto != "no":
        return f"自动发送的邮件（Auto-Submitted: {auto}）"
    precedence = _header(message, "Precedence").strip().lower()
    if precedence in ("bulk", "list", "junk"):
        return f"群发或列表邮件（Precedence: {precedence}）"
    for key, _ in message.raw_items():
        if key.lower().startswith("list-"):
            return f"邮件列表发出的邮件（{key}）"
    for key in ("X-Auto-Response-Suppress", "X-Autoreply", "X-Autorespond"):
        if _header_values(message, key):
            return f"自动回复类邮件（{key}）"
    return_paths = _header_values(message, "Return-Path")
    if return_paths and return_paths[0].strip() in ("<>", ""):
        return "退信或系统通知（Return-Path 为空）"
    local = sender.rsplit("@", 1)[0]
    if local and _AUTO_SENDERS.match(local):
        return f"系统地址发出的邮件（{sender}）"
    if _header(message, "Content-Type").lower().startswith("multipart/report"):
        return "投递状态报告（multipart/report）"
    return ""


def header_params(value: str, mail: IncomingMail) -> tuple[str, dict[str, str]]:
    """A structured header's main value (lower case) and its parameters, decoded.

    Handles RFC 2231 (``filename*=GBK''%C9%EA…`` and ``filename*0*=…; filename*1*=…``), RFC 2047 words put in
    quoted parameters (Foxmail's ``filename="=?GBK?B?…?="``), and raw 8-bit values (already text here).
    """
    pieces = _split_params(value)
    main = pieces[0].strip().lower() if pieces else ""
    plain: dict[str, str] = {}
    extended: dict[str, list[tuple[int, bool, str]]] = {}
    for piece in pieces[1:]:
        if "=" not in piece:
            continue
        key, _, raw_value = piece.partition("=")
        key = key.strip().lower()
        raw_value = _unquote(raw_value.strip())
        parts = re.fullmatch(r"([^*]+)(?:\*(\d+))?(\*)?", key)
        if parts is None:
            continue
        base, index, star = parts.group(1), parts.group(2), parts.group(3)
        if index is None and star is None:
            plain[base] = decode_words(raw_value, mail)
        else:
            extended.setdefault(base, []).append((int(index or 0), bool(star), raw_value))
    params = dict(plain)
    for base, segments in extended.items():
        params[base] = _join_rfc2231(sorted(segments), mail)
    return main, params


def _join_rfc2231(segments: list[tuple[int, bool, str]], mail: IncomingMail) -> str:
    charset: str | None = None
    out: list[str] = []
    run = bytearray()
    for number, (_, encoded, value) in enumerate(segments):
        if encoded:
            if number == 0 and value.count("'") >= 2:
                charset, _, value = value.split("'", 2)
            run.extend(urllib.parse.unquote_to_bytes(value))
        else:
            if run:
                out.append(decode_text(bytes(run), charset, "附件名", mail))
                run = bytearray()
            out.append(decode_words(value, mail))
    if run:
        out.append(decode_text(bytes(run), charset, "附件名", mail))
    return "".join(out)


def _split_params(value: str) -> list[str]:
    pieces, current, quoted, escaped = [], [], False, False
    for char in value:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\" and quoted:
            current.append(char)
            escaped = True
        elif char == '"':
            quoted = not quoted
            current.append(char)
        elif char == ";" and not quoted:
            pieces.append("".join(current))
            current = []
        else:
            current.append(char)
    pieces.append("".join(current))
    return pieces


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value.strip('"')


# --- the MIME tree ----------------------------------------------------------------------------------------------


@dataclass
class _Bodies:
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    forwarded: list[str] = field(default_factory=list)

    def text(self) -> str:
        own = "\n\n".join(self.plain) if self.plain else "\n\n".join(html_to_text(h) for h in self.html)
        for forwarded in self.forwarded:
            own += "\n\n---------- 转发的邮件 ----------\n" + forwarded
        return own.strip()


def _walk(part: Message, mail: IncomingMail, bodies: _Bodies, depth: int) -> None:
    ctype, ctype_params = header_params(_header(part, "Content-Type") or "text/plain", mail)
    if part.is_multipart():
        children = part.get_payload()
        if ctype == "message/rfc822" or not ctype.startswith("multipart/"):
            for inner in children if isinstance(children, list) else []:
                if isinstance(inner, Message):
                    _walk_forwarded(inner, mail, bodies, depth)
            return
        for child in children if isinstance(children, list) else []:
            if isinstance(child, Message):
                _walk(child, mail, bodies, depth)
        return
    disposition, disposition_params = header_params(_header(part, "Content-Disposition"), mail)
    filename = disposition_params.get("filename") or ctype_params.get("name") or ""
    if ctype in _SIGNATURE_TYPES:
        return
    if ctype in _TNEF_TYPES or filename.lower() == "winmail.dat":
        _read_tnef(_payload(part, filename or "winmail.dat", mail), mail, bodies)
        return
    located = _location_name(part, mail)
    # A part named only by Content-Location (a file or picture pasted into the mail), and a picture shown in
    # the HTML body, are files too: dropping them would hide from staff what the sender pasted.
    picture = ctype.startswith("image/")
    is_file = (
        disposition == "attachment"
        or bool(filename)
        or ctype.startswith("application/")
        or picture
        or (bool(located) and ctype not in ("text/plain", "text/html"))
    )
    if is_file:
        data = _payload(part, filename or located or ctype, mail)
        name = clean_filename(filename) or located or _generated_name(len(mail.attachments) + 1, ctype, data)
        embedded = picture and not filename and disposition != "attachment"
        mail.attachments.append(Attachment(name, data, ctype, inline=disposition == "inline", embedded=embedded))
    elif ctype in ("text/plain", "text/html"):
        text = decode_text(_payload(part, "正文", mail), ctype_params.get("charset"), "正文", mail)
        (bodies.plain if ctype == "text/plain" else bodies.html).append(text)
    elif ctype.startswith("multipart/"):
        mail.note("邮件声明为多段结构，但缺少分隔线（boundary），已按正文读取。")
        bodies.plain.append(decode_text(_payload(part, "正文", mail), ctype_params.get("charset"), "正文", mail))


def _location_name(part: Message, mail: IncomingMail) -> str:
    """The file name in a part's Content-Location: its last path segment, percent- and word-decoded."""
    location = decode_words(_header(part, "Content-Location"), mail).strip().strip("<>").strip()
    if not location:
        return ""
    path = urllib.parse.urlsplit(location).path if "://" in location or location.startswith("cid:") else location
    segment = re.split(r"[\\/]", path.rstrip("/\\"))[-1]
    raw = urllib.parse.unquote_to_bytes(segment)
    for codec in ("utf-8", "gb18030"):
        try:
            return clean_filename(raw.decode(codec))
        except UnicodeDecodeError:
            continue
    return clean_filename(raw.decode("utf-8", errors="replace"))


def _walk_forwarded(inner: Message, mail: IncomingMail, bodies: _Bodies, depth: int) -> None:
    """A forwarded mail: its files are the submission's too; its subject is kept, its text appended."""
    if depth >= 5:
        mail.note("转发邮件嵌套层数过多，更深层的内容未读取。")
        return
    mail.forwarded_subjects.append(decode_words(_header(inner, "Subject"), mail).strip())
    inner_bodies = _Bodies()
    _walk(inner, mail, inner_bodies, depth + 1)
    _note_defects(inner, mail)
    text = inner_bodies.text()
    if text:
        bodies.forwarded.append(text)


def _payload(part: Message, where: str, mail: IncomingMail) -> bytes:
    before = len(part.defects)
    payload = part.get_payload(decode=True)
    for defect in part.defects[before:]:
        if isinstance(defect, email.errors.InvalidBase64LengthDefect):
            # The standard library gives up and returns the base64 text itself; decode what is whole.
            payload = _lenient_b64(part.get_payload(decode=False))
            mail.note(f"“{where}”的 base64 编码不完整，已尽量解码，内容可能不完整。")
        elif isinstance(defect, email.errors.InvalidBase64PaddingDefect):
            mail.note(f"“{where}”的 base64 编码不完整，已尽量解码，内容可能不完整。")
        elif isinstance(defect, email.errors.InvalidBase64CharactersDefect):
            mail.note(f"“{where}”的 base64 编码中有无效字符，已跳过。")
    if isinstance(payload, bytes):
        return payload
    return b""


def _lenient_b64(text: object) -> bytes:
    clean = re.sub(r"[^A-Za-z0-9+/]", "", text if isinstance(text, str) else "")
    clean = clean[: len(clean) - 1] if len(clean) % 4 == 1 else clean
    try:
        return base64.b64decode(clean + "=" * (-len(clean) % 4))
    except (binascii.Error, ValueError) as error:  # the caller noted the damaged part for the sender
        log.info("a damaged base64 part gave nothing to decode: %s", error)
        return b""


def _note_defects(message: Message, mail: IncomingMail) -> None:
    for part in message.walk():
        for defect in part.defects:
            if isinstance(defect, email.errors.CloseBoundaryNotFoundDefect):
                mail.note("邮件的 MIME 结构不完整（缺少结束分隔线），已尽量读取其中的内容。")
            elif isinstance(defect, email.errors.StartBoundaryNotFoundDefect):
                mail.note("邮件声明为多段结构，但找不到分隔线，已按正文读取。")
            elif isinstance(defect, email.errors.MissingHeaderBodySeparatorDefect):
                mail.note("邮件某一段的头部格式不正确，已尽量读取其中的内容。")


def _read_tnef(data: bytes, mail: IncomingMail, bodies: _Bodies) -> None:
    """Outlook's winmail.dat: the real attachments are inside, with their long (Unicode or GBK) names."""
    try:
        tnef = tnefparse.TNEF(data, do_checksum=False)
    except Exception:
        log.warning("could not unpack a %d-byte winmail.dat; kept as it is", len(data), exc_info=True)
        mail.note("无法解开 Outlook 附件包 winmail.dat，已原样保留。")
        mail.attachments.append(Attachment("winmail.dat", data, "application/ms-tnef"))
        return
    for number, item in enumerate(tnef.attachments, start=1):
        name = clean_filename(_tnef_name(item)) or _generated_name(number, "application/octet-stream", item.data)
        ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        mail.attachments.append(Attachment(name, bytes(item.data), ctype))
    body = tnef.body or tnef.htmlbody
    if body and not bodies.plain and not bodies.html:
        text = body if isinstance(body, str) else decode_text(body, None, "winmail.dat 中的正文", mail)
        (bodies.plain if tnef.body else bodies.html).append(text.rstrip("\x00"))


def _tnef_name(item: tnefparse.tnef.TNEFAttachment) -> str:
    long_names = [a.data for a in item.mapi_attrs if a.name == tnefparse.tnef.Attribute.MAPI_ATTACH_LONG_FILENAME]
    if long_names and isinstance(long_names[0], str):
        return str(long_names[0])
    title = item._name  # tnefparse decodes the 8.3 title as UTF-8, which fails on GBK: read the bytes here.
    if isinstance(title, bytes):
        return _raw_text(title.rstrip(b"\x00"))
    return str(title)


def clean_filename(name: str) -> str:
    """NFC (macOS sends NFD), without the folders Windows clients leave in, without control characters."""
    name = unicodedata.normalize("NFC", name)
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(char for char in name if unicodedata.category(char) not in ("Cc", "Cf"))
    return name.strip().strip(".").strip() if name.strip() not in (".", "..") else ""


def _generated_name(number: int, ctype: str, data: bytes) -> str:
    suffix = next((ext for magic, ext in _MAGIC if data.startswith(magic)), None)
    suffix = suffix or mimetypes.guess_extension(ctype) or ".bin"
    return f"附件{number}{suffix}"


# --- HTML bodies ------------------------------------------------------------------------------------------------


class _TextExtractor(HTMLParser):
    # Paragraph-like blocks are separated by a blank line, line-like blocks by a line break.
    _PARAGRAPHS: ClassVar[set[str]] = {
        "p",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "table",
        "blockquote",
        "pre",
        "ul",
        "ol",
    }
    _LINES: ClassVar[set[str]] = {"div", "tr", "li", "dt", "dd"}
    _SKIP: ClassVar[set[str]] = {"script", "style", "head", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0
        self._newlines = 2  # The start of the text counts as a fresh paragraph.

    def _break(self, count: int) -> None:
        if self._newlines < count:
            self.parts.append("\n" * (count - self._newlines))
            self._newlines = count

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag == "br":
            self.parts.append("\n")
            self._newlines += 1
        elif tag in self._PARAGRAPHS:
            self._break(2)
        elif tag in self._LINES:
            self._break(1)
        elif tag in ("td", "th"):
            self.parts.append("\t")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self._PARAGRAPHS:
            self._break(2)
        elif tag in self._LINES:
            self._break(1)

    def handle_data(self, data: str) -> None:
        if self._skipping:
            return
        text = re.sub(r"[ \t\r\n]+", " ", data)
        self.parts.append(text)
        if text.strip():
            self._newlines = 0


def html_to_text(html: str) -> str:
    """The readable text of an HTML body (web mail often sends no plain part)."""
    parser = _TextExtractor()
    try:
        parser.feed(html)
        parser.close()
    except Exception:
        log.warning("an HTML body defeated the parser; its tags are stripped instead", exc_info=True)
        return re.sub(r"<[^>]+>", " ", html).strip()
    text = "".join(parser.parts).replace("\xa0", " ")
    lines = [line.strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
