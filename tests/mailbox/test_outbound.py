"""Replies through a real outgoing SMTP server (aiosmtpd) that refuses some mail for good and puts some off.

What a clerk would check: a reply the provider refuses for good (no such user, content refused) is recorded as
refused and never sent again; a provider that is busy for a while delays a reply, it does not lose or double it;
after about a day of trying the mail waits for staff, who can send it again once the provider is back.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy.engine import Engine
from sqlmodel import Session as DBSession
from sqlmodel import select

from tests.mailbox.eml_builders import foxmail_mail
from tests.mailbox.pipeline_support import SH, arrive, drain, settle
from tests.servers.ports import free_port
from zhengji.mailbox.outbox import (
    MAX_THREAD,
    DeliveryRefused,
    deliver_raw_to_maildir,
    maildir_name,
    send_smtp_raw,
    thread_references,
)
from zhengji.mailbox.pipeline import MAX_SEND_ATTEMPTS, Pipeline
from zhengji.mailbox.retry import retry_failed
from zhengji.settings import Settings, load_settings
from zhengji.storage.blobs import blob_store
from zhengji.storage.models import AuditEvent, Message, MessageState, Reply, ReplyState

RECEIVED = b"Received: by mx.126.com; Sat, 21 Jun 2025 10:00:00 +0800\r\n"


@dataclass
class Provider:
    """The outgoing account's server: ``gone@`` has no mailbox, ``spam@`` mail is refused as spam (NetEase's
    554 DT:SPM), ``busy@`` is put off with 451 while ``busy`` holds; everything else is taken."""

    busy: bool = True
    taken: list[EmailMessage] = field(default_factory=list)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address.startswith("gone@"):
            return "550 5.1.1 <gone@example.com>: User unknown"
        if address.startswith("busy@") and self.busy:
            return "451 4.3.0 Mailbox temporarily unavailable, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if any(address.startswith("spam@") for address in envelope.rcpt_tos):
            return "554 DT:SPM 发送的邮件内容包含了未被许可的信息，或被系统识别为垃圾邮件"
        assert envelope.original_content is not None
        self.taken.append(message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 OK: queued"


@pytest.fixture
def provider() -> Iterator[tuple[Provider, int]]:
    handler = Provider()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, server_hostname="smtp.126.test")
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture
def settings(engine: Engine, tmp_path: Path, provider: tuple[Provider, int]) -> Settings:
    return load_settings(
        data_dir=tmp_path / "var",
        database_url=engine.url.render_as_string(hide_password=False),
        outbound_smtp_url=f"smtp://127.0.0.1:{provider[1]}",
    )


def question_from(engine: Engine, settings: Settings, user: str) -> int:
    raw = foxmail_mail("咨询申报时间", ("某单位", f"{user}@example.com"), [SH], "请问下一期何时受理？",
                       message_id=f"<{user}.1@example.com>")  # fmt: skip
    return arrive(engine, settings, RECEIVED + raw)


def state_of(engine: Engine, message_id: int) -> tuple[MessageState, list[ReplyState]]:
    with DBSession(engine) as session:
        message = session.get(Message, message_id)
        assert message is not None
        replies = session.exec(select(Reply).where(Reply.message_id == message_id)).all()
        return message.state, [reply.state for reply in replies]


def test_a_reply_refused_for_good_is_recorded_and_never_sent_again(
    engine: Engine, settings: Settings, provider: tuple[Provider, int]
) -> None:
    handler, _ = provider
    gone, spam, fine = (question_from(engine, settings, user) for user in ("gone", "spam", "fine"))
    settle(engine, settings)
    assert state_of(engine, gone) == (MessageState.replied, [ReplyState.refused])
    assert state_of(engine, spam) == (MessageState.replied, [ReplyState.refused])
    assert state_of(engine, fine) == (MessageState.replied, [ReplyState.sent])
    assert [str(taken["To"]) for taken in handler.taken] == ["fine@example.com"]
    with DBSession(engine) as session:
        refused = {
            event.message_id: event.detail["error"]
            for event in session.exec(select(AuditEvent).where(AuditEvent.action == "reply_refused")).all()
        }
        assert refused[gone].startswith("550") and "User unknown" in refused[gone]
        assert refused[spam].startswith("554") and "DT:SPM" in refused[spam]
        assert all(reply.attempts == 1 for reply in session.exec(select(Reply)).all())


def test_a_busy_provider_delays_the_reply_without_losing_or_doubling_it(
    engine: Engine, settings: Settings, provider: tuple[Provider, int]
) -> None:
    handler, _ = provider
    message_id = question_from(engine, settings, "busy")
    pipeline = Pipeline(engine, settings)
    drain(pipeline)
    assert state_of(engine, message_id) == (MessageState.checked, [ReplyState.pending])
    with DBSession(engine) as session:
        message = session.get(Message, message_id)
        assert message is not None and message.attempts == 1 and "451" in (message.last_error or "")
        assert message.next_attempt_at is not None and message.next_attempt_at > pipeline.now()
    assert drain(pipeline) == 0  # not due yet: no hammering of a busy provider
    handler.busy = False
    settle(engine, settings)
    assert state_of(engine, message_id) == (MessageState.replied, [ReplyState.sent])
    assert [str(taken["To"]) for taken in handler.taken] == ["busy@example.com"]


def test_sending_gives_up_after_about_a_day_and_staff_can_send_again(
    engine: Engine, settings: Settings, provider: tuple[Provider, int]
) -> None:
    handler, _ = provider
    message_id = question_from(engine, settings, "busy")
    waited = settle(engine, settings)
    assert timedelta(hours=18) < waited < timedelta(hours=30)
    assert state_of(engine, message_id) == (MessageState.failed, [ReplyState.failed])
    with DBSession(engine) as session:
        message = session.get(Message, message_id)
        assert message is not None and message.attempts == MAX_SEND_ATTEMPTS
        [event] = session.exec(select(AuditEvent).where(AuditEvent.action == "failed")).all()
        assert event.detail["step"] == "reply" and "451" in event.detail["error"]
    assert handler.taken == []

    handler.busy = False
    [retried] = retry_failed(engine, blob_store(settings), Pipeline(engine, settings).now())
    assert (retried.message_id, retried.step) == (message_id, MessageState.checked)
    settle(engine, settings)
    assert state_of(engine, message_id) == (MessageState.replied, [ReplyState.sent])
    assert len(handler.taken) == 1


def test_a_long_thread_keeps_its_first_and_latest_mails() -> None:
    ids = [f"<{number}@example.com>" for number in range(30)]
    kept = str(thread_references(ids[:-1], ids[-1])).split()
    assert len(kept) == MAX_THREAD and kept[0] == ids[0] and kept[1:] == ids[-(MAX_THREAD - 1) :]
    assert thread_references([], "<only@example.com>") == "<only@example.com>"
    assert thread_references(["<a@x>", "<a@x>"], "") == "<a@x>"
    assert thread_references([], None) is None


def test_a_mail_already_in_bytes_is_handed_over_as_it_was_queued(
    provider: tuple[Provider, int], settings: Settings, tmp_path: Path
) -> None:
    """The code mail sender's bytes path: the Maildir file is named by the Message-ID (a retry writes nothing
    new) and holds LF lines; the SMTP account gets the same bytes with CRLF, and a 5xx is final."""
    raw = (
        b"From: =?utf-8?b?5LiK5rW3?= <yanfa312@126.com>\r\nTo: a@example.com\r\nMessage-ID: <x1@zhengji.local>\r\n"
        b'Subject: =?utf-8?b?6aqM6K+B56CB?=\r\nContent-Type: text/plain; charset="utf-8"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n5oKo5aW9\r\n.\r\n"
    )
    outbox = tmp_path / "outbox"
    first = deliver_raw_to_maildir(outbox, raw, "<x1@zhengji.local>")
    again = deliver_raw_to_maildir(outbox, raw, "<x1@zhengji.local>")
    assert first == again == outbox / "new" / maildir_name("<x1@zhengji.local>")
    assert [path.name for path in (outbox / "new").iterdir()] == [first.name] and not list((outbox / "tmp").iterdir())
    assert first.read_bytes() == raw.replace(b"\r\n", b"\n")
    handler, _ = provider
    assert settings.outbound_smtp_url is not None
    send_smtp_raw(settings.outbound_smtp_url, raw.replace(b"\r\n", b"\n"), "yanfa312@126.com", ["a@example.com"])
    [taken] = handler.taken
    assert taken["Message-ID"] == "<x1@zhengji.local>" and str(taken["Subject"]) == "验证码"
    body = taken.get_body()
    assert body is not None and body.get_content() == "您好"
    with pytest.raises(DeliveryRefused):
        send_smtp_raw(settings.outbound_smtp_url, raw, "yanfa312@126.com", ["gone@example.com"])
