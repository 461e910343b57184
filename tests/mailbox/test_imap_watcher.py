"""The IMAP watcher against a real Dovecot: every mail kept once, in UID order, across restarts and reconnects."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import imaplib
import logging
import re
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
    uid_set,
)
from zhengji.settings import Settings, load_settings
from zhengji.storage.blobs import LocalBlobStore, blob_store
from zhengji.storage.models import Message, MessageSource, MessageState


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
            # UID commands are noted with what they do: "UID MOVE", "UID EXPUNGE".
            self.commands.append(f"UID {args[0]}".upper() if name.upper() == "UID" and args else name.upper())
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


def watcher_for(
    server: ThrowawayDovecot, engine: Engine, tmp_path: Path, folder: str = "INBOX", **options: Any
) -> RecordingWatcher:
    account = IMAPAccount(server.host, server.port, server.username, server.password, folder, tls=False)
    return RecordingWatcher(
        account, engine, LocalBlobStore(tmp_path / "blobs"), backoff=0.2, max_backoff=1.0, tick=0.5, **options
    )


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
    blobs = LocalBlobStore(tmp_path / "blobs")
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


def test_a_mail_arriving_while_idling_is_kept(
    dovecot: ThrowawayDovecot, engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dovecot.append(mail(1))
    rings: list[int] = []  # the workers' doorbell in `serve`
    with (
        caplog.at_level(logging.INFO, logger="zhengji.imap"),
        Running(watcher_for(dovecot, engine, tmp_path, on_stored=lambda: rings.append(1))) as running,
    ):
        assert len(kept(engine)) == len(rings) == 1
        dovecot.append(mail(2))
        wait_until(lambda: len(kept(engine)) == 2, "the new mail is kept")
        assert "IDLE" in running.watcher.commands
        dovecot.append(mail(1))  # the same mail again: de-duplicated, so nobody is woken for it
        wait_until(lambda: "already stored; skipped" in caplog.text, "the copy is seen and skipped")
    assert [row.message_id for row in kept(engine)] == ["<apply-1@foxmail.com>", "<apply-2@foxmail.com>"]
    assert len(rings) == 2


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
    assert blob_store(settings).get(row.sha256) == mail(1)


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
    for number in (1, 2, 3):
        dovecot.append(dated(number))
    watcher = watcher_for(dovecot, engine, tmp_path)
    watcher.sync()
    pipeline = pipeline_for(engine, tmp_path)
    finish(pipeline, engine, 2)  # the third is still on its way
    with watcher.connection() as (client, uidvalidity):
        assert watcher.settle_finished(client, uidvalidity) == 2
        assert watcher.settle_finished(client, uidvalidity) == 0
    flagged = [uid for uid in (1, 2, 3) if "$Zhengji" in dovecot.flags(uid)]
    assert len(flagged) == 2
    assert dovecot.count() == 3
    while pipeline.run_once():
        pass
    with watcher.connection() as (client, uidvalidity):
        assert watcher.settle_finished(client, uidvalidity) == 1
    assert all("$Zhengji" in dovecot.flags(uid) for uid in (1, 2, 3))
    assert folders(dovecot) == ["INBOX"]  # flag-only is the default: nothing moved


# -- settling processed mail: a configurable flag, and optionally a move to a done folder ----------------------

DONE = "已处理"


def mutf7(name: str) -> str:
    """A mailbox name in IMAP's modified UTF-7 (RFC 3501 5.1.3), worked out here independently of imap-tools."""
    out, run = [], ""
    for char in [*name, ""]:
        if char and not 0x20 <= ord(char) <= 0x7E:
            run += char
            continue
        if run:
            encoded = base64.b64encode(run.encode("utf-16-be")).decode().rstrip("=").replace("/", ",")
            out.append(f"&{encoded}-")
            run = ""
        out.append("&-" if char == "&" else char)
    return "".join(out)


def folders(server: ThrowawayDovecot, *, subscribed: bool = False) -> list[str]:
    """The folder names as the server lists them (still encoded)."""
    client = server.client()
    try:
        typ, data = client.lsub() if subscribed else client.list()
        assert typ == "OK"
        return [line.decode().rsplit(" ", 1)[1].strip('"') for line in data if isinstance(line, bytes)]
    finally:
        client.logout()


def contents(server: ThrowawayDovecot, folder: str = "INBOX") -> dict[int, set[str]]:
    """The applicants' mails in ``folder`` as another client sees them: their number and their flags."""
    client = server.client()
    try:
        typ, data = client.select(mutf7(folder), readonly=True)
        assert typ == "OK", data
        if int(data[0] or 0) == 0:
            return {}
        typ, answer = client.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
        assert typ == "OK", answer
        found: dict[int, set[str]] = {}
        for item in answer:
            if isinstance(item, tuple):
                number = re.search(rb"<apply-(\d+)@", item[1])
                assert number is not None, item
                assert int(number.group(1)) not in found, "a mail is in the folder twice"
                # \Recent only says which session saw the mail first.
                flags = {flag.decode() for flag in imaplib.ParseFlags(item[0])} - {"\\Recent"}
                found[int(number.group(1))] = flags
        return found
    finally:
        client.logout()


def finish(pipeline: Any, engine: Engine, how_many: int) -> None:
    """Let the pipeline work until ``how_many`` mails are answered or ignored."""
    while sum(row.state in (MessageState.replied, MessageState.ignored) for row in kept(engine)) < how_many:
        assert pipeline.run_once(), "the pipeline stopped before enough mails were finished"


def settings_for(engine: Engine, tmp_path: Path, **values: Any) -> Settings:
    database = engine.url.render_as_string(hide_password=False)
    return load_settings(data_dir=tmp_path, database_url=database, **values)  # blobs: tmp_path/blobs, as watcher_for


def pipeline_for(engine: Engine, tmp_path: Path) -> Any:
    from zhengji.mailbox.pipeline import Pipeline

    return Pipeline(engine, settings_for(engine, tmp_path))


def number_of(row: Message) -> int:
    found = re.fullmatch(r"<apply-(\d+)@foxmail\.com>", str(row.message_id))
    assert found is not None, row.message_id
    return int(found.group(1))


def dated(number: int) -> bytes:
    return mail(number, extra="Date: Sat, 21 Jun 2025 10:00:00 +0800\r\n")


def test_modified_utf7_of_the_tests_is_the_rfcs() -> None:
    assert mutf7("~peter/mail/台北/日本語") == "~peter/mail/&U,BTFw-/&ZeVnLIqe-"  # RFC 3501 5.1.3's example
    assert mutf7("R&D") == "R&-D"


def test_flag_only_mode_keeps_mails_in_the_folder_with_the_flag_from_the_settings(
    dovecot: ThrowawayDovecot, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZHENGJI_IMAP_DONE_FLAG", "$Processed")
    pipeline = pipeline_for(engine, tmp_path)
    component = IMAPComponent(settings_for(engine, tmp_path, imap_url=dovecot.url), engine=engine)
    watcher = component.watcher
    assert (watcher.done_flag, watcher.done_folder) == ("$Processed", None)
    for number in (1, 2):
        dovecot.append(dated(number))
    watcher.sync()
    finish(pipeline, engine, 1)
    with watcher.connection() as (client, uidvalidity):
        assert watcher.settle_finished(client, uidvalidity) == 1
    finished = next(row for row in kept(engine) if row.imap_flagged)
    waiting = next(row for row in kept(engine) if not row.imap_flagged)
    assert waiting.state not in (MessageState.replied, MessageState.ignored)
    assert contents(dovecot) == {number_of(finished): {"$Processed"}, number_of(waiting): set()}
    assert folders(dovecot) == ["INBOX"]  # nothing created, nothing moved


def test_finished_mails_move_to_a_chinese_folder_that_is_created_and_the_rest_stay(
    dovecot: ThrowawayDovecot, engine: Engine, tmp_path: Path
) -> None:
    for number in (1, 2, 3):
        dovecot.append(dated(number))
    watcher = watcher_for(dovecot, engine, tmp_path, done_folder=DONE)
    watcher.sync()
    pipeline = pipeline_for(engine, tmp_path)
    finish(pipeline, engine, 3)
    dovecot.append(dated(4))  # arrives after the others were answered: still received when the watcher settles
    watcher.sync()
    assert mutf7(DONE) not in folders(dovecot)
    with watcher.connection() as (client, uidvalidity):
        assert watcher.settle_finished(client, uidvalidity) == 3
        assert watcher.settle_finished(client, uidvalidity) == 0
    assert [(row.imap_uid, row.state, row.imap_flagged) for row in kept(engine)] == [
        (1, MessageState.replied, True),
        (2, MessageState.replied, True),
        (3, MessageState.replied, True),
        (4, MessageState.received, False),
    ]
    assert mutf7(DONE) in folders(dovecot)  # created, under its RFC 3501 name
    assert mutf7(DONE) in folders(dovecot, subscribed=True)  # so that web mail shows it
    assert contents(dovecot, DONE) == {1: {"$Zhengji"}, 2: {"$Zhengji"}, 3: {"$Zhengji"}}
    assert contents(dovecot) == {4: set()}
    assert "UID MOVE" in watcher.commands
    assert not {"EXPUNGE", "UID EXPUNGE"} & set(watcher.commands)
    # The moved mails are the very ones kept: same bytes in the done folder.
    blobs = LocalBlobStore(tmp_path / "blobs")
    reader = dovecot.client()
    try:
        reader.select(mutf7(DONE), readonly=True)
        _, data = reader.fetch("1:*", "(BODY.PEEK[])")
        moved = sorted(bytes(item[1]) for item in data if isinstance(item, tuple))
    finally:
        reader.logout()
    assert moved == sorted(blobs.get(row.sha256) for row in kept(engine)[:3])


def test_mark_processed_moves_the_one_mail_when_a_done_folder_is_set(
    dovecot: ThrowawayDovecot, engine: Engine, tmp_path: Path
) -> None:
    dovecot.append(mail(1))
    dovecot.append(mail(2))
    watcher = watcher_for(dovecot, engine, tmp_path, done_flag="\\Seen", done_folder="Processed")
    watcher.sync()
    row = kept(engine)[1]
    assert row.imap_uid is not None and row.imap_uidvalidity is not None
    assert watcher.mark_processed(row.imap_uid, row.imap_uidvalidity)
    assert contents(dovecot, "Processed") == {2: {"\\Seen"}}
    assert contents(dovecot) == {1: set()}


def test_a_restart_after_moves_neither_misses_nor_repeats(
    dovecot: ThrowawayDovecot, engine: Engine, tmp_path: Path
) -> None:
    pipeline = pipeline_for(engine, tmp_path)
    first = watcher_for(dovecot, engine, tmp_path, done_folder=DONE)
    with Running(first):
        dovecot.append(dated(1))
        dovecot.append(dated(2))
        wait_until(lambda: len(kept(engine)) == 2, "two mails kept")
        finish(pipeline, engine, 2)
        dovecot.append(dated(3))  # wakes the watcher, which then settles 1 and 2
        wait_until(lambda: dovecot.count() == 1, "the finished mails moved")
    assert len(kept(engine)) == 3
    finish(pipeline, engine, 3)
    dovecot.append(dated(4))  # while no watcher runs
    second = watcher_for(dovecot, engine, tmp_path, done_folder=DONE)
    with Running(second):  # connected = caught up (4 kept) and settled (3 moved)
        assert contents(dovecot) == {4: set()}
        finish(pipeline, engine, 4)
        dovecot.append(dated(5))
        wait_until(lambda: dovecot.count() == 1 and len(kept(engine)) == 5, "5 kept and 4 moved")
    assert first.looked_at == first.downloaded == [1, 2, 3]
    assert second.looked_at == second.downloaded == [4, 5]  # went on from UID 3, though 1-3 had left the inbox
    assert "CREATE" in first.commands and "CREATE" not in second.commands
    assert [row.imap_uid for row in kept(engine)] == [1, 2, 3, 4, 5]
    assert contents(dovecot) == {5: set()}
    assert contents(dovecot, DONE) == {number: {"$Zhengji"} for number in (1, 2, 3, 4)}


class AnnouncingDovecot(ThrowawayDovecot):
    """Dovecot announcing only ``capability`` after login, like servers that lack MOVE or UIDPLUS."""

    def __init__(self, capability: str) -> None:
        self.capability = capability
        super().__init__()

    def _write_config(self) -> None:
        super()._write_config()
        config = self.root / "dovecot.conf"
        config.write_text(config.read_text() + f"imap_capability = {self.capability}\n")

    def announced(self) -> set[str]:
        client = self.client()
        try:
            typ, data = client.capability()
            assert typ == "OK"
            return set(data[0].decode().upper().split())
        finally:
            client.logout()


@contextlib.contextmanager
def announcing(capability: str) -> Iterator[AnnouncingDovecot]:
    try:
        server = AnnouncingDovecot(capability)
        try:
            server.start()
            yield server
        finally:
            server.stop()
    except DovecotUnavailable as error:
        need_server(f"Dovecot: {error}")


def settle_with_a_mail_the_clerk_deleted(server: ThrowawayDovecot, engine: Engine, tmp_path: Path) -> RecordingWatcher:
    """Mails 1 and 2 finished; mail 3 waiting, marked deleted by a clerk but not expunged. Settles once."""
    server.append(dated(1))
    server.append(dated(2))
    watcher = watcher_for(server, engine, tmp_path, done_folder=DONE)
    watcher.sync()
    finish(pipeline_for(engine, tmp_path), engine, 2)
    client = server.client()
    try:
        typ, data = client.append("INBOX", "(\\Deleted)", time.time(), dated(3))
        assert typ == "OK", data
    finally:
        client.logout()
    watcher.sync()
    with watcher.connection() as (mailbox, uidvalidity):
        assert watcher.settle_finished(mailbox, uidvalidity) == 2
    return watcher


def test_without_move_the_server_copies_and_expunges_only_the_finished_uids(engine: Engine, tmp_path: Path) -> None:
    with announcing("IMAP4rev1 ID ENABLE IDLE UNSELECT NAMESPACE UIDPLUS") as server:
        assert "MOVE" not in server.announced() and "UIDPLUS" in server.announced()
        watcher = settle_with_a_mail_the_clerk_deleted(server, engine, tmp_path)
        assert contents(server, DONE) == {1: {"$Zhengji"}, 2: {"$Zhengji"}}  # the copies are not deleted
        assert contents(server) == {3: {"\\Deleted"}}  # the clerk's deleted mail is still there
    assert {"UID COPY", "UID EXPUNGE"} <= set(watcher.commands)
    assert not {"UID MOVE", "EXPUNGE"} & set(watcher.commands)


def test_without_move_or_uidplus_nothing_is_expunged(
    engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with announcing("IMAP4rev1 ID ENABLE IDLE UNSELECT NAMESPACE") as server:
        assert not {"MOVE", "UIDPLUS"} & server.announced()
        watcher = settle_with_a_mail_the_clerk_deleted(server, engine, tmp_path)
        assert contents(server, DONE) == {1: {"$Zhengji"}, 2: {"$Zhengji"}}
        # The originals wait, marked, for the clerks' own expunge; the clerk's deleted mail is untouched.
        assert contents(server) == {1: {"$Zhengji", "\\Deleted"}, 2: {"$Zhengji", "\\Deleted"}, 3: {"\\Deleted"}}
        server.append(dated(4))
        watcher.sync()
        finish(pipeline_for(engine, tmp_path), engine, 4)
        with watcher.connection() as (mailbox, uidvalidity):
            assert watcher.settle_finished(mailbox, uidvalidity) == 2
        assert set(contents(server, DONE)) == {1, 2, 3, 4}
    assert "UID COPY" in watcher.commands
    assert not {"UID MOVE", "UID EXPUNGE", "EXPUNGE"} & set(watcher.commands)
    warnings = [record for record in caplog.records if "neither MOVE nor UIDPLUS" in record.getMessage()]
    assert len(warnings) == 1  # said once, not at every mail


def test_a_watcher_refuses_a_malformed_flag_or_its_own_folder(
    dovecot: ThrowawayDovecot, engine: Engine, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="不是有效的 IMAP 标记"):
        watcher_for(dovecot, engine, tmp_path, done_flag="已处理")
    with pytest.raises(ValueError, match="不能与所监视的文件夹"):
        watcher_for(dovecot, engine, tmp_path, done_folder="inbox")


def test_a_done_folder_deleted_meanwhile_is_created_again(
    dovecot: ThrowawayDovecot, engine: Engine, tmp_path: Path
) -> None:
    dovecot.append(dated(1))
    watcher = watcher_for(dovecot, engine, tmp_path, done_folder=DONE)
    watcher.sync()
    pipeline = pipeline_for(engine, tmp_path)
    with watcher.connection() as (client, uidvalidity):
        finish(pipeline, engine, 1)
        assert watcher.settle_finished(client, uidvalidity) == 1
        other = dovecot.client()
        try:
            assert other.delete(mutf7(DONE))[0] == "OK"  # a clerk removes the folder, mail and all
        finally:
            other.logout()
        dovecot.append(dated(2))
        watcher.catch_up(client, uidvalidity, 1)
        finish(pipeline, engine, 2)
        assert watcher.settle_finished(client, uidvalidity) == 0  # refused by the server: left for next time
        assert watcher.settle_finished(client, uidvalidity) == 1
    assert contents(dovecot, DONE) == {2: {"$Zhengji"}}
    assert contents(dovecot) == {}
    assert [row.imap_flagged for row in kept(engine)] == [True, True]


def test_uid_sets_name_exactly_the_uids() -> None:
    assert uid_set([7, 1, 2, 3, 9, 10, 3]) == "1:3,7,9:10"
    assert uid_set([5]) == "5"
