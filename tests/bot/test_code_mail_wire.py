"""Issue 18: the code mail is written out once, as the bytes queued and handed over, without the email package's
generator (:func:`zhengji.bot.codemail.wire`); what a mail client shows of it is what it showed before."""

from __future__ import annotations

import email
import email.policy
from datetime import date
from email.message import EmailMessage

import pytest

from zhengji.bot.codemail import SUBJECT, CodeMail, wire


def _mail(to: str) -> CodeMail:
    return CodeMail(to=to, from_address="yanfa312@126.com", office="上海市职业技能鉴定中心", channel="web",
                    code="042917", subject_of="申报编号为 ZJ-2025Q2-7K3M9P 的申报材料", minutes=15, attempts=5,
                    today=date(2025, 6, 21))  # fmt: skip


@pytest.mark.parametrize("to", ["applicant@example.com", "申报人@例子.中国"])
def test_the_queued_bytes_read_as_the_center_s_automatic_mail_with_the_code(to: str) -> None:
    raw = wire(_mail(to))
    assert b"\n" not in raw.replace(b"\r\n", b"") and all(len(line) <= 78 for line in raw.split(b"\r\n"))
    mail = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(mail, EmailMessage)
    assert mail["From"].addresses[0].display_name == "上海市职业技能鉴定中心"
    assert mail["From"].addresses[0].addr_spec == "yanfa312@126.com"
    assert mail["Subject"] == SUBJECT and mail["Auto-Submitted"] == "auto-generated"
    assert mail["Date"] and mail["Message-ID"].endswith("@zhengji.local>")
    assert mail.get_content_charset() == "utf-8" and mail["Content-Transfer-Encoding"] == "base64"
    body = mail.get_content()
    assert "042917" in body and "ZJ-2025Q2-7K3M9P" in body and "15 分钟" in body
    if to.isascii():
        assert str(mail["To"]) == to


def test_each_mail_has_its_own_message_id() -> None:
    first, second = (email.message_from_bytes(wire(_mail("a@example.com"))) for _ in range(2))
    assert first["Message-ID"] != second["Message-ID"]
