"""Issue 18: a chat's answers that only read (its status, its notices, whether it waits for a code) and the code
mail sender's look at its queue are not held up by a writer: a code request, the sender's claim, the mail
pipeline or another process holding SQLite's one write lock.

Each test holds that lock from a connection of its own, as another process would, with the service's engine
told not to wait for a lock (``busy_timeout=0``): a read that still took the lock would fail at once with
"database is locked" instead of sleeping in SQLite's busy handler, as it did in a burst of chats.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from tests.bot.support import make_settings, make_submission, migrate
from zhengji.bot.codemail import OutboxMailer
from zhengji.bot.conversation import Chat
from zhengji.bot.core import Bot
from zhengji.bot.links import Desk
from zhengji.clock import Clock
from zhengji.settings import Settings
from zhengji.storage.db import make_engine
from zhengji.storage.models import ChatLink


def _no_waiting(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA busy_timeout=0")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def db(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings.resolved_database_url)
    event.listen(engine, "connect", _no_waiting)  # after the engine's own pragmas
    yield migrate(engine)
    engine.dispose()


@pytest.fixture
def linked(db: Engine, settings: Settings) -> tuple[Bot, Chat, str]:
    """A bot, a chat linked to a submission, and the submission's reference."""
    case = make_submission(db)
    chat = Chat("web", "reader-chat-id-of-thirty-two-chars")
    clock = Clock(settings.now)
    with Session(db) as session:
        session.add(ChatLink(channel=chat.channel, chat_id=chat.id, submission_id=case.id, created_at=clock.machine()))
        session.commit()
    return Bot(clock=clock, desk=Desk(db, settings, mailer=OutboxMailer(settings), clock=clock)), chat, case.reference


@pytest.fixture
def lock_held(settings: Settings, linked: tuple[Bot, Chat, str]) -> Iterator[sqlite3.Connection]:
    """Another process's write transaction, open for the length of the test (begun once the data is there)."""
    path = settings.resolved_database_url.removeprefix("sqlite:///")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("UPDATE submissions SET version = version")
    yield other
    other.execute("ROLLBACK")
    other.close()


def test_a_linked_chat_gets_its_status_while_another_writer_holds_the_lock(
    linked: tuple[Bot, Chat, str], lock_held: sqlite3.Connection
) -> None:
    bot, chat, reference = linked
    answer = bot.answer(chat, "/status")
    assert f"申报编号 {reference}" in answer.text and "当前状态" in answer.text


def test_a_public_question_of_a_new_chat_is_answered_while_another_writer_holds_the_lock(
    linked: tuple[Bot, Chat, str], lock_held: sqlite3.Connection
) -> None:
    """A new chat's notices are looked for with each answer; that look must not wait for the lock either."""
    bot, _, _ = linked
    new = Chat("web", "a-new-chat-id-of-thirty-two-chars-x")
    answer = bot.answer(new, "你好")
    assert answer.text and answer.notices == ()
    assert bot.desk is not None and bot.desk.has_pending_code(new) is False


def test_the_code_mail_sender_looks_at_its_queue_while_another_writer_holds_the_lock(
    linked: tuple[Bot, Chat, str], lock_held: sqlite3.Connection
) -> None:
    bot, _, _ = linked
    assert bot.desk is not None
    assert bot.desk.mailer.flush(timeout=1.0) is True  # nothing due, read without waiting for the lock


def test_a_code_request_still_takes_the_lock_before_it_reads(
    linked: tuple[Bot, Chat, str], lock_held: sqlite3.Connection
) -> None:
    """The writers keep ``BEGIN IMMEDIATE``: a code request reads its counters and then writes them, and must
    not read counters that another request is about to change (here it fails at once, as told not to wait)."""
    bot, _, reference = linked
    assert bot.desk is not None
    with pytest.raises(OperationalError, match="locked"):
        bot.desk.request_code(Chat("web", "another-chat-id-of-thirty-two-chars"), [reference], [])
