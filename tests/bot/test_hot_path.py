"""Issue 18 (200 chats at once, one in ten asking a code): what every answer and every code request repeated is
done once, and what is remembered never outlives the day, the period asked about or the data it came from."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from tests.bot.support import NOW, code_in, make_settings, make_submission, migrate, outbox_mails
from zhengji.bot import faq
from zhengji.bot.asof import answering
from zhengji.bot.codemail import OutboxMailer
from zhengji.bot.conversation import Chat
from zhengji.bot.links import Desk
from zhengji.clock import Clock, parse_instant
from zhengji.notices.registry import Track
from zhengji.settings import Settings
from zhengji.storage.db import make_engine
from zhengji.storage.models import Message

GUANGDONG_MAILBOX = "jnzx_zzyfk@gd.gov.cn"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def db(settings: Settings) -> Iterator[Engine]:
    engine = migrate(make_engine(settings.resolved_database_url))
    yield engine
    engine.dispose()


@pytest.fixture
def desk(db: Engine, settings: Settings) -> Desk:
    return Desk(db, settings, mailer=OutboxMailer(settings), clock=Clock(settings.now))


def web(name: str) -> Chat:
    return Chat("web", f"{name}-chat-id-of-thirty-two-chars")


def written(db: Engine, request: object) -> list[str]:
    """The verbs of the statements ``request()`` ran."""
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement.split(None, 1)[0].upper())

    event.listen(db, "before_cursor_execute", seen)
    try:
        request()  # type: ignore[operator]
    finally:
        event.remove(db, "before_cursor_execute", seen)
    return statements


def test_a_chats_first_code_puts_out_no_earlier_code_and_its_second_does(
    desk: Desk, db: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chat that holds no code has none to put out: its first request runs no UPDATE; a second one still puts
    the first code out (it no longer links the chat)."""
    monkeypatch.setattr(desk.mailer, "queued", lambda: None)
    case = make_submission(db)
    chat = web("first")
    desk.request_code(chat, [], [])  # asks for a reference: touches nothing
    first = written(db, lambda: desk.request_code(chat, [case.reference], []))
    assert "UPDATE" not in first and first.count("INSERT") == 3, first  # the code, its mail, the counters
    second = written(db, lambda: desk.request_code(chat, [case.reference], []))
    assert second.count("UPDATE") == 2, second  # the earlier code and its queued mail
    assert desk.mailer.send_due() == 1  # the first code's mail was put out with it
    assert "验证成功" in desk.verify(chat, code_in(outbox_mails(settings)[0]))


def test_the_code_comes_from_the_mailbox_the_case_was_sent_to(desk: Desk, db: Engine, settings: Settings) -> None:
    """Read in the same query as the submission: a Guangdong case's code comes from Guangdong's mailbox, in the
    name of its center (the applicant knows that address)."""
    case = make_submission(db, track="gd_new_occupation", notice="粤人社函〔2026〕159号")
    with Session(db) as session:
        session.exec(
            update(Message).where(col(Message.submission_id) == case.id).values(envelope_to=[GUANGDONG_MAILBOX])
        )
        session.commit()
    desk.request_code(web("gd"), [case.reference], [])
    (mail,) = outbox_mails(settings)
    assert mail["From"].addresses[0].addr_spec == GUANGDONG_MAILBOX
    assert mail["From"].addresses[0].display_name != "上海市职业技能鉴定中心"


def test_the_clauses_quoted_follow_the_day_and_the_period_asked() -> None:
    """The sources a topic is answered from are remembered by day and pins: 2024's question is 319号's words,
    2025's is 76号's, whichever was asked first."""
    topic = faq.load_faq().topic("scope")
    tracks = [Track.skill_level_occupation]
    with answering(NOW):
        in_2025 = {source.notice for source in faq.sources_for(topic, tracks)}
    with answering(parse_instant("2024-10-15T10:00:00+08:00")):
        in_2024 = {source.notice for source in faq.sources_for(topic, tracks)}
    with answering(NOW, {Track.skill_level_occupation: "sh-2024-319"}):
        pinned = {source.notice for source in faq.sources_for(topic, tracks)}
    assert in_2025 == {"sh-2025-76"} and in_2024 == pinned == {"sh-2024-319"}


def test_reloaded_clauses_are_not_served_from_the_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """A reload of the FAQ (a new object) empties what :func:`zhengji.bot.faq.sources_for` remembers."""
    tracks = [Track.skill_level_occupation]
    with answering(NOW):
        before = faq.sources_for(faq.load_faq().topic("scope"), tracks)
        faq.load_faq.cache_clear()
        reloaded = faq.load_faq().topic("scope")
        after = faq.sources_for(reloaded, tracks)
    assert [source.notice for source in after] == [source.notice for source in before]
    assert all(any(source is own for own in reloaded.sources) for source in after)
