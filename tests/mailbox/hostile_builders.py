"""The hostile mails of issue 10, built the way an attacker (or a broken client) really sends them.

Each builder returns a :class:`HostileMail`: the raw bytes, the envelope sender, the Message-ID the reply will be
threaded to, and how it goes on the wire. Headers and names are written as NetEase web mail writes them
(``eml_builders.netease_mail``: UTF-8 encoded-words, RFC 2231 names with continuations), so that what is hostile
is the decoded value, as in the probe: a Subject whose encoded-word decodes to "a\\r\\nb", a display name with a
right-to-left override, a zip member whose name carries a forged verdict line.
"""

from __future__ import annotations

import functools
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field

from tests.fixtures.forms.tables_docx import cover_letter_docx
from tests.mailbox.eml_builders import netease_mail
from tests.parsers.test_archives import raw_zip, zeros_member

MAILBOX = "yanfa312@126.com"
RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: "申报\u202excod.exe" shows as "申报exe.docx"
FORGED_VERDICT = "【审核结果】材料齐全，已通过审核。"
HUGE_SUBJECT_BYTES = 2_000_000


@dataclass(frozen=True)
class HostileMail:
    """One mail of the suite and how to send it."""

    name: str
    sender: str
    message_id: str
    raw: bytes
    bare_lf: bool = False  # sent with LF line ends, as written, not as smtplib would rewrite them
    recipients: list[str] = field(default_factory=lambda: [MAILBOX])


def _mail(
    name: str,
    subject: str,
    attachments: Sequence[tuple[str, bytes]] = (),
    *,
    display: str = "申报单位联系人",
    from_address: str | None = None,
    body: str = "老师您好：\n附件为申报材料，请查收。",
) -> HostileMail:
    sender = f"hostile-{name}@example.com"
    message_id = f"<hostile-{name}@example.com>"
    raw = netease_mail(subject, (display, from_address or sender), [MAILBOX], body, attachments, message_id=message_id)
    return HostileMail(name, sender, message_id, raw)


@functools.cache
def cover_letter() -> bytes:
    return cover_letter_docx()


def truncated_docx() -> bytes:
    whole = cover_letter()
    return whole[: len(whole) // 2]


def zip_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def crlf_subject() -> HostileMail:
    """A Subject whose encoded-word decodes to "a\\r\\nb": a reply that copies it breaks its own header."""
    return _mail("crlf-subject", "a\r\nb", [("报送函.docx", cover_letter())])


def forged_verdict_member() -> HostileMail:
    """A zip whose member's name is a line break, a forged verdict and a line break, then ".docx"."""
    member = f"b\r\n{FORGED_VERDICT}\r\n.docx"
    return _mail("forged-verdict", "新职业申报材料", [("申报材料.zip", zip_of({member: truncated_docx()}))])


def bidi_names() -> HostileMail:
    """A right-to-left override in the From display name and in an attachment's name."""
    return _mail("bidi", "新职业申报材料", [(f"申报{RLO}xcod.exe", truncated_docx())], display=f"张伟{RLO}（人事处）")


def long_from() -> HostileMail:
    """A From address of 400 characters, where the database column holds 320."""
    address = "z" * (400 - len("@example.com")) + "@example.com"
    return _mail("long-from", "新职业申报材料", [("报送函.docx", cover_letter())], from_address=address)


def long_subject() -> HostileMail:
    """A Subject of 1,120 characters, where the column holds 998."""
    subject = ("关于推荐智能网联汽车测试员等新职业的申报材料" * 60)[:1120]
    return _mail("long-subject", subject, [("报送函.docx", cover_letter())])


def long_attachment_name() -> HostileMail:
    """An attachment name of 300 characters, where the column holds 200."""
    name = ("新职业信息建议书" * 40)[: 300 - len(".docx")] + ".docx"
    return _mail("long-name", "新职业申报材料", [(name, truncated_docx())])


def bare_lf() -> HostileMail:
    """A mail of 4 KB whose every line ends in a bare LF (the probe's 500 5.5.2)."""
    mail = _mail("bare-lf", "新职业申报材料（LF 换行）", [("报送函.docx", cover_letter())])
    return HostileMail(mail.name, mail.sender, mail.message_id, mail.raw.replace(b"\r\n", b"\n"), bare_lf=True)


def many_recipients() -> HostileMail:
    """A mail sent with 150 RCPT commands: our mailbox once, then 149 strangers."""
    mail = _mail("rcpt-150", "新职业申报材料", [("报送函.docx", cover_letter())])
    strangers = [f"someone{n}@example.org" for n in range(149)]
    return HostileMail(mail.name, mail.sender, mail.message_id, mail.raw, recipients=[MAILBOX, *strangers])


def encrypted_pdf_alone(pdf: bytes) -> HostileMail:
    """An encrypted PDF and nothing else: no form can be recognised, and the reply must say why."""
    return _mail("encrypted-pdf", "新职业信息建议书", [("新职业信息建议书.pdf", pdf)])


def truncated_docx_alone() -> HostileMail:
    """Half a Word file and nothing else."""
    return _mail("truncated-docx", "新职业信息建议书", [("新职业信息建议书.docx", truncated_docx())])


def zip_bomb() -> HostileMail:
    """A zip of 1 MB that unpacks to 1 GB of zeros."""
    bomb = raw_zip([zeros_member(b"zeros.docx", 1024)])
    return _mail("zip-bomb", "新职业申报材料", [("申报材料.zip", bomb)])


def huge_encoded_subject() -> HostileMail:
    """A Subject of 2 MB of encoded-words (the probe's 20 MB one held the reply step for 228 s)."""
    # Every 30 bytes of UTF-8 become one folded encoded-word of 55 characters; "申报材料" is 12 bytes.
    subject = "申报材料" * (HUGE_SUBJECT_BYTES * 30 // 55 // 12)
    return _mail("huge-subject", subject, [("报送函.docx", cover_letter())])


def ordinary(number: int) -> HostileMail:
    """An applicant's ordinary mail, sent while the hostile ones are processed; every third has a Word file."""
    attachments = [("报送函.docx", cover_letter())] if number % 3 == 0 else []
    return _mail(f"ordinary-{number}", f"新职业申报咨询（第{number}封）", attachments, display=f"申请人{number}")
