"""Mail whose headers are longer than any column, or than anything worth decoding, is answered all the same,
on SQLite and on PostgreSQL (where a value longer than its column used to stop the check step for good)."""

from __future__ import annotations

import base64
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tests.mailbox.eml_builders import foxmail_mail
from tests.mailbox.pipeline_support import SH, body_of, drain, outbox, settle
from zhengji.mailbox import pipeline as pipeline_module
from zhengji.mailbox.envelope import MAX_HEADER_BYTES, read_mail, receipt_time
from zhengji.mailbox.intake import Receipt, keep
from zhengji.mailbox.mime import parse_mail
from zhengji.mailbox.pipeline import Pipeline
from zhengji.settings import Settings, load_settings
from zhengji.storage.blobs import blob_store
from zhengji.storage.models import AuditEvent, Message, MessageSource, MessageState, Reply, ReplyState, Submission

RECEIVED = b"Received: by mx.126.com; Mon, 23 Jun 2025 10:00:00 +0800\r\n"
LONG_SUBJECT = "关于报送新职业信息建议书的函" * 80  # 1,120 characters
LONG_NAME = "某某市人力资源和社会保障局职业能力建设处" * 15  # 300 characters


@pytest.fixture
def settings(engine: Engine, tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path / "var", database_url=engine.url.render_as_string(hide_password=False))


def receive(engine: Engine, settings: Settings, raw: bytes, envelope_from: str) -> int:
    received = receipt_time(raw)
    assert received is not None
    row = keep(engine, blob_store(settings), raw, Receipt(MessageSource.smtp, SH, received, envelope_from, [SH]))
    assert row.id is not None
    return row.id


def state_and_replies(engine: Engine, message_id: int) -> tuple[MessageState, list[ReplyState]]:
    with Session(engine) as session:
        message = session.get(Message, message_id)
        assert message is not None
        return message.state, [reply.state for reply in session.exec(select(Reply)).all()]


def test_header_values_longer_than_their_columns_are_answered(engine: Engine, settings: Settings) -> None:
    raw = RECEIVED + foxmail_mail(LONG_SUBJECT, (LONG_NAME, "hr@yiwu-tech.com.cn"), [SH], "请查收。")
    message_id = receive(engine, settings, raw, envelope_from="bounce-" + "x" * 400 + "@yiwu-tech.com.cn")
    drain(Pipeline(engine, settings))
    assert state_and_replies(engine, message_id) == (MessageState.replied, [ReplyState.sent])
    with Session(engine) as session:
        case = session.exec(select(Submission)).one()
        assert case.subject == LONG_SUBJECT[:998] and case.sender_name == LONG_NAME[:200]
        message = session.get(Message, message_id)
        assert message is not None and message.envelope_from is not None and len(message.envelope_from) == 320
    [sent] = outbox(settings)
    reply = message_from_bytes(bytes(sent), policy=policy.default)
    # A mail with no file is a question: answered in its thread, with no 受理编号 (it is not a submission).
    assert reply["To"] == "hr@yiwu-tech.com.cn" and str(reply["Subject"]).startswith("Re: 关于报送新职业信息建议书的函")
    # The raw mail keeps every character.
    assert parse_mail(blob_store(settings).get(message.sha256)).subject == LONG_SUBJECT


def test_an_address_no_mail_server_would_take_gets_no_reply_rather_than_a_trimmed_one(
    engine: Engine, settings: Settings
) -> None:
    address = "a" * 400 + "@yiwu-tech.com.cn"
    raw = RECEIVED + foxmail_mail("申报材料", ("某单位", address), [SH], "请查收。")
    message_id = receive(engine, settings, raw, envelope_from=address)
    drain(Pipeline(engine, settings))
    assert state_and_replies(engine, message_id) == (MessageState.replied, [ReplyState.suppressed])
    with Session(engine) as session:
        [event] = session.exec(select(AuditEvent).where(AuditEvent.action == "reply_suppressed")).all()
        assert event.detail["reason"] == "no_address"
    assert outbox(settings) == []


def test_the_staff_notice_of_a_mail_with_long_headers_goes_out(
    engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A file, so that the mail is a submission and goes through the check (a mail with none is a question).
    attachment = [("建议书.docx", b"not really a Word file")]
    raw = RECEIVED + foxmail_mail(LONG_SUBJECT, (LONG_NAME, "hr@yiwu-tech.com.cn"), [SH], "请查收。", attachment)
    message_id = receive(engine, settings, raw, envelope_from="hr@yiwu-tech.com.cn")

    def faulty(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("a fault in the check")

    monkeypatch.setattr(pipeline_module, "judge", faulty)
    settle(engine, settings)
    assert state_and_replies(engine, message_id) == (MessageState.failed, [ReplyState.sent])
    [sent] = outbox(settings)
    assert "转交工作人员人工处理" in body_of(bytes(sent))


def huge_subject_mail(size: int) -> bytes:
    word = "=?UTF-8?B?" + base64.b64encode("申报材料".encode()).decode() + "?="
    subject = " ".join([word] * (size // (len(word) + 1)))
    return (
        RECEIVED
        + (
            "From: 某单位 <hr@yiwu-tech.com.cn>\r\nTo: yanfa312@126.com\r\n"
            f"Subject: {subject}\r\nMessage-ID: <huge@yiwu-tech.com.cn>\r\n"
            "Date: Mon, 23 Jun 2025 09:59:00 +0800\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n请查收。\r\n"
        ).encode()
    )


def test_a_subject_of_megabytes_is_decoded_only_as_far_as_a_reply_needs(engine: Engine, settings: Settings) -> None:
    raw = huge_subject_mail(2 * 1024 * 1024)
    decoded = read_mail(raw)
    assert 0 < len(decoded.subject.encode()) <= MAX_HEADER_BYTES and decoded.subject.startswith("申报材料申报材料")
    whole = parse_mail(raw)
    assert (decoded.message_id, decoded.from_address, decoded.text) == (whole.message_id, whole.from_address,
                                                                        whole.text)  # fmt: skip
    message_id = receive(engine, settings, raw, envelope_from="hr@yiwu-tech.com.cn")
    drain(Pipeline(engine, settings))
    assert state_and_replies(engine, message_id) == (MessageState.replied, [ReplyState.sent])
    [sent] = outbox(settings)
    reply = message_from_bytes(bytes(sent), policy=policy.default)
    assert len(str(reply["Subject"])) <= 998 and reply["In-Reply-To"] == "<huge@yiwu-tech.com.cn>"
