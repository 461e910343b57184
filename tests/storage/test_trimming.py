"""The storage boundary takes whatever a mail holds: over-long values are trimmed to their column, and what
PostgreSQL refuses outright (NUL, lone surrogates) is cleaned, on SQLite and on PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from zhengji.storage.models import (
    AuditEvent,
    Document,
    Message,
    MessageSource,
    Reply,
    Submission,
)
from zhengji.storage.types import storable

AT = datetime(2025, 6, 21, 2, 0, tzinfo=UTC)
LONG_ID = "<" + "x" * 1100 + "@example.com>"


def test_over_long_and_unstorable_values_are_trimmed_and_cleaned_on_every_write(engine: Engine) -> None:
    with Session(engine) as session:
        message = Message(
            sha256="a" * 64,
            size=1,
            message_id=LONG_ID,
            source=MessageSource.smtp,
            mailbox="m" * 400,
            envelope_from="f" * 400 + "@example.com",
            envelope_to=["yanfa312@126.com\x00"],
            received_at=AT,
        )
        session.add(message)
        session.flush()
        submission = Submission(
            reference="ZJ-2025Q2-TRIM01",
            track="new_occupation",
            sender="s" * 400,
            sender_name="名" * 300,
            subject="主题" * 560,
            created_at=AT,
            updated_at=AT,
        )
        session.add(submission)
        session.flush()
        assert message.id is not None and submission.id is not None
        session.add(
            Document(
                message_id=message.id,
                filename="文件" * 300 + ".docx",
                sha256="b" * 64,
                size=1,
                format="docx",
                form="new_occupation_proposal",
                fields={"name": "新职业\x00名称", "rows": [{"k\x00": "\udcff"}]},
                findings=[],
                parser_version="0.1.0",
                created_at=AT,
            )
        )
        session.add(
            Reply(
                message_id=message.id,
                submission_id=submission.id,
                to_address="t" * 400,
                subject="回复" * 600,
                body="正文\x00结束",
                message_id_header=LONG_ID,
                in_reply_to=LONG_ID,
                created_at=AT,
            )
        )
        session.add(AuditEvent(at=AT, actor="a" * 200, action="b" * 60, message_id=message.id,
                               detail={"error": "出错\x00了"}))  # fmt: skip
        session.commit()
        message_id = message.id

    with Session(engine) as session:
        stored = session.get(Message, message_id)
        assert stored is not None
        assert stored.message_id == LONG_ID[:998] and len(stored.mailbox) == 320
        assert stored.envelope_from is not None and len(stored.envelope_from) == 320
        assert stored.envelope_to == ["yanfa312@126.com"]
        # A lookup by the whole value finds the row: the value compared is trimmed like the stored one.
        assert session.exec(select(Message.id).where(Message.message_id == LONG_ID)).all() == [message_id]
        case = session.exec(select(Submission)).one()
        assert (len(case.sender), len(case.sender_name or ""), len(case.subject or "")) == (320, 200, 998)
        document = session.exec(select(Document)).one()
        assert len(document.filename) == 500
        assert document.fields == {"name": "新职业名称", "rows": [{"k": "\ufffd"}]}
        reply = session.exec(select(Reply)).one()
        assert (len(reply.to_address), len(reply.subject), reply.body) == (320, 998, "正文结束")
        event = session.exec(select(AuditEvent)).one()
        assert (len(event.actor), len(event.action), event.detail) == (120, 48, {"error": "出错了"})

    with Session(engine) as session:  # a Core UPDATE goes through the same boundary
        session.exec(
            update(Message).where(col(Message.id) == message_id).values(claimed_by="w" * 300, last_error="错误\x00" * 3)
        )
        session.commit()
        stored = session.get(Message, message_id)
        assert stored is not None and stored.claimed_by == "w" * 120 and stored.last_error == "错误" * 3


def test_storable_keeps_ordinary_values_as_they_are() -> None:
    assert storable("新职业信息建议书.docx", 500) == "新职业信息建议书.docx"
    assert storable("abc", None) == "abc"
    assert storable("👍" * 5, 3) == "👍" * 3  # characters, not bytes or UTF-16 units
