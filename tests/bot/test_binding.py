"""Status is private: the mailbox proof, its limits, and what a linked chat learns — on SQLite and PostgreSQL.

Each test drives the core as a channel does (``Bot.answer``), reads the code from the real Maildir outbox the
replies go to, and checks the database where a user could not.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from tests.bot.support import SENDER, Case, code_in, decide, make_settings, make_submission, migrate, outbox_mails
from zhengji.bot.codemail import OutboxMailer
from zhengji.bot.conversation import Chat
from zhengji.bot.core import Bot
from zhengji.bot.links import Desk
from zhengji.bot.notifier import collect
from zhengji.clock import Clock
from zhengji.settings import Settings
from zhengji.storage.db import make_engine
from zhengji.storage.models import AuditEvent, ChatCode, ChatLink
from zhengji.storage.status import SubmissionStatus

START = datetime(2025, 6, 21, 2, 0, tzinfo=UTC)


class Wall:
    """The real clock of the machinery, moved by the test (the business clock stays at ``NOW``)."""

    def __init__(self) -> None:
        self.moment = START

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url=database_url)


@pytest.fixture
def db(settings: Settings) -> Iterator[Engine]:
    engine = migrate(make_engine(settings.resolved_database_url))
    yield engine
    engine.dispose()


@pytest.fixture
def wall() -> Wall:
    return Wall()


@pytest.fixture
def bot(db: Engine, settings: Settings, wall: Wall) -> Bot:
    clock = Clock(settings.now, real=wall)
    return Bot(clock=clock, desk=Desk(db, settings, mailer=OutboxMailer(settings), clock=clock))


def web(name: str) -> Chat:
    return Chat("web", f"{name}-chat-id-of-thirty-two-chars"[:40])


def mails_to(settings: Settings, address: str) -> list[str]:
    return [code_in(mail) for mail in outbox_mails(settings) if mail["To"] == address]


def test_binding_links_the_chat_after_the_mailed_code_and_shows_the_status(
    bot: Bot, db: Engine, settings: Settings
) -> None:
    case = make_submission(db)
    chat = web("a")
    asked = bot.answer(chat, f"绑定 {case.reference.lower()}")
    assert "验证码已发送至该申报材料的发件邮箱" in asked.text
    assert "材料需补正" not in asked.text
    [mail] = outbox_mails(settings)
    assert mail["To"] == SENDER
    assert mail["From"].addresses[0].addr_spec == "yanfa312@126.com"  # the mailbox the applicant wrote to
    assert mail["Auto-Submitted"] == "auto-generated"
    code = code_in(mail)
    body = mail.get_body()
    assert body is not None and case.reference in body.get_content()

    answer = bot.answer(chat, code)
    assert "验证成功" in answer.text
    for fact in (case.reference, "新职业征集", "材料需补正", "新职业信息建议书.docx", "新职业信息建议书.pdf",
                 "缺少：新职业定义", "缺少《新职业汇总表》（附件2）", "下一步", "6月30日截止"):  # fmt: skip
        assert fact in answer.text, answer.text
    assert "未能定位" not in answer.text  # zhengji's own blind spot is never the applicant's problem
    with Session(db) as session:
        [link] = session.exec(select(ChatLink)).all()
        assert (link.channel, link.chat_id, link.submission_id) == (chat.channel, chat.id, case.id)
        actions = session.exec(select(AuditEvent.action).where(AuditEvent.submission_id == case.id)).all()
        assert "chat_linked" in actions
    assert case.reference in bot.answer(chat, "我的材料进度怎么样了").text


def test_the_code_is_stored_only_as_a_hash(bot: Bot, db: Engine, settings: Settings) -> None:
    case = make_submission(db)
    bot.answer(web("a"), f"/bind {case.reference}")
    code = mails_to(settings, SENDER)[0]
    with Session(db) as session:
        [row] = session.exec(select(ChatCode)).all()
        stored = " ".join(str(value) for value in row.model_dump().values())
    assert code not in stored
    assert len(row.code_hash) == 64


def test_a_reference_alone_reveals_nothing(bot: Bot, db: Engine, settings: Settings) -> None:
    case = make_submission(db)
    known = bot.answer(web("a"), f"绑定 {case.reference}").text
    unknown_reference = "ZJ-2025Q2-XXXXXX" if case.reference != "ZJ-2025Q2-XXXXXX" else "ZJ-2025Q2-YYYYYY"
    unknown = bot.answer(web("b"), f"绑定 {unknown_reference}").text
    assert known.replace(case.reference, "REF") == unknown.replace(unknown_reference, "REF")
    assert len(outbox_mails(settings)) == 1  # the unknown reference mailed nobody
    status = bot.answer(web("c"), f"{case.reference} 的审核结果是什么").text
    assert "材料需补正" not in status and "新职业信息建议书" not in status and SENDER not in status


def test_five_wrong_codes_use_the_code_up(bot: Bot, db: Engine, settings: Settings) -> None:
    case = make_submission(db)
    chat = web("a")
    bot.answer(chat, f"绑定 {case.reference}")
    code = mails_to(settings, SENDER)[0]
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for remaining in (4, 3, 2, 1):
        assert f"还可尝试 {remaining} 次" in bot.answer(chat, wrong).text
    assert "已达到最多尝试次数" in bot.answer(chat, wrong).text
    assert "验证成功" not in bot.answer(chat, code).text
    with Session(db) as session:
        assert session.exec(select(ChatLink)).all() == []


def test_a_code_is_valid_for_fifteen_minutes(bot: Bot, db: Engine, settings: Settings, wall: Wall) -> None:
    case = make_submission(db)
    late, in_time = web("late"), web("in-time")
    bot.answer(late, f"绑定 {case.reference}")
    bot.answer(in_time, f"绑定 {case.reference}")
    first, second = mails_to(settings, SENDER)
    wall.advance(minutes=14, seconds=59)
    assert "验证成功" in bot.answer(in_time, second).text
    wall.advance(seconds=2)
    assert "已过期" in bot.answer(late, first).text


def test_a_new_code_replaces_the_old_one(bot: Bot, db: Engine, settings: Settings) -> None:
    case = make_submission(db)
    chat = web("a")
    bot.answer(chat, f"绑定 {case.reference}")
    bot.answer(chat, f"绑定 {case.reference}")
    old, new = mails_to(settings, SENDER)
    if old != new:
        assert "验证成功" not in bot.answer(chat, old).text
    assert "验证成功" in bot.answer(chat, new).text


def test_code_requests_are_limited_per_chat(bot: Bot, db: Engine, settings: Settings, wall: Wall) -> None:
    case = make_submission(db)
    chat = web("a")
    for _ in range(3):
        assert "验证码已发送" in bot.answer(chat, f"绑定 {case.reference}").text
    refused = bot.answer(chat, f"绑定 {case.reference}").text
    assert "过于频繁" in refused
    assert len(outbox_mails(settings)) == 3
    wall.advance(hours=1)
    assert "验证码已发送" in bot.answer(chat, f"绑定 {case.reference}").text
    assert len(outbox_mails(settings)) == 4


def test_code_requests_are_limited_per_submission_without_telling(
    bot: Bot, db: Engine, settings: Settings, wall: Wall
) -> None:
    case = make_submission(db)
    answers = [bot.answer(web(f"chat{number}"), f"绑定 {case.reference}").text for number in range(4)]
    assert len(set(answers)) == 1  # the fourth chat is told the same, so the limit shows nothing
    assert len(outbox_mails(settings)) == 3
    wall.advance(hours=1)
    bot.answer(web("chat9"), f"绑定 {case.reference}")
    assert len(outbox_mails(settings)) == 4


def test_code_requests_are_limited_per_address(bot: Bot, db: Engine, settings: Settings) -> None:
    cases = [make_submission(db) for _ in range(2)]
    for number in range(6):
        bot.answer(web(f"chat{number}"), f"绑定 {cases[number % 2].reference}")
    assert len(outbox_mails(settings)) == 5


def test_binding_by_address_links_every_submission_of_it(bot: Bot, db: Engine, settings: Settings) -> None:
    first, second = (
        make_submission(db),
        make_submission(db, track="skill_level_occupation", notice="沪人社职〔2025〕76号"),
    )
    make_submission(db, sender="other@example.com")
    chat = web("a")
    assert "验证码已发送至该邮箱" in bot.answer(chat, f"绑定 {SENDER.upper()}").text
    answer = bot.answer(chat, mails_to(settings, SENDER)[0]).text
    assert first.reference in answer and second.reference in answer
    with Session(db) as session:
        linked = set(session.exec(select(ChatLink.submission_id)).all())
    assert linked == {first.id, second.id}
    assert "验证码已发送" in bot.answer(web("b"), "绑定 nobody@example.com").text
    assert [mail["To"] for mail in outbox_mails(settings)] == [SENDER]


def test_a_guessable_web_chat_cannot_bind(bot: Bot, db: Engine, settings: Settings) -> None:
    case = make_submission(db)
    assert "无法确保只有您本人可用" in bot.answer(Chat("web", "1"), f"绑定 {case.reference}").text
    assert outbox_mails(settings) == []


def _linked(bot: Bot, settings: Settings, chat: Chat, case: Case) -> None:
    bot.answer(chat, f"绑定 {case.reference}")
    code = mails_to(settings, SENDER)[-1]
    assert "验证成功" in bot.answer(chat, code).text


def test_a_status_change_reaches_a_linked_chat_once(bot: Bot, db: Engine, settings: Settings, wall: Wall) -> None:
    case = make_submission(db)
    chat, stranger = web("a"), web("stranger")
    collect(db, bot.clock)  # the notifier starts from the log as it is
    _linked(bot, settings, chat, case)
    decide(db, case, SubmissionStatus.returned, reason="请补充用人单位的从业情况说明")
    assert collect(db, bot.clock) == 1  # in review and returned at once: the decision is told, once
    answer = bot.answer(chat, "你好").text
    assert answer.index("【进度通知】") < answer.index("您好")
    assert "当前状态为“审核中”" not in answer
    assert "当前状态为“已退回修改”" in answer and "请补充用人单位的从业情况说明" in answer
    assert "【进度通知】" not in bot.answer(chat, "你好").text  # delivered once
    assert "【进度通知】" not in bot.answer(stranger, "你好").text
    status = bot.answer(chat, "/status").text
    assert "已退回修改" in status and "请补充用人单位的从业情况说明" in status


def test_a_reviewers_rejection_is_told_with_the_reviewers_reason(bot: Bot, db: Engine, settings: Settings) -> None:
    """Issue 15: the staff desk's 不予受理 is a person's decision (``declined``), told with its reason, and never as
    the machine's "send it to the right mailbox"; a later re-check does not turn it back."""
    from sqlalchemy import update

    from zhengji.mailbox.pipeline import Pipeline
    from zhengji.review import decisions
    from zhengji.storage.models import Message, MessageState, Submission
    from zhengji.storage.status import Verdict, record_verdict

    case = make_submission(db)
    chat = web("a")
    collect(db, bot.clock)
    _linked(bot, settings, chat, case)
    with Session(db) as session:  # the case's mail was answered, as the pipeline leaves it
        session.exec(update(Message).where(col(Message.submission_id) == case.id).values(state=MessageState.replied))
        submission = session.get(Submission, case.id)
        assert submission is not None
        decisions.decide(session, Pipeline(db, settings), submission, "reject", "经核对，该职业已收录于职业分类大典。",
                         actor="王老师")  # fmt: skip
        session.commit()
    with Session(db) as session:  # another reviewer's correction re-checks the case
        submission = session.get(Submission, case.id)
        assert submission is not None
        record_verdict(session, submission, Verdict.complete, actor="李老师", action="recheck", detail={"findings": []})
        session.commit()
    assert collect(db, bot.clock) == 1  # the decision; the re-check changed nothing the chat sees
    notice = bot.answer(chat, "你好").text
    assert "当前状态为“经审核不予受理”" in notice and "该职业已收录于职业分类大典" in notice
    status = bot.answer(chat, "/status").text
    assert "经审核不予受理" in status and "该职业已收录于职业分类大典" in status
    assert "正确的邮箱" not in status and "正确的受理时间" not in status


def test_the_status_after_a_notice_is_never_older_than_the_notice(bot: Bot, db: Engine, settings: Settings) -> None:
    """The answer remembered while the applicant waited must not outlive a status change, however soon they ask
    again (the real clock stands still here: no cache window may hide the change)."""
    case = make_submission(db)
    chat = web("a")
    collect(db, bot.clock)
    _linked(bot, settings, chat, case)
    assert "材料需补正" in bot.answer(chat, "/status").text  # remembered
    decide(db, case, SubmissionStatus.accepted)
    assert collect(db, bot.clock) == 1
    answer = bot.answer(chat, "/status").text
    assert "当前状态为“已受理”" in answer
    assert "已受理" in answer.split("【进度通知】")[-1] and "材料需补正" not in answer.split("【进度通知】")[-1]


def test_unlinking_ends_status_and_notices(bot: Bot, db: Engine, settings: Settings, wall: Wall) -> None:
    case = make_submission(db)
    chat = web("a")
    collect(db, bot.clock)
    _linked(bot, settings, chat, case)
    assert f"已解除本会话与申报编号 {case.reference} 的关联" in bot.answer(chat, "解绑").text
    decide(db, case, SubmissionStatus.accepted)
    assert collect(db, bot.clock) == 0
    wall.advance(seconds=1)
    answer = bot.answer(chat, "查询进度").text
    assert "尚未关联" in answer and "已受理" not in answer
    with Session(db) as session:
        assert session.exec(select(ChatLink)).all() == []
        events = session.exec(select(AuditEvent.action).where(col(AuditEvent.submission_id) == case.id)).all()
        assert "chat_unlinked" in events
    assert "无需解绑" in bot.answer(chat, "解绑").text


def test_the_first_hour_of_a_day_allows_as_many_codes_as_any_other(
    bot: Bot, db: Engine, settings: Settings, wall: Wall
) -> None:
    """The hour and the day that start at the same instant are two counters: a request in the first hour of a
    (UTC) day is counted once in each, not twice in one row shared by both (which refused the third request)."""
    wall.moment = datetime(2025, 6, 21, 0, 10, tzinfo=UTC)
    case = make_submission(db)
    chat = web("a")
    for _ in range(3):
        assert "验证码已发送" in bot.answer(chat, f"绑定 {case.reference}").text
    assert "过于频繁" in bot.answer(chat, f"绑定 {case.reference}").text
    assert len(outbox_mails(settings)) == 3


def test_a_code_request_is_one_short_transaction(
    bot: Bot, db: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 18: the code, its counters and its queued mail are written by a handful of statements and one
    commit (the ORM version ran 36 statements: a SELECT and an UPDATE or SAVEPOINT per counter and limit)."""
    from sqlalchemy import event

    desk = bot.desk
    assert desk is not None
    monkeypatch.setattr(desk.mailer, "queued", lambda: None)  # the sender's own transactions come after
    case = make_submission(db)
    chat = web("a")
    statements: list[str] = []
    commits: list[bool] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement.split(None, 1)[0].upper())

    def committed(_conn: object) -> None:
        commits.append(True)

    event.listen(db, "before_cursor_execute", seen)
    event.listen(db, "commit", committed)
    try:
        assert "验证码已发送" in desk.request_code(chat, [case.reference], [])
    finally:
        event.remove(db, "before_cursor_execute", seen)
        event.remove(db, "commit", committed)
    writes = [statement for statement in statements if statement in {"INSERT", "UPDATE", "DELETE"}]
    assert len(commits) == 1
    # the counters (one upsert), the earlier codes and mails expired, the code, its mail, the old rows' tidying
    assert len(writes) <= 9 and len(statements) <= 14, statements
    assert desk.mailer.send_due() == 1 and len(outbox_mails(settings)) == 1


def test_the_sender_hands_over_a_burst_of_code_mails_in_two_commits(
    bot: Bot, db: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 18: the sender claims every mail due in one commit and records how each went in one more, instead of
    two commits a mail, each of which the burst's code requests waited for; the mails it writes are the ones
    queued, byte for byte in their headers (the center's name, the subject, UTF-8 body, automatic)."""
    from sqlalchemy import event

    desk = bot.desk
    assert desk is not None
    monkeypatch.setattr(desk.mailer, "queued", lambda: None)
    cases = [make_submission(db, sender=f"burst{number}@example.com") for number in range(3)]
    for number, case in enumerate(cases):
        assert "验证码已发送" in desk.request_code(web(f"burst{number}"), [case.reference], [])
    commits: list[bool] = []

    def committed(_conn: object) -> None:
        commits.append(True)

    event.listen(db, "commit", committed)
    try:
        assert desk.mailer.send_due() == 3
    finally:
        event.remove(db, "commit", committed)
    assert len(commits) == 2
    mails = outbox_mails(settings)
    assert sorted(str(mail["To"]) for mail in mails) == [f"burst{number}@example.com" for number in range(3)]
    for mail in mails:
        assert mail["From"].addresses[0].display_name == "上海市职业技能鉴定中心"
        assert mail["Subject"] == "【身份验证】申报进度查询验证码"
        assert mail["Date"] and mail["Message-ID"] and mail["Auto-Submitted"] == "auto-generated"
        assert mail.get_content_charset() == "utf-8" and len(code_in(mail)) == 6
    assert desk.mailer.send_due() == 0 and len(outbox_mails(settings)) == 3  # nothing sent twice
