"""The built-in SMTP server, spoken to over loopback by the standard library's client as a sending server would.

Each test runs the real component (aiosmtpd on a socket, ``keep`` in its threads) in an event loop of its own
thread, and checks what an operator would look at afterwards: the blob store and the ``messages`` table.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import smtplib
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tests.mailbox.eml_builders import foxmail_mail, wps_mail
from zhengji.clock import SHANGHAI
from zhengji.mailbox.smtp_server import SMTPComponent
from zhengji.settings import HostPort, Settings
from zhengji.storage.blobs import BlobStore, LocalBlobStore, blob_store
from zhengji.storage.db import make_engine
from zhengji.storage.migrate import upgrade
from zhengji.storage.models import Message, MessageSource, MessageState

MAILBOX = "yanfa312@126.com"
SECOND = "jianding@example.gov.cn"
NOW = datetime(2025, 6, 21, 10, 0, tzinfo=SHANGHAI)
SENDER = ("张伟", "zhangwei@foxmail.com")


class Running:
    """A component running in its own thread and loop, stopped (and its failure re-raised) on exit."""

    def __init__(self, component: SMTPComponent) -> None:
        self.component = component
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stop: asyncio.Event | None = None
        self.thread = threading.Thread(target=self._thread, daemon=True)

    def _thread(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as error:
            self.error = error
        finally:
            self.ready.set()

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.stop = asyncio.Event()
        task = asyncio.create_task(self.component.run(self.stop))
        started = asyncio.create_task(self.component.started.wait())
        await asyncio.wait({task, started}, return_when=asyncio.FIRST_COMPLETED)
        started.cancel()
        if not task.done():
            self.ready.set()
        await task  # a failure to start is raised here, and __enter__ sees it

    @property
    def port(self) -> int:
        assert self.component.address is not None
        return self.component.address[1]

    def client(self) -> smtplib.SMTP:
        return smtplib.SMTP("127.0.0.1", self.port, timeout=30)

    def halt(self) -> None:
        if self.loop is not None and self.stop is not None and self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(timeout=20)
        assert not self.thread.is_alive(), "the SMTP component did not stop"
        if self.error is not None:
            raise self.error

    def __enter__(self) -> Running:
        self.thread.start()
        self.ready.wait(timeout=20)
        if self.error is not None:
            raise self.error
        assert self.component.address is not None, "the SMTP component did not start"
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.halt()


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "mailboxes": [MAILBOX, SECOND],
        "smtp_listen": HostPort("127.0.0.1", 0),
        "now": NOW,
    }
    return Settings(**(values | overrides))


@pytest.fixture
def blobs(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


@pytest.fixture
def server(engine: Engine, blobs: BlobStore, tmp_path: Path) -> Iterator[Running]:
    with Running(SMTPComponent(make_settings(tmp_path), engine=engine, blobs=blobs)) as running:
        yield running


def stored(engine: Engine) -> list[Message]:
    with Session(engine) as session:
        return list(session.exec(select(Message).order_by(Message.id)).all())  # type: ignore[arg-type]


def proposal_mail(subject: str = "新职业申报：智能网联汽车测试员", message_id: str | None = None) -> bytes:
    attachment = ("附件1 新职业建议书.docx", bytes(range(256)) * 40)
    body = "老师您好：\n附件为新职业建议书，请查收。"
    return foxmail_mail(subject, SENDER, [MAILBOX], body, [attachment], message_id=message_id)


def test_accepted_mail_is_kept_byte_for_byte_with_its_envelope(
    server: Running, engine: Engine, blobs: BlobStore
) -> None:
    # Lines that start with a dot, even a lone one, in the MIME epilogue: SMTP must stuff and un-stuff them exactly.
    raw = proposal_mail() + b".\r\n..two dots\r\n"
    with server.client() as client:
        refused = client.sendmail(SENDER[1], ["YanFa312@126.COM"], raw)
    assert refused == {}
    [row] = stored(engine)
    assert blobs.get(row.sha256) == raw
    assert row.source == MessageSource.smtp
    assert row.state == MessageState.received
    assert row.mailbox == MAILBOX
    assert row.envelope_from == SENDER[1]
    assert row.envelope_to == ["YanFa312@126.COM"]
    assert row.received_at == NOW
    assert row.size == len(raw)


def test_a_stranger_address_is_refused_at_rcpt_and_nothing_is_kept(server: Running, engine: Engine) -> None:
    with server.client() as client, pytest.raises(smtplib.SMTPRecipientsRefused) as refusal:
        client.sendmail(SENDER[1], ["someone@gmail.com"], proposal_mail())
    code, reply = refusal.value.recipients["someone@gmail.com"]
    assert code == 550
    text = reply.decode("utf-8")
    assert text.startswith("5.1.1 <someone@gmail.com>")
    assert "本邮箱不受理该地址" in text
    assert stored(engine) == []


def test_a_mixed_recipient_list_keeps_only_the_accepted_addresses(server: Running, engine: Engine) -> None:
    with server.client() as client:
        refused = client.sendmail(SENDER[1], [MAILBOX, "relay@qq.com", SECOND], proposal_mail())
    assert list(refused) == ["relay@qq.com"]
    assert refused["relay@qq.com"][0] == 550
    [row] = stored(engine)
    assert row.envelope_to == [MAILBOX, SECOND]
    assert row.mailbox == MAILBOX


def test_a_bounce_with_the_null_sender_is_kept(server: Running, engine: Engine) -> None:
    with server.client() as client:
        client.sendmail("", [MAILBOX], b"From: MAILER-DAEMON@126.com\r\nSubject: Undelivered\r\n\r\nbounce\r\n")
    [row] = stored(engine)
    assert row.envelope_from == ""


def test_an_overlong_sender_address_is_refused_at_mail(server: Running, engine: Engine) -> None:
    with server.client() as client, pytest.raises(smtplib.SMTPSenderRefused) as refusal:
        client.sendmail("a" * 300 + "@" + "b" * 60 + ".com", [MAILBOX], proposal_mail())
    assert refusal.value.smtp_code == 553
    assert stored(engine) == []


def test_chinese_8bit_content_is_kept_unchanged(server: Running, engine: Engine, blobs: BlobStore) -> None:
    utf8 = wps_mail(
        "新职业申报（第二批）", ("李娜", "lina@wps.cn"), [MAILBOX], "请查收附件。", [("建议书.docx", b"PK")]
    )
    gbk = wps_mail("鉴定申请", ("王芳", "wangfang@163.com"), [MAILBOX], "申请表见附件。", charset="gbk")
    with server.client() as client:
        client.sendmail("李娜@例子.中国", [MAILBOX], utf8, mail_options=["SMTPUTF8", "BODY=8BITMIME"])
        client.sendmail("wangfang@163.com", [MAILBOX], gbk, mail_options=["BODY=8BITMIME"])
    first, second = stored(engine)
    assert blobs.get(first.sha256) == utf8
    assert "新职业申报（第二批）".encode() in blobs.get(first.sha256)
    assert first.envelope_from == "李娜@例子.中国"
    assert blobs.get(second.sha256) == gbk


def test_an_oversize_mail_is_refused_with_the_limit_in_words(engine: Engine, blobs: BlobStore, tmp_path: Path) -> None:
    component = SMTPComponent(make_settings(tmp_path), engine=engine, blobs=blobs, max_size=64 * 1024)
    big = proposal_mail(subject="超大附件") + (b"X" * 76 + b"\r\n") * 1000
    small = proposal_mail(subject="压缩后重发")
    with Running(component) as server, server.client() as client:
        # A client that declares SIZE is refused at MAIL FROM, before sending anything.
        with pytest.raises(smtplib.SMTPSenderRefused) as early:
            client.sendmail(SENDER[1], [MAILBOX], big)
        assert early.value.smtp_code == 552
        client.rset()
        # One that does not is refused at the end of DATA, and the session goes on.
        client.ehlo()
        assert client.mail(SENDER[1])[0] == 250
        assert client.rcpt(MAILBOX)[0] == 250
        code, reply = client.data(big)
        assert code == 552
        assert reply.decode("utf-8") == "5.3.4 Message too large; 邮件超过 64 KB，请压缩附件或分封发送"
        # A line longer than SMTP allows is refused with a reason too.
        assert client.mail(SENDER[1])[0] == 250
        assert client.rcpt(MAILBOX)[0] == 250
        code, reply = client.data(small + b"Y" * 2000 + b"\r\n")
        assert (code, reply.decode("utf-8")[:6]) == (500, "5.5.2 ")
        assert client.sendmail(SENDER[1], [MAILBOX], small) == {}
    [row] = stored(engine)
    assert blobs.get(row.sha256) == small


def test_the_workers_are_woken_for_each_stored_mail_and_only_then(
    engine: Engine, blobs: BlobStore, tmp_path: Path
) -> None:
    rings: list[int] = []
    component = SMTPComponent(make_settings(tmp_path), engine=engine, blobs=blobs, on_stored=lambda: rings.append(1))
    with Running(component) as server, server.client() as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            client.sendmail(SENDER[1], ["someone@gmail.com"], proposal_mail())
        assert rings == []  # nothing stored, nobody woken
        client.sendmail(SENDER[1], [MAILBOX], proposal_mail(message_id="<one@foxmail.com>"))
        client.sendmail(SENDER[1], [MAILBOX], proposal_mail(message_id="<two@foxmail.com>"))
    assert len(rings) == len(stored(engine)) == 2


class FullDisk(LocalBlobStore):
    def put(self, data: bytes) -> str:
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_answers_451_and_keeps_nothing(
    engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    component = SMTPComponent(make_settings(tmp_path), engine=engine, blobs=FullDisk(tmp_path / "blobs"))
    with (
        caplog.at_level(logging.ERROR, logger="zhengji.smtp"),
        Running(component) as server,
        server.client() as client,
        pytest.raises(smtplib.SMTPDataError) as failure,
    ):
        client.sendmail(SENDER[1], [MAILBOX], proposal_mail())
    assert failure.value.smtp_code == 451
    reply = failure.value.smtp_error
    assert isinstance(reply, bytes)
    assert reply.decode("utf-8").startswith("4.3.0 ")
    assert stored(engine) == []
    assert "No space left on device" in caplog.text


def test_a_database_that_cannot_take_the_row_answers_451(tmp_path: Path) -> None:
    unmigrated = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")  # no tables: every insert fails
    try:
        component = SMTPComponent(make_settings(tmp_path), engine=unmigrated, blobs=LocalBlobStore(tmp_path / "blobs"))
        with Running(component) as server, server.client() as client:
            with pytest.raises(smtplib.SMTPDataError) as failure:
                client.sendmail(SENDER[1], [MAILBOX], proposal_mail())
            assert failure.value.smtp_code == 451
            assert client.noop()[0] == 250  # the connection and the server survive the failure
    finally:
        unmigrated.dispose()


def test_concurrent_senders_are_all_kept_exactly_once(server: Running, engine: Engine, blobs: BlobStore) -> None:
    def sender(worker: int) -> list[bytes]:
        mails = [proposal_mail(subject=f"申报 {worker}-{n}", message_id=f"<{worker}.{n}@qq.com>") for n in range(5)]
        with server.client() as client:
            for mail in mails:
                assert client.sendmail(SENDER[1], [MAILBOX], mail) == {}
        return mails

    with ThreadPoolExecutor(max_workers=20) as pool:
        sent = [mail for mails in pool.map(sender, range(20)) for mail in mails]
    rows = stored(engine)
    assert len(rows) == 100
    assert sorted(row.message_id or "" for row in rows) == sorted(
        f"<{w}.{n}@qq.com>" for w in range(20) for n in range(5)
    )
    assert sorted(blobs.get(row.sha256) for row in rows) == sorted(sent)


def test_the_component_builds_its_store_from_the_settings_and_stops_with_421(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    setup = make_engine(settings.resolved_database_url)
    upgrade(setup)
    raw = proposal_mail()
    server = Running(SMTPComponent(settings))
    with server:
        with server.client() as client:
            client.sendmail(SENDER[1], [MAILBOX], raw)
        idle = server.client()
        try:
            assert idle.ehlo()[0] == 250
            server.halt()
            code, reply = idle.getreply()
        finally:
            idle.close()
    assert code == 421
    assert "4.3.2" in reply.decode("utf-8")
    try:
        [row] = stored(setup)
    finally:
        setup.dispose()
    assert blob_store(settings).get(row.sha256) == raw


def test_a_busy_port_fails_with_a_clear_message(server: Running, engine: Engine, tmp_path: Path) -> None:
    taken = make_settings(tmp_path, smtp_listen=HostPort("127.0.0.1", server.port))
    with (
        pytest.raises(OSError, match=r"邮件接收服务未能在 127\.0\.0\.1:"),
        Running(SMTPComponent(taken, engine=engine)),
    ):
        pass


def send_data(client: smtplib.SMTP, sender: str, recipients: list[str], wire: bytes) -> tuple[int, bytes]:
    """One transaction whose DATA bytes go on the wire exactly as given (smtplib would turn every LF into CRLF)."""
    assert client.ehlo()[0] == 250
    assert client.mail(sender)[0] == 250
    for recipient in recipients:
        assert client.rcpt(recipient)[0] == 250
    client.putcmd("data")
    assert client.getreply()[0] == 354
    client.send(wire)
    return client.getreply()


def bare_lf_mail(lines: int = 40) -> bytes:
    """A mail written by a client that ends its lines with LF alone, as some scripts and old webmail do."""
    body = "".join(f"第{n}行：附件为新职业建议书，请查收。\n" for n in range(lines))
    return (
        f"From: 张伟 <{SENDER[1]}>\nTo: {MAILBOX}\nSubject: bare LF\nMessage-ID: <bare-lf@foxmail.com>\n"
        f"MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n{body}"
    ).encode()


def test_a_bare_lf_mail_over_1000_bytes_is_accepted_and_stored_with_crlf(
    server: Running, engine: Engine, blobs: BlobStore
) -> None:
    raw = bare_lf_mail()
    assert len(raw) > 2000 and b"\r" not in raw
    with server.client() as client:
        # Postfix ends the data only at <CR><LF>.<CR><LF>: the last line's own end is CRLF.
        code, reply = send_data(client, SENDER[1], [MAILBOX], raw[:-1] + b"\r\n.\r\n")
    assert code == 250, reply
    [row] = stored(engine)
    kept = blobs.get(row.sha256)
    assert kept == raw.replace(b"\n", b"\r\n")
    assert row.message_id == "<bare-lf@foxmail.com>"
    assert row.size == len(kept)


def test_lines_are_counted_between_lfs_for_the_line_limit(server: Running, engine: Engine) -> None:
    long_line = b"Subject: long\n\n" + b"Z" * 1500 + b"\nend\r\n.\r\n"
    with server.client() as client:
        code, reply = send_data(client, SENDER[1], [MAILBOX], long_line)
        assert (code, reply.decode("utf-8")[:6]) == (500, "5.5.2 ")
        assert "过长的行" in reply.decode("utf-8")
        # A line of 999 octets and its LF is within the limit once it gets its CR.
        code, _ = send_data(client, SENDER[1], [MAILBOX], b"Subject: ok\n\n" + b"Z" * 999 + b"\r\n.\r\n")
        assert code == 250
    assert len(stored(engine)) == 1


def test_a_bare_lf_dot_does_not_end_the_mail_so_nothing_is_smuggled(
    server: Running, engine: Engine, blobs: BlobStore
) -> None:
    # CVE-2023-51764: "<LF>.<CR><LF>" or "<CR><LF>.<LF>" must not end the data and start a second mail.
    wire = (
        b"Subject: first\r\n\r\nhello\n.\r\nMAIL FROM:<ceo@example.gov.cn>\r\nRCPT TO:<yanfa312@126.com>\r\n"
        b"DATA\r\n.\nSubject: smuggled\r\n\r\nforged\r\n.\r\n"
    )
    with server.client() as client:
        code, _ = send_data(client, SENDER[1], [MAILBOX], wire)
        assert code == 250
        assert client.noop()[0] == 250
    [row] = stored(engine)
    kept = blobs.get(row.sha256)
    assert kept.startswith(b"Subject: first\r\n") and b"Subject: smuggled" in kept
    assert row.envelope_from == SENDER[1]


def test_dots_are_unstuffed_on_lines_that_end_in_lf_too(server: Running, engine: Engine, blobs: BlobStore) -> None:
    wire = b"Subject: dots\n\n..one dot\n...two dots\r\n..\r\nlast\r\n.\r\n"
    with server.client() as client:
        assert send_data(client, SENDER[1], [MAILBOX], wire)[0] == 250
    [row] = stored(engine)
    assert blobs.get(row.sha256) == b"Subject: dots\r\n\r\n.one dot\r\n..two dots\r\n.\r\nlast\r\n"


def test_an_empty_mail_and_commands_pipelined_after_the_data_are_understood(server: Running, engine: Engine) -> None:
    with server.client() as client:
        assert send_data(client, SENDER[1], [MAILBOX], b".\r\n")[0] == 250
        # The end of the data and the next transaction in one write, as a PIPELINING client sends them.
        assert client.mail(SENDER[1])[0] == 250
        assert client.rcpt(MAILBOX)[0] == 250
        client.putcmd("data")
        assert client.getreply()[0] == 354
        client.send(b"Subject: two\r\n\r\nbody\r\n.\r\nNOOP\r\nRSET\r\n")
        assert client.getreply()[0] == 250
        assert client.getreply()[0] == 250  # NOOP
        assert client.getreply()[0] == 250  # RSET
    assert [row.size for row in stored(engine)] == [0, len(b"Subject: two\r\n\r\nbody\r\n")]


def test_more_recipients_than_the_limit_are_answered_452_and_the_mail_is_kept_once(
    engine: Engine, blobs: BlobStore, tmp_path: Path
) -> None:
    component = SMTPComponent(make_settings(tmp_path), engine=engine, blobs=blobs)
    assert component.handler.max_recipients == 100  # ZHENGJI_SMTP_MAX_RECIPIENTS' default
    with Running(component) as server, server.client() as client:
        assert client.ehlo()[0] == 250
        assert client.mail(SENDER[1])[0] == 250
        answers = [client.rcpt(MAILBOX if n % 2 else f"user{n}@gmail.com") for n in range(150)]
        assert {code for code, _ in answers[:100]} == {250, 550}
        assert all(code == 452 for code, _ in answers[100:])
        assert answers[100][1].decode("utf-8") == "4.5.3 Too many recipients; 收件人过多，请分批发送"
        assert client.data(proposal_mail())[0] == 250
        # The count is per transaction: the next mail may name its recipients again.
        assert client.sendmail(SENDER[1], [MAILBOX, SECOND], proposal_mail(message_id="<next@foxmail.com>")) == {}
    first, second = stored(engine)
    assert first.envelope_to == [MAILBOX]
    assert second.envelope_to == [MAILBOX, SECOND]


def test_the_recipient_limit_is_a_setting(engine: Engine, blobs: BlobStore, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, smtp_max_recipients=2)
    with Running(SMTPComponent(settings, engine=engine, blobs=blobs)) as server, server.client() as client:
        client.ehlo()
        client.mail(SENDER[1])
        assert [client.rcpt(address)[0] for address in (MAILBOX, SECOND, MAILBOX)] == [250, 250, 452]
