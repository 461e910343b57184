"""The IMAP watcher against a real Dovecot: every mail kept once, in UID order, across restarts and reconnects."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from imap_tools import BaseMailBox
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tests.conftest import need_server
from tests.servers.dovecot import DovecotUnavailable, ThrowawayDovecot, running_dovecot
from zhengji.mailbox.imap_watcher import (
    FetchedMail,
    IMAPAccount,
    IMAPComponent,
    IMAPWatcher,
    _Envelope,
    _fetch_records,
    parse_internaldate,
)
from zhengji.settings import Settings
from zhengji.storage.blobs import BlobStore
from zhengji.storage.models import Message, MessageSource


@pytest.fixture
def dovecot() -> Iterator[ThrowawayDovecot]:
    try:
        with running_dovecot() as server:
            yield server
    except DovecotUnavailable as error:
        need_server(f"Dovecot: {error}")


class RecordingWatcher(IMAPWatcher):
    """The real watcher, noting the commands it sends and the UIDs whose bodies it downloads."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands: list[str] = []
        self.downloaded: list[int] = []
        self.looked_at: list[int] = []

    def _mailbox_client(self) -> BaseMailBox:
        mailbox = super()._mailbox_client()
        send = mailbox.client._command

        def recording(name: str, *args: Any) -> Any:
            self.commands.append(name.upper())
            return send(name, *args)

        mailbox.client._command = recording  # type: ignore[attr-defined]
        return mailbox

    def _envelopes(self, mailbox: BaseMailBox, uids: list[int]) -> list[_Envelope]:
        envelopes = super()._envelopes(mailbox, uids)
        self.looked_at.extend(envelope.uid for envelope in envelopes)
        return envelopes

    def _fetch_bodies(self, mailbox: BaseMailBox, envelopes: list[_Envelope]) -> list[FetchedMail]:
        mails = super()._fetch_bodies(mailbox, envelopes)
        self.downloaded.extend(mail.uid for mail in mails)
        return mails


def mail(number: int, *, message_id: bool = True, extra: str = "") -> bytes:
    """A small applicant's mail; CRLF line ends and 8-bit UTF-8 text, as a real client sends them."""
    header = f"Message-ID: <apply-{number}@foxmail.com>\r\n" if message_id else ""
    return (
        f"{header}From: 申请人{number} <a{number}@foxmail.com>\r\nTo: yanfa312@126.com\r\n"
        f"Subject: 新职业申报 第{number}份\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Transfer-Encoding: 8bit\r\n{extra}\r\n您好，附件为申报材料，请查收。\r\n"
    ).encode()


def watcher_for(server: ThrowawayDovecot, engine: Engine, tmp_path: Path, folder: str = "INBOX") -> RecordingWatcher:
    account = IMAPAccount(server.host, server.port, server.username, server.password, folder, tls=False)
    return RecordingWatcher(account, engine, BlobStore(tmp_path / "blobs"), backoff=0.2, max_backoff=1.0, tick=0.5)


def kept(engine: Engine) -> list[Message]:
    with Session(engine) as session:
        return list(session.exec(select(Message).order_by(Message.id)).all())  # type: ignore[arg-type]


def wait_until(condition: Callable[[], bool], what: str, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds:g} s: {what}")
        time.sleep(0.05)


class Running:
    """The watcher's blocking loop in a thread, as IMAPComponent runs it."""

    def __init__(self, watcher: RecordingWatcher) -> None:
        self.watcher = watcher
        self.stop = threading.Event()
        self.thread = threading.Thread(target=watcher.run, args=(self.stop,), daemon=True)

    def __enter__(self) -> Running:
        self.thread.start()
        wait_until(self.watcher.connected.is_set, "the watcher is connected and caught up")
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(timeout=15)
        assert not self.thread.is_alive(), "the watcher did not stop"


def test_mails_already_in_the_folder_are_kept_in_uid_order_with_internaldate(
    dovecot: ThrowawayDovecot, engine: Engine, tmp_path: Path
) -> None:
    arrived = [datetime(2025, 6, 20, 9, 0, 0, tzinfo=UTC), datetime(2025, 6, 21, 18, 30, 5, tzinfo=UTC)]
    raws = [mail(1), mail(2), mail(3, message_id=False)]
    uids = [dovecot.append(raw, when=when) for raw, when in zip(raws, [*arrived, arrived[0]], strict=True)]
    watcher = watcher_for(dovecot, engine, tmp_path)
    assert watcher.sync() == uids[-1]
    rows = kept(engine)
    assert [row.imap_uid for row in rows] == uids == sorted(uids)
    assert [row.received_at for row in rows] == [*arrived, arrived[0]]
    blobs = BlobStore(tmp_path / "blobs")
    assert [blobs.get(row.sha256) for row in rows] == raws  # byte for byte what the server holds
    assert {(row.source, row.mailbox, row.imap_uidvalidity) for row in rows} == {
        (MessageSource.imap, "zhengji/INBOX", dovecot.uidvalidity())
    }
    assert [row.message_id for row in rows] == ["<apply-1@foxmail.com>", "<apply-2@foxmail.com>", None]


def test_id_is_sent_after_login_and_before_select(dovecot: ThrowawayDovecot, engine: Engine, tmp_path: Path) -> None:
    watcher = watcher_for(dovecot, engine, tmp_path)
    watcher.sync()
    assert watcher.commands[:3] == ["LOGIN", "ID", "SELECT"]
    assert "ID sent: name=zhengji" in dovecot.log()  # the server got it, as NetEase needs it


def test_a_mail_arriving_while_idling_is_kept(dovecot: ThrowawayDovecot, engine: Engine, tmp_path: Path) -> None:
    dovecot.append(mail(1))
    with Running(watcher_for(dovecot, engine, tmp_path)) as running:
        assert len(kept(engine)) == 1
        dovecot.append(mail(2))
        wait_until(lambda: len(kept(engine)) == 2, "the new mail is kept")
        assert "IDLE" in running.watcher.commands
    assert [row.message_id for row in kept(engine)] == ["<apply-1@foxmail.com>", "<apply-2@foxmail.com>"]


def test_without_idle_the_watcher_polls(dovecot: ThrowawayDovecot, engine: Engine, tmp_path: Path) -> None:
    watcher = watcher_for(dovecot, engine, tmp_path)
    watcher.use_idle, watcher.poll_interval = False, 0.3
    with Running(watcher):
        dovecot.append(mail(1))
        wait_until(lambda: len(kept(engine)) == 1, "the polled mail is kept")
    assert "IDLE" not in watcher.commands


def test_a_restart_neither_misses_nor_repeats(dovecot: ThrowawayDovecot, engine: Engine, tmp_path: Path) -> None:
    first = watcher_for(dovecot, engine, tmp_path)
    with Running(first):
        dovecot.append(mail(1))
        dovecot.append(mail(2))
        wait_until(lambda: len(kept(engine)) == 2, "two mails kept")
    dovecot.append(mail(3))  # while no watcher runs
    dovecot.append(mail(4))
    second = watcher_for(dovecot, engine, tmp_path)
    with Running(second):
        wait_until(lambda: len(kept(engine)) == 4, "the mails that came meanwhile are kept")
        dovecot.append(mail(5))
        wait_until(lambda: len(kept(engine)) == 5, "a mail after the restart is kept")
    assert first.looked_at == first.downloaded == [1, 2]
    assert second.looked_at == second.downloaded == [3, 4, 5]  # it went on from where it stood
    assert [row.imap_uid for row in kept(engine)] == [1, 2, 3, 4, 5]


def test_a_new_uidvalidity_does_not_duplicate_kept_mail(
    dovecot: ThrowawayDovecot, engine: Engine, tmp_path: Path
) -> None:
    folder = "Applications"
    dovecot.append(mail(1), folder)
    dovecot.append(mail(2, message_id=False), folder)
    watcher = watcher_for(dovecot, engine, tmp_path, folder)
    watcher.sync()
    old = dovecot.uidvalidity(folder)
    dovecot.recreate(folder)  # e.g. the mailbox was rebuilt: every UID means something else now
    assert dovecot.uidvalidity(folder) != old
    # The same mails come back (one re-delivered with a new trace header, one byte for byte), plus a new one.
    dovecot.append(mail(1, extra="Received: from relay.example.com; Sat, 21 Jun 2025 10:00:00 +0800\r\n"), folder)
    dovecot.append(mail(2, message_id=False), folder)
    dovecot.append(mail(3), folder)
    watcher.downloaded.clear()
    watcher.sync()
    rows = kept(engine)
    assert [(row.message_id, row.imap_uidvalidity) for row in rows] == [
        ("<apply-1@foxmail.com>", old),
        (None, old),
        ("<apply-3@foxmail.com>", dovecot.uidvalidity(folder)),
    ]
    assert watcher.downloaded == [2, 3]  # the known Message-ID was not even downloaded
    assert {row.mailbox for row in rows} == {"zhengji/Applications"}


def test_a_folder_recreated_while_watching_is_followed_without_duplicates(
    dovecot: ThrowawayDovecot, engine: Engine, tmp_path: Path
) -> None:
    folder = "Applications"
    dovecot.append(mail(1), folder)
    with Running(watcher_for(dovecot, engine, tmp_path, folder)):
        wait_until(lambda: len(kept(engine)) == 1, "the first mail is kept")
        old = dovecot.uidvalidity(folder)
        dovecot.recreate(folder)
        dovecot.append(mail(1), folder)
        dovecot.append(mail(2), folder)
        wait_until(lambda: len(kept(engine)) == 2, "the new mail in the new folder is kept")
        new = dovecot.uidvalidity(folder)
    assert [(row.message_id, row.imap_uidvalidity, row.imap_uid) for row in kept(engine)] == [
        ("<apply-1@foxmail.com>", old, 1),
        ("<apply-2@foxmail.com>", new, 2),
    ]


def test_the_watcher_reconnects_when_the_server_restarts(
    dovecot: ThrowawayDovecot, engine: Engine, tmp_path: Path
) -> None:
    watcher = watcher_for(dovecot, engine, tmp_path)
    with Running(watcher):
        dovecot.append(mail(1))
        wait_until(lambda: len(kept(engine)) == 1, "the first mail is kept")
        dovecot.restart()  # every connection drops
        dovecot.append(mail(2))
        wait_until(lambda: len(kept(engine)) == 2, "the mail after the restart is kept")
    assert watcher.commands.count("LOGIN") >= 2
    assert [row.imap_uid for row in kept(engine)] == [1, 2]


def test_mark_processed_flags_the_mail_and_deletes_nothing(
    dovecot: ThrowawayDovecot, engine: Engine, tmp_path: Path
) -> None:
    dovecot.append(mail(1))
    dovecot.append(mail(2))
    watcher = watcher_for(dovecot, engine, tmp_path)
    watcher.sync()
    row = kept(engine)[0]
    assert row.imap_uid is not None and row.imap_uidvalidity is not None
    assert watcher.mark_processed(row.imap_uid, row.imap_uidvalidity)
    assert "$Zhengji" in dovecot.flags(row.imap_uid)
    assert "$Zhengji" not in dovecot.flags(2)
    assert "\\Seen" not in dovecot.flags(row.imap_uid)  # reading it did not mark it read either
    assert "EXPUNGE" not in watcher.commands
    assert dovecot.count() == 2
    # Under another UIDVALIDITY the UID would name some other mail: nothing is flagged.
    assert not watcher.mark_processed(2, row.imap_uidvalidity + 1)
    assert "$Zhengji" not in dovecot.flags(2)


def test_the_component_keeps_mail_and_stops_when_told(
    dovecot: ThrowawayDovecot, engine: Engine, tmp_path: Path
) -> None:
    settings = Settings(imap_url=dovecot.url, data_dir=tmp_path / "data")
    component = IMAPComponent(settings, engine=engine, backoff=0.2, tick=0.5)
    assert component.name == "imap"

    async def serve() -> None:
        stop = asyncio.Event()
        running = asyncio.create_task(component.run(stop))
        while not component.watcher.connected.is_set():
            assert not running.done(), "the component ended on its own"
            await asyncio.sleep(0.05)
        dovecot.append(mail(1))
        while not kept(engine):
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(running, timeout=10)

    asyncio.run(serve())
    row = kept(engine)[0]
    assert row.mailbox == "zhengji/INBOX"
    assert BlobStore(settings.blob_dir).get(row.sha256) == mail(1)


def test_internaldate_is_read_whatever_the_locale() -> None:
    assert parse_internaldate(b'1 (UID 3 INTERNALDATE " 2-Jan-2025 08:05:09 +0800" BODY[] {5}') == datetime(
        2025, 1, 2, 0, 5, 9, tzinfo=UTC
    )
    assert parse_internaldate(b"1 (UID 3 BODY[] {5}") is None


def test_fetch_answers_are_grouped_per_mail_whatever_the_item_order() -> None:
    data: list[object] = [
        (b'1 (UID 7 INTERNALDATE "21-Jun-2025 10:00:00 +0000" BODY[] {3}', b"abc"),
        b")",
        b"2 (FLAGS (\\Seen))",  # an unsolicited flag change from another client
        (b"3 (BODY[] {3}", b"xyz"),
        b' UID 9 INTERNALDATE "21-Jun-2025 11:00:00 +0000")',
    ]
    records = list(_fetch_records(data))
    assert [(literal, parse_internaldate(meta)) for meta, literal in records] == [
        (b"abc", datetime(2025, 6, 21, 10, tzinfo=UTC)),
        (None, None),
        (b"xyz", datetime(2025, 6, 21, 11, tzinfo=UTC)),
    ]
    assert b"UID 9" in records[2][0]


def test_only_mails_the_pipeline_finished_are_flagged(
    dovecot: ThrowawayDovecot, engine: Engine, tmp_path: Path
) -> None:
    from zhengji.mailbox.pipeline import Pipeline
    from zhengji.settings import load_settings

    for number in (1, 2, 3):
        dovecot.append(mail(number, extra="Date: Sat, 21 Jun 2025 10:00:00 +0800\r\n"))
    watcher = watcher_for(dovecot, engine, tmp_path)
    watcher.sync()
    settings = load_settings(data_dir=tmp_path, database_url=engine.url.render_as_string(hide_password=False))
    pipeline = Pipeline(engine, settings)
    # Finish two of the three mails (check, then reply); the third is still waiting.
    for _ in range(4):
        assert pipeline.run_once()
    with watcher.connection() as (client, uidvalidity):
        assert watcher.flag_finished(client, uidvalidity) == 2
        assert watcher.flag_finished(client, uidvalidity) == 0
    flagged = [uid for uid in (1, 2, 3) if "$Zhengji" in dovecot.flags(uid)]
    assert len(flagged) == 2
    assert dovecot.count() == 3
    while pipeline.run_once():
        pass
    with watcher.connection() as (client, uidvalidity):
        assert watcher.flag_finished(client, uidvalidity) == 1
    assert all("$Zhengji" in dovecot.flags(uid) for uid in (1, 2, 3))
