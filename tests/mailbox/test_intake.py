"""Keeping a mail: the raw bytes first, then its row; the same IMAP mail kept twice is one row."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, func, select

from zhengji.mailbox import intake as intake_module
from zhengji.mailbox.intake import GroupCommit, Receipt, keep, message_id_of, stage
from zhengji.storage.blobs import LocalBlobStore
from zhengji.storage.models import Message, MessageSource, MessageState

RAW = "Message-ID: <abc@foxmail.com>\r\nSubject: 新职业\r\n\r\n正文\r\n".encode()
AT = datetime(2025, 6, 21, 2, 0, tzinfo=UTC)
SMTP_RECEIPT = Receipt(MessageSource.smtp, "yanfa312@126.com", AT, "a@example.com", ["yanfa312@126.com"])


def test_kept_mail_has_its_blob_and_row(engine: Engine, tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "blobs")
    receipt = Receipt(MessageSource.smtp, "yanfa312@126.com", AT, "a@example.com", ["yanfa312@126.com"])
    row = keep(engine, blobs, RAW, receipt)
    assert blobs.get(row.sha256) == RAW
    assert (row.message_id, row.size, row.state) == ("<abc@foxmail.com>", len(RAW), MessageState.received)
    assert row.received_at == AT


def test_the_same_imap_uid_is_kept_once(engine: Engine, tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "blobs")
    receipt = Receipt(MessageSource.imap, "yanfa312@126.com/INBOX", AT, imap_uidvalidity=7, imap_uid=42)
    first = keep(engine, blobs, RAW, receipt)
    second = keep(engine, blobs, RAW, receipt)
    assert first.id == second.id
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Message)).one() == 1


def test_two_smtp_deliveries_are_two_rows(engine: Engine, tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "blobs")
    receipt = Receipt(MessageSource.smtp, "yanfa312@126.com", AT)
    assert keep(engine, blobs, RAW, receipt).id != keep(engine, blobs, RAW, receipt).id


def test_a_mail_without_headers_is_still_kept(engine: Engine, tmp_path: Path) -> None:
    row = keep(engine, LocalBlobStore(tmp_path), b"\xff\xfe not a mail", Receipt(MessageSource.file, "import", AT))
    assert row.message_id is None


def test_rows_handed_over_together_are_committed_each_with_its_id(engine: Engine, tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "blobs")
    committer = GroupCommit(engine)
    raws = {f"<m{n}@foxmail.com>": RAW.replace(b"<abc@", f"<m{n}@".encode()) for n in range(40)}
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            staged = list(pool.map(lambda raw: stage(blobs, raw, SMTP_RECEIPT), raws.values()))
            futures = list(pool.map(committer.submit, staged))
        rows = [future.result(timeout=30) for future in futures]
    finally:
        assert committer.close(timeout=30)
    assert len({row.id for row in rows}) == 40
    with Session(engine) as session:
        kept = {row.id: row for row in session.exec(select(Message)).all()}
    assert set(kept) == {row.id for row in rows}
    for row in rows:
        assert kept[row.id].message_id == row.message_id
        assert blobs.get(kept[row.id].sha256) == raws[row.message_id or ""]


def test_one_row_the_database_refuses_fails_alone(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    blobs = LocalBlobStore(tmp_path / "blobs")
    uid = Receipt(MessageSource.imap, "yanfa312@126.com/INBOX", AT, imap_uidvalidity=7, imap_uid=42)
    keep(engine, blobs, RAW, uid)
    # The first commit waits at a gate, so that the next three rows queue up and are tried as one group.
    entered, gate = threading.Event(), threading.Event()
    insert_rows = intake_module.insert_rows

    def gated_insert(engine: Engine, rows: list[Message]) -> None:
        entered.set()
        assert gate.wait(timeout=30)
        insert_rows(engine, rows)

    monkeypatch.setattr(intake_module, "insert_rows", gated_insert)
    committer = GroupCommit(engine)
    try:
        first = committer.submit(stage(blobs, b"Subject: first\r\n\r\n", SMTP_RECEIPT))
        assert entered.wait(timeout=30)
        good = committer.submit(stage(blobs, b"Subject: good\r\n\r\n", SMTP_RECEIPT))
        duplicate = committer.submit(stage(blobs, RAW, uid))  # the same IMAP UID again: a unique violation
        other = committer.submit(stage(blobs, b"Subject: other\r\n\r\n", SMTP_RECEIPT))
        with caplog.at_level(logging.WARNING, logger="zhengji.intake"):
            gate.set()
            assert first.result(timeout=30).id is not None
            assert good.result(timeout=30).id is not None
            assert other.result(timeout=30).id is not None
            assert isinstance(duplicate.exception(timeout=30), IntegrityError)
    finally:
        gate.set()
        assert committer.close(timeout=30)
    assert "committing 3 mails together failed" in caplog.text
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Message)).one() == 4


def test_a_closed_committer_commits_what_it_was_given_and_takes_nothing_more(engine: Engine, tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "blobs")
    committer = GroupCommit(engine)
    futures = [committer.submit(stage(blobs, RAW + bytes([n]), SMTP_RECEIPT)) for n in range(5)]
    assert committer.close(timeout=30)
    assert all(future.result(timeout=0).id is not None for future in futures)
    with pytest.raises(RuntimeError):
        committer.submit(stage(blobs, RAW, SMTP_RECEIPT))


def test_the_message_id_is_read_from_the_header_block_alone() -> None:
    body = b"Message-ID: <not-this@body>\r\n" * 1000
    assert message_id_of(b"Message-ID: <head@foxmail.com>\r\nSubject: x\r\n\r\n" + body) == "<head@foxmail.com>"
    assert message_id_of(b"Subject: x\n\nMessage-ID: <not-this@body>\n") is None
    assert message_id_of(b"Subject: no blank line, no id") is None


def test_the_message_id_is_found_in_any_case_unfolded_and_first() -> None:
    raw = b"Subject: x\r\nmessage-id:\r\n <folded@foxmail.com>\r\nMessage-ID: <second@foxmail.com>\r\n\r\n"
    assert message_id_of(raw) == "<folded@foxmail.com>"
    assert message_id_of(b"X-Message-ID: <other@x>\r\nSubject: y\r\n\r\n") is None
    assert message_id_of(b"Message-ID: <\xd6\xd0@gbk.cn>\r\n\r\n") == "<\ufffd\ufffd@gbk.cn>"
