"""The status notifier: each status change reaches each linked chat once; a refused chat is given up; a channel
that is down is tried again later; the cursor only moves forward. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tests.bot.support import NOW, decide, make_settings, make_submission, migrate
from zhengji.bot.notifier import Notifier, Undeliverable, collect
from zhengji.clock import Clock
from zhengji.settings import Settings
from zhengji.storage.db import make_engine
from zhengji.storage.models import ChatCursor, ChatLink, ChatPush, ChatPushState
from zhengji.storage.status import SubmissionStatus


class Wall:
    def __init__(self) -> None:
        self.moment = datetime(2025, 6, 21, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.moment


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url=database_url)


@pytest.fixture
def db(settings: Settings) -> Iterator[Engine]:
    engine = migrate(make_engine(settings.resolved_database_url))
    yield engine
    engine.dispose()


def link(db: Engine, submission_id: int, *chats: tuple[str, str]) -> None:
    with Session(db) as session:
        for channel, chat_id in chats:
            session.add(ChatLink(channel=channel, chat_id=chat_id, submission_id=submission_id, created_at=NOW))
        session.commit()


def test_each_change_reaches_each_linked_chat_once(db: Engine) -> None:
    wall = Wall()
    clock = Clock(NOW, real=wall)
    case = make_submission(db)
    other = make_submission(db, sender="other@example.com")
    assert collect(db, clock) == 0  # the cursor starts at the end of the log: no old news
    link(db, case.id, ("telegram", "1"), ("telegram", "2"), ("telegram", "3"), ("web", "w" * 32))
    link(db, other.id, ("telegram", "9"))

    sent: list[tuple[str, str]] = []
    flaky = {"3": 1}

    async def send(chat_id: str, text: str) -> None:
        if chat_id == "2":
            raise Undeliverable("Forbidden: bot was blocked by the user")
        if flaky.get(chat_id):
            flaky[chat_id] -= 1
            raise TimeoutError("timed out")
        sent.append((chat_id, text))

    notifier = Notifier(db, clock, {"telegram": send})
    decide(db, case, SubmissionStatus.accepted)
    asyncio.run(notifier.run_once())
    asyncio.run(notifier.run_once())  # nothing new: nothing sent again, the failed try waits for its time
    assert [chat for chat, _ in sent] == ["1"]
    assert "已受理" in sent[0][1] and case.reference in sent[0][1]
    wall.moment += timedelta(minutes=1)
    asyncio.run(notifier.run_once())
    assert sorted(chat for chat, _ in sent) == ["1", "3"]
    with Session(db) as session:
        states = {(push.channel, push.chat_id): push.state for push in session.exec(select(ChatPush)).all()}
        cursor = session.get(ChatCursor, "chat_pushes")
    assert states == {
        ("telegram", "1"): ChatPushState.sent,
        ("telegram", "2"): ChatPushState.failed,
        ("telegram", "3"): ChatPushState.sent,
        ("web", "w" * 32): ChatPushState.pending,  # the web chat takes it with its next message
    }
    assert cursor is not None and cursor.last_event_id > 0
    assert collect(db, clock) == 0


def test_a_notice_waits_in_order_for_a_chat_that_is_not_running(db: Engine) -> None:
    clock = Clock(NOW, real=Wall())
    case = make_submission(db)
    collect(db, clock)
    link(db, case.id, ("telegram", "1"))

    async def down(chat_id: str, text: str) -> None:
        raise RuntimeError("telegram is not running")

    decide(db, case, SubmissionStatus.returned, reason="请补充材料")
    asyncio.run(Notifier(db, clock, {"telegram": down}).run_once())
    with Session(db) as session:
        [push] = session.exec(select(ChatPush)).all()
    assert push.state is ChatPushState.pending and push.attempts == 1 and push.next_attempt_at is not None
    assert "请补充材料" in push.text and "已退回修改" in push.text


def test_a_notice_nobody_collects_expires_after_a_week(db: Engine) -> None:
    wall = Wall()
    clock = Clock(NOW, real=wall)
    case = make_submission(db)
    collect(db, clock)
    link(db, case.id, ("web", "w" * 32), ("telegram", "1"))
    decide(db, case, SubmissionStatus.accepted)
    notifier = Notifier(db, clock, {})  # Telegram turned off since the chat linked
    asyncio.run(notifier.run_once())
    wall.moment += timedelta(days=6)
    asyncio.run(notifier.run_once())
    with Session(db) as session:
        assert {push.state for push in session.exec(select(ChatPush)).all()} == {ChatPushState.pending}
    wall.moment += timedelta(days=2)
    asyncio.run(notifier.run_once())
    with Session(db) as session:
        assert {push.state for push in session.exec(select(ChatPush)).all()} == {ChatPushState.expired}
