"""Keeping a mail: the raw bytes first, then its row; the same IMAP mail kept twice is one row."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from zhengji.mailbox.intake import Receipt, keep
from zhengji.storage.blobs import BlobStore
from zhengji.storage.models import Message, MessageSource, MessageState

RAW = "Message-ID: <abc@foxmail.com>\r\nSubject: 新职业\r\n\r\n正文\r\n".encode()
AT = datetime(2025, 6, 21, 2, 0, tzinfo=UTC)


def test_kept_mail_has_its_blob_and_row(engine: Engine, tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    receipt = Receipt(MessageSource.smtp, "yanfa312@126.com", AT, "a@example.com", ["yanfa312@126.com"])
    row = keep(engine, blobs, RAW, receipt)
    assert blobs.get(row.sha256) == RAW
    assert (row.message_id, row.size, row.state) == ("<abc@foxmail.com>", len(RAW), MessageState.received)
    assert row.received_at == AT


def test_the_same_imap_uid_is_kept_once(engine: Engine, tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    receipt = Receipt(MessageSource.imap, "yanfa312@126.com/INBOX", AT, imap_uidvalidity=7, imap_uid=42)
    first = keep(engine, blobs, RAW, receipt)
    second = keep(engine, blobs, RAW, receipt)
    assert first.id == second.id
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Message)).one() == 1


def test_two_smtp_deliveries_are_two_rows(engine: Engine, tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    receipt = Receipt(MessageSource.smtp, "yanfa312@126.com", AT)
    assert keep(engine, blobs, RAW, receipt).id != keep(engine, blobs, RAW, receipt).id


def test_a_mail_without_headers_is_still_kept(engine: Engine, tmp_path: Path) -> None:
    row = keep(engine, BlobStore(tmp_path), b"\xff\xfe not a mail", Receipt(MessageSource.file, "import", AT))
    assert row.message_id is None
