"""Storage round trips and the migration from empty, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, select

from zhengji.storage.db import make_engine, session_scope
from zhengji.storage.migrate import current_revision, head_revision, is_current, upgrade
from zhengji.storage.models import (
    AuditEvent,
    ChatLink,
    Document,
    Message,
    MessageSource,
    MessageState,
    Reply,
    ReplyState,
    StaffUser,
    Submission,
)
from zhengji.storage.references import find_reference, new_reference
from zhengji.storage.status import (
    Decision,
    SubmissionStatus,
    TransitionError,
    Verdict,
    decidable,
    record_decision,
    record_verdict,
    reopen_for_review,
)

RECEIVED = datetime(2025, 6, 21, 2, 0, tzinfo=UTC)


def test_migration_from_empty_matches_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert is_current(engine)
    with engine.connect() as connection:
        differences = compare_metadata(
            MigrationContext.configure(connection, opts={"compare_type": True}), SQLModel.metadata
        )
    assert differences == []
    upgrade(engine)  # a second upgrade is a no-op
    assert is_current(engine)
    engine.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/wal.db")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    engine.dispose()


def _message(**overrides: object) -> Message:
    values: dict[str, object] = {
        "sha256": "a" * 64,
        "size": 1234,
        "message_id": "<20250621100000.1@foxmail.com>",
        "source": MessageSource.imap,
        "mailbox": "yanfa312@126.com/INBOX",
        "imap_uidvalidity": 1_700_000_000,
        "imap_uid": 42,
        "envelope_from": "hr@example.com.cn",
        "envelope_to": ["yanfa312@126.com"],
        "received_at": RECEIVED,
    }
    values.update(overrides)
    return Message(**values)  # type: ignore[arg-type]


def test_round_trip_of_a_whole_case(engine: Engine) -> None:
    reference = new_reference(RECEIVED)
    with session_scope(engine) as session:
        submission = Submission(
            reference=reference,
            track="new_occupation",
            notice="沪人社职〔2025〕77号",
            sender="hr@example.com.cn",
            sender_name="上海某某科技有限公司",
            created_at=RECEIVED,
            updated_at=RECEIVED,
        )
        session.add(submission)
        session.flush()
        message = _message(submission_id=submission.id, version=1)
        session.add(message)
        session.flush()
        assert message.id is not None and submission.id is not None
        session.add(
            Document(
                message_id=message.id,
                submission_id=submission.id,
                filename="新职业信息建议书.docx",
                sha256="b" * 64,
                size=50_000,
                format="docx",
                form="new_occupation_proposal",
                fields={"name": "无人机群飞表演编队师", "tasks": [{"content": "编排飞行队形"}]},
                findings=[{"code": "missing_field", "field": "definition", "severity": "error", "message": "缺少"}],
                parser_version="0.1.0",
                created_at=RECEIVED,
            )
        )
        session.add(
            Reply(
                message_id=message.id,
                submission_id=submission.id,
                to_address="hr@example.com.cn",
                subject=f"Re: 【{reference}】新职业征集材料",
                body="您好：材料已收到。",
                message_id_header="<reply-1@zhengji>",
                created_at=RECEIVED,
            )
        )
        session.add(StaffUser(name="王老师", password_hash="x", created_at=RECEIVED))
        session.add(ChatLink(channel="telegram", chat_id="123456", submission_id=submission.id, created_at=RECEIVED))

    with Session(engine) as session:
        stored = session.exec(select(Submission).where(Submission.reference == reference)).one()
        assert stored.status is SubmissionStatus.received
        assert stored.sender_name == "上海某某科技有限公司"
        message = session.exec(select(Message).where(Message.submission_id == stored.id)).one()
        assert message.received_at == RECEIVED
        assert message.received_at.tzinfo is not None
        assert message.source is MessageSource.imap
        assert message.state is MessageState.received
        assert message.envelope_to == ["yanfa312@126.com"]
        document = session.exec(select(Document)).one()
        assert document.fields["name"] == "无人机群飞表演编队师"
        assert document.fields["tasks"] == [{"content": "编排飞行队形"}]
        assert document.findings[0]["field"] == "definition"
        reply = session.exec(select(Reply)).one()
        assert reply.state is ReplyState.pending
        assert reply.subject.startswith("Re: 【ZJ-2025Q2-")


def test_times_come_back_as_the_same_instant_in_utc(engine: Engine) -> None:
    shanghai_evening = datetime(2025, 6, 30, 23, 59, 59, tzinfo=timezone(timedelta(hours=8)))
    with session_scope(engine) as session:
        session.add(_message(received_at=shanghai_evening))
    with Session(engine) as session:
        stored = session.exec(select(Message)).one()
        assert stored.received_at == shanghai_evening
        assert stored.received_at.utcoffset() == timedelta(0)


def test_naive_times_are_refused(engine: Engine) -> None:
    with pytest.raises(Exception, match="naive"), session_scope(engine) as session:
        session.add(_message(received_at=datetime(2025, 6, 21, 10, 0)))


def test_an_imap_mail_is_stored_once_per_uidvalidity_and_uid(engine: Engine) -> None:
    with session_scope(engine) as session:
        session.add(_message())
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add(_message(sha256="c" * 64))
    with session_scope(engine) as session:
        # A new UIDVALIDITY (the folder was recreated) makes the same UID a different mail.
        session.add(_message(imap_uidvalidity=1_800_000_000))
        # SMTP mails have no UID at all; many of them coexist.
        session.add(_message(source=MessageSource.smtp, imap_uidvalidity=None, imap_uid=None))
        session.add(_message(source=MessageSource.smtp, imap_uidvalidity=None, imap_uid=None))


def test_one_reply_per_message(engine: Engine) -> None:
    with session_scope(engine) as session:
        message = _message()
        session.add(message)
        session.flush()
        message_id = message.id
    reply = {
        "to_address": "hr@example.com.cn",
        "subject": "Re: 材料",
        "body": "已收到",
        "message_id_header": "<r@zhengji>",
        "created_at": RECEIVED,
    }
    with session_scope(engine) as session:
        session.add(Reply(message_id=message_id, **reply))  # type: ignore[arg-type]
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add(Reply(message_id=message_id, **reply))  # type: ignore[arg-type]
    # A clerk's corrected reply after reprocessing is the next in sequence, not a second "first" reply.
    with session_scope(engine) as session:
        session.add(Reply(message_id=message_id, sequence=2, **reply))  # type: ignore[arg-type]


def test_upgrading_a_database_in_use_keeps_its_replies_and_documents(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine, "0002")
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO messages (sha256, size, source, mailbox, envelope_to, received_at, state, attempts, "
                "imap_flagged) VALUES ('ab', 1, 'smtp', 'yanfa312@126.com', '[]', :at, 'replied', 0, false)"
            ),
            {"at": RECEIVED},
        )
        message_id = connection.execute(sa.text("SELECT id FROM messages")).scalar_one()
        connection.execute(
            sa.text(
                "INSERT INTO replies (message_id, to_address, subject, body, message_id_header, state, attempts, "
                "created_at) VALUES (:m, 'hr@example.com.cn', 'Re: 材料', '已收到', '<r@zhengji>', 'sent', 1, :at)"
            ),
            {"m": message_id, "at": RECEIVED},
        )
        connection.execute(
            sa.text(
                "INSERT INTO documents (message_id, version, filename, sha256, size, format, form, fields, findings, "
                "parser_version, superseded, created_at) VALUES (:m, 1, '建议书.pdf', 'cd', 2, 'pdf', "
                "'new_occupation_proposal', '{}', '[]', '1', false, :at)"
            ),
            {"m": message_id, "at": RECEIVED},
        )
    upgrade(engine)
    if engine.dialect.name == "sqlite":  # turned off to copy tables, and on again for whoever uses the pool next
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    with Session(engine) as session:
        [reply] = session.exec(select(Reply)).all()
        assert (reply.message_id, reply.sequence, reply.state) == (message_id, 1, ReplyState.sent)
        [document] = session.exec(select(Document)).all()
        assert (document.filename, document.red_seals, document.text_layer) == ("建议书.pdf", 0, True)
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add(Reply(message_id=message_id, to_address="a@b.cn", subject="s", body="b",
                          message_id_header="<x@zhengji>", created_at=RECEIVED))  # fmt: skip
    engine.dispose()


def test_foreign_keys_are_enforced(engine: Engine) -> None:
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add(
            Document(
                message_id=999_999,
                filename="x.docx",
                sha256="d" * 64,
                size=1,
                format="docx",
                form="unknown",
                parser_version="0",
                created_at=RECEIVED,
            )
        )


def _case(session: Session) -> Submission:
    submission = Submission(
        reference=new_reference(RECEIVED),
        track="new_occupation",
        sender="a@example.com",
        created_at=RECEIVED,
        updated_at=RECEIVED,
    )
    session.add(submission)
    session.flush()
    return submission


def test_a_verdict_is_recorded_with_its_audit_event(engine: Engine) -> None:
    later = RECEIVED + timedelta(minutes=5)
    with session_scope(engine) as session:
        record_verdict(session, _case(session), Verdict.incomplete, actor="checker", reason="缺少汇总表", at=later)
    with Session(engine) as session:
        stored = session.exec(select(Submission)).one()
        assert (stored.status, stored.verdict, stored.decision) == (
            SubmissionStatus.incomplete,
            Verdict.incomplete,
            None,
        )
        assert stored.updated_at == later
        event = session.exec(select(AuditEvent)).one()
        assert (event.actor, event.action, event.submission_id) == ("checker", "verdict", stored.id)
        assert event.detail == {
            "from": "received",
            "to": "incomplete",
            "shown_from": "received",
            "shown": "incomplete",
            "reason": "缺少汇总表",
        }


def test_a_verdict_never_overturns_a_reviewers_decision(engine: Engine) -> None:
    """Issue 15: a reviewer's 不予受理 is ``declined``, and a later re-check changes the verdict only."""
    with session_scope(engine) as session:
        submission = _case(session)
        record_verdict(session, submission, Verdict.complete, actor="pipeline")
        record_decision(session, submission, Decision.declined, actor="王老师", reason="不属于征集范围")
        record_verdict(session, submission, Verdict.incomplete, actor="李老师", action="recheck")
        assert not decidable(submission)
        with pytest.raises(TransitionError):
            record_decision(session, submission, Decision.accepted, actor="李老师", reason=None)
    with Session(engine) as session:
        stored = session.exec(select(Submission)).one()
        assert (stored.status, stored.verdict, stored.decision) == (
            SubmissionStatus.declined,
            Verdict.incomplete,
            Decision.declined,
        )
        events = session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()  # type: ignore[arg-type]
        assert [(event.actor, event.action) for event in events] == [
            ("pipeline", "verdict"),
            ("王老师", "decision"),
            ("李老师", "recheck"),
        ]
        assert events[1].detail["reason"] == "不属于征集范围" and events[1].detail["to"] == "declined"


def test_a_new_version_after_a_return_is_open_for_review(engine: Engine) -> None:
    with session_scope(engine) as session:
        submission = _case(session)
        record_verdict(session, submission, Verdict.complete, actor="pipeline")
        record_decision(session, submission, Decision.returned, actor="王老师", reason="请盖章")
        assert reopen_for_review(session, submission, actor="pipeline")
        record_verdict(session, submission, Verdict.incomplete, actor="pipeline")
        assert decidable(submission)
        assert (submission.status, submission.decision) == (SubmissionStatus.incomplete, None)


def _seed_old_case(
    connection: sa.Connection, ident: int, status: str, trail: list[tuple[str, dict[str, object]]]
) -> None:
    connection.execute(
        sa.text(
            "INSERT INTO submissions (id, reference, track, status, sender, version, created_at, updated_at) "
            "VALUES (:id, :ref, 'new_occupation', :status, 'a@example.com', 1, :at, :at)"
        ),
        {"id": ident, "ref": f"ZJ-2025Q2-OLD{ident:03d}", "status": status, "at": RECEIVED},
    )
    for actor, detail in trail:
        connection.execute(
            sa.text(
                "INSERT INTO audit_events (at, actor, action, submission_id, detail) "
                "VALUES (:at, :actor, 'status', :id, :detail)"
            ),
            {"at": RECEIVED, "actor": actor, "id": ident, "detail": json.dumps(detail, ensure_ascii=False)},
        )


def test_the_migration_reads_decisions_and_verdicts_back_from_the_audit_trail(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine, "0007")
    machine = {"message_id": 1, "version": 1, "findings": []}
    with engine.begin() as connection:
        _seed_old_case(connection, 1, "incomplete", [("pipeline", {"from": "received", "to": "incomplete", **machine})])
        # A reviewer's 不予受理, stored as the machine's `rejected` before 0008 ...
        _seed_old_case(connection, 2, "rejected", [
            ("pipeline", {"from": "received", "to": "complete", **machine}),
            ("王老师", {"from": "complete", "to": "in_review", "reason": "审核"}),
            ("王老师", {"from": "in_review", "to": "rejected", "reason": "不属于征集范围", "decision": "reject"}),
        ])  # fmt: skip
        # ... and one that a second reviewer's correction turned back into `incomplete`: the decision stands.
        _seed_old_case(connection, 3, "incomplete", [
            ("pipeline", {"from": "received", "to": "complete", **machine}),
            ("王老师", {"from": "complete", "to": "in_review", "reason": "审核"}),
            ("王老师", {"from": "in_review", "to": "rejected", "reason": "逾期", "decision": "reject"}),
            ("李老师", {"from": "rejected", "to": "incomplete", "reason": "更正", "recheck": True}),
        ])  # fmt: skip
        _seed_old_case(connection, 4, "accepted", [
            ("pipeline", {"from": "received", "to": "complete", **machine}),
            ("王老师", {"from": "complete", "to": "in_review", "reason": "审核"}),
            ("王老师", {"from": "in_review", "to": "accepted", "reason": None, "decision": "accept"}),
        ])  # fmt: skip
        # Returned, then the applicant's new version: open for review on its own verdict.
        _seed_old_case(connection, 5, "incomplete", [
            ("pipeline", {"from": "received", "to": "complete", **machine}),
            ("王老师", {"from": "complete", "to": "in_review", "reason": "审核"}),
            ("王老师", {"from": "in_review", "to": "returned", "reason": "请盖章", "decision": "return"}),
            ("pipeline", {"from": "returned", "to": "incomplete", **machine, "message_id": 2, "version": 2}),
        ])  # fmt: skip
        _seed_old_case(connection, 6, "in_review", [
            ("pipeline", {"from": "received", "to": "unknown", **machine}),
            ("王老师", {"from": "unknown", "to": "in_review", "reason": "审核"}),
        ])  # fmt: skip
        # The machine's own 不予受理 (outside the window) stays a verdict.
        _seed_old_case(connection, 7, "rejected", [("pipeline", {"from": "received", "to": "rejected", **machine})])
    upgrade(engine)
    with Session(engine) as session:
        rows = {
            row.id: (row.status, row.verdict, row.decision)
            for row in session.exec(select(Submission).order_by(Submission.id)).all()  # type: ignore[arg-type]
        }
    assert rows == {
        1: ("incomplete", "incomplete", None),
        2: ("declined", "complete", "declined"),
        3: ("declined", "incomplete", "declined"),
        4: ("accepted", "complete", "accepted"),
        5: ("incomplete", "incomplete", None),
        6: ("unknown", "unknown", None),
        7: ("rejected", "rejected", None),
    }
    engine.dispose()


def test_references_are_readable_unguessable_and_found_in_subjects() -> None:
    reference = new_reference(datetime(2025, 6, 30, 16, 30, tzinfo=UTC))  # already 1 July in Shanghai
    assert reference.startswith("ZJ-2025Q3-")
    assert len({new_reference(RECEIVED) for _ in range(200)}) == 200
    assert find_reference(f"Re: 【{reference.lower()}】补充材料") == reference
    assert find_reference("回复：新职业建议书") is None
