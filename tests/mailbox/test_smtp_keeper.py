"""The SMTP server's keeping threads: the blobs of the mails that arrive together written by one thread, their
rows committed in one transaction, each sender answered with its own row (or its own failure); and the plain
addresses of ``MAIL FROM`` and ``RCPT TO`` read without the email package's parser, with the same result."""

from __future__ import annotations

import asyncio
import errno
import threading
import weakref
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd import smtp as aiosmtpd_smtp
from aiosmtpd.smtp import SMTP
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from zhengji.mailbox.intake import GroupCommit, Receipt
from zhengji.mailbox.smtp_server import IntakeHandler, IntakeSMTP, Keeper
from zhengji.storage.blobs import LocalBlobStore
from zhengji.storage.models import Message, MessageSource, MessageState

AT = datetime(2025, 6, 21, 2, 0, tzinfo=UTC)
RECEIPT = Receipt(MessageSource.smtp, "yanfa312@126.com", AT, "zhangwei@foxmail.com", ["yanfa312@126.com"])


def mail(number: int) -> bytes:
    return f"Message-ID: <m{number}@foxmail.com>\r\nSubject: 申报 {number}\r\n\r\n附件为新职业建议书。\r\n".encode()


class GatedStore(LocalBlobStore):
    """Holds its first ``put`` until released, so that the mails sent meanwhile wait together; refuses one mail."""

    def __init__(self, root: Path, refused: bytes) -> None:
        super().__init__(root)
        self.entered, self.gate = threading.Event(), threading.Event()
        self.refused = refused
        self.writers: set[int] = set()

    def put(self, data: bytes) -> str:
        self.writers.add(threading.get_ident())
        if not self.entered.is_set():
            self.entered.set()
            assert self.gate.wait(timeout=30)
        if data == self.refused:
            raise OSError(errno.ENOSPC, "No space left on device")
        return super().put(data)


def test_mails_waiting_together_are_kept_in_one_transaction_and_each_answered(engine: Engine, tmp_path: Path) -> None:
    store = GatedStore(tmp_path / "blobs", refused=mail(3))
    commits: list[int] = []
    sa.event.listen(engine, "commit", lambda connection: commits.append(1))
    committer = GroupCommit(engine)
    keeper = Keeper(store, committer, threads=1)

    async def send() -> list[Any]:
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[int]] = [loop.create_future() for _ in range(6)]
        keeper.put(mail(0), RECEIPT, futures[0])
        await loop.run_in_executor(None, store.entered.wait, 30)  # the first mail is being written
        for number in range(1, 6):
            keeper.put(mail(number), RECEIPT, futures[number])
        store.gate.set()
        return await asyncio.gather(*futures, return_exceptions=True)

    try:
        outcomes = asyncio.run(asyncio.wait_for(send(), timeout=30))
    finally:
        store.gate.set()
        assert keeper.close(timeout=30)
        assert committer.close(timeout=30)
    refused = outcomes.pop(3)
    assert isinstance(refused, OSError) and refused.errno == errno.ENOSPC  # that sender alone hears 451
    with Session(engine) as session:
        rows = {row.id: row for row in session.exec(select(Message)).all() if row.id is not None}
    assert sorted(outcomes) == sorted(rows)  # every other sender got the id of its own committed row
    assert [rows[row_id].message_id for row_id in outcomes] == [f"<m{n}@foxmail.com>" for n in (0, 1, 2, 4, 5)]
    assert all(store.get(rows[row_id].sha256) == mail(n) for row_id, n in zip(outcomes, (0, 1, 2, 4, 5), strict=True))
    assert len(commits) == 2  # the first mail alone, then the four that waited for it together
    assert len(store.writers) == 1
    row = rows[outcomes[0]]  # the model's defaults apply as through the ORM
    assert (row.state, row.attempts, row.imap_flagged, row.reply_wanted) == (MessageState.received, 0, False, True)
    assert row.envelope_from == "zhangwei@foxmail.com" and row.envelope_to == ["yanfa312@126.com"]


@pytest.fixture
def protocol(engine: Engine, tmp_path: Path) -> Iterator[IntakeSMTP]:
    handler = IntakeHandler(engine, LocalBlobStore(tmp_path / "blobs"), ["yanfa312@126.com"])
    loop = asyncio.new_event_loop()
    try:
        yield IntakeSMTP(handler, weakref.WeakSet(), hostname="test", loop=loop)
    finally:
        handler.close(timeout=5)
        loop.close()


ADDRESSES = [
    "<zhangwei@foxmail.com>",
    "<zhang.wei+hr@yiwu-tech.com.cn> SIZE=20480 BODY=8BITMIME",
    " <A.B@Example.COM>  SIZE=5",
    "<x@y>x",
    "<>",
    "<> SIZE=10",
    '<"zhang wei"@foxmail.com>',
    "<user@[192.0.2.1]>",
    "<@relay.example,@other.example:user@example.com>",
    "<张伟@例子.中国>",
    "<a@b> (a comment) SIZE=1",
    "<a@b",
    "a@b",
    "<a..b@c>",
    "<.a@b>",
    "",
]


@pytest.mark.parametrize("argument", ADDRESSES)
def test_an_address_is_read_as_aiosmtpd_reads_it(protocol: IntakeSMTP, argument: str) -> None:
    assert protocol._getaddr(argument) == SMTP._getaddr(protocol, argument)


def test_a_plain_address_is_read_without_the_header_parser(
    protocol: IntakeSMTP, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(value: str) -> Any:
        raise AssertionError("the email package's parser was asked")

    monkeypatch.setattr(aiosmtpd_smtp, "get_angle_addr", refuse)
    monkeypatch.setattr(aiosmtpd_smtp, "get_addr_spec", refuse)
    assert protocol._getaddr("<hr@yiwu-tech.com.cn> SIZE=20480") == ("hr@yiwu-tech.com.cn", "SIZE=20480")
    assert protocol._getaddr("<yanfa312@126.com>") == ("yanfa312@126.com", "")
