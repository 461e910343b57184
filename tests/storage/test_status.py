"""The transition tables of a reply and of a chat push, and the verdicts kept in a table of their own."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from zhengji.storage.db import make_engine
from zhengji.storage.migrate import upgrade
from zhengji.storage.models import (
    AuditEvent,
    ChatPush,
    ChatPushState,
    Message,
    MessageSource,
    Reply,
    ReplyState,
    Submission,
)
from zhengji.storage.status import (
    TransitionError,
    Verdict,
    last_verdict,
    last_verdicts,
    move_pushes,
    move_replies,
    record_verdict,
)

AT = datetime(2025, 6, 21, 2, 0, tzinfo=UTC)
MISSING = {"code": "missing_document", "severity": "error", "message": "缺少《新职业信息汇总表》"}


def _case(session: Session, reference: str = "ZJ-2025Q2-000001") -> Submission:
    submission = Submission(
        reference=reference, track="new_occupation", sender="a@example.com", created_at=AT, updated_at=AT
    )
    session.add(submission)
    session.flush()
    return submission


def _reply(session: Session, state: ReplyState) -> Reply:
    message = Message(sha256="0" * 64, size=1, source=MessageSource.smtp, mailbox="yanfa312@126.com", received_at=AT)
    session.add(message)
    session.flush()
    assert message.id is not None
    reply = Reply(message_id=message.id, to_address="a@example.com", subject="回复", body="您好",
                  message_id_header="<r@zhengji>", state=state, created_at=AT)  # fmt: skip
    session.add(reply)
    session.commit()
    return reply


def test_a_sent_reply_cannot_be_put_back_to_pending(engine: Engine) -> None:
    with Session(engine) as session:
        reply = _reply(session, ReplyState.sent)
        with pytest.raises(TransitionError, match="sent → pending"):
            move_replies(session, ReplyState.sent, ReplyState.pending, col(Reply.id) == reply.id)
        session.rollback()
        session.refresh(reply)
        assert reply.state is ReplyState.sent


def test_a_refused_reply_is_final(engine: Engine) -> None:
    with Session(engine) as session:
        reply = _reply(session, ReplyState.refused)
        for after in (ReplyState.pending, ReplyState.sent, ReplyState.failed):
            with pytest.raises(TransitionError):
                move_replies(session, ReplyState.refused, after, col(Reply.id) == reply.id)


def test_a_reply_moves_once_from_where_it_was_seen(engine: Engine) -> None:
    """Compare-and-set: two senders recording the same hand-over, the second finds it no longer pending."""
    with Session(engine) as session:
        reply = _reply(session, ReplyState.pending)
        assert move_replies(session, ReplyState.pending, ReplyState.sent, col(Reply.id) == reply.id, sent_at=AT) == 1
        assert move_replies(session, ReplyState.pending, ReplyState.refused, col(Reply.id) == reply.id) == 0
        session.commit()
        session.refresh(reply)
        assert reply.state is ReplyState.sent and reply.sent_at == AT


def test_an_expired_chat_push_cannot_be_sent(engine: Engine) -> None:
    with Session(engine) as session:
        event = AuditEvent(at=AT, actor="pipeline", action="verdict", detail={})
        session.add(event)
        session.flush()
        assert event.id is not None
        push = ChatPush(channel="web", chat_id="c1", event_id=event.id, text="状态已更新",
                        state=ChatPushState.expired, created_at=AT)  # fmt: skip
        session.add(push)
        session.commit()
        with pytest.raises(TransitionError, match="expired → sent"):
            move_pushes(session, ChatPushState.expired, ChatPushState.sent, col(ChatPush.id) == push.id)
        assert move_pushes(session, ChatPushState.pending, ChatPushState.sent, col(ChatPush.id) == push.id) == 0


def test_each_verdict_is_a_row_and_the_last_one_is_read(engine: Engine) -> None:
    with Session(engine) as session:
        first, second = _case(session), _case(session, "ZJ-2025Q2-000002")
        record_verdict(session, first, Verdict.incomplete, actor="pipeline", at=AT, message_id=None, version=1,
                       findings=[MISSING], parser_version="1.0+abc")  # fmt: skip
        record_verdict(session, first, Verdict.complete, actor="王老师", action="recheck", at=AT, findings=[],
                       documents={"7": [MISSING]})  # fmt: skip
        record_verdict(session, second, Verdict.unknown, actor="pipeline", at=AT, findings=[])
        session.commit()
        latest = last_verdict(session, first.id)
        assert latest is not None
        assert (latest.verdict, latest.action, latest.findings, latest.documents) == (
            Verdict.complete, "recheck", [], {"7": [MISSING]}
        )  # fmt: skip
        assert session.exec(select(Submission.verdict).order_by(col(Submission.id))).all() == ["complete", "unknown"]
        assert first.id is not None and second.id is not None
        both = last_verdicts(session, [first.id, second.id])
        assert {key: row.verdict for key, row in both.items()} == {first.id: Verdict.complete, second.id: "unknown"}
        assert last_verdict(session, None) is None


def test_the_migration_copies_the_verdicts_of_the_audit_trail(database_url: str) -> None:
    """A case checked before 0011 reads the same findings after it: they are copied from its audit events."""
    engine = make_engine(database_url)
    upgrade(engine, "0010")
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO submissions (id, reference, track, status, verdict, sender, version, created_at, "
                "updated_at) VALUES (1, 'ZJ-2025Q2-OLD001', 'new_occupation', 'accepted', 'incomplete', "
                "'a@example.com', 2, :at, :at)"
            ),
            {"at": AT},
        )
        trail = [
            ("verdict", "pipeline", {"from": "received", "to": "incomplete", "message_id": 41, "version": 1,
                                     "findings": [MISSING]}),
            ("decision", "王老师", {"from": None, "to": "accepted", "reason": None}),
            ("recheck", "李老师", {"from": "incomplete", "to": "complete", "status": "complete", "findings": [],
                                   "documents": {"3": []}}),
            ("status", "王老师", {"from": "complete", "to": "accepted", "reason": "审核"}),  # a decision before 0008
        ]  # fmt: skip
        for action, actor, detail in trail:
            connection.execute(
                sa.text(
                    "INSERT INTO audit_events (at, actor, action, submission_id, detail) "
                    "VALUES (:at, :actor, :action, 1, :detail)"
                ),
                {"at": AT, "actor": actor, "action": action, "detail": json.dumps(detail, ensure_ascii=False)},
            )
    upgrade(engine)
    with Session(engine) as session:
        latest = last_verdict(session, 1)
        assert latest is not None
        assert (latest.verdict, latest.actor, latest.findings, latest.documents) == (
            Verdict.complete, "李老师", [], {"3": []}
        )  # fmt: skip
        copied = session.exec(select(AuditEvent.action).where(col(AuditEvent.id).in_([1, 3]))).all()
        assert copied == ["verdict", "recheck"]
        rows = session.exec(sa.text("SELECT verdict, message_id, version FROM verdicts ORDER BY id")).all()  # type: ignore[call-overload]
        # The mail the first event names is not stored: the verdict is kept without it.
        assert [tuple(row) for row in rows] == [("incomplete", None, 1), ("complete", None, None)]
    engine.dispose()
