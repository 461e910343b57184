"""Issue 18: a burst of chats asking the same questions reads each question once (zhengji.bot.memo), and what is
remembered never stands in for an answer it is not: a new day, another dialogue state, another question or
reloaded data give the answer a bot that remembers nothing gives."""

from __future__ import annotations

from datetime import datetime

import pytest

from zhengji.bot import core
from zhengji.bot.conversation import Chat
from zhengji.bot.core import Bot
from zhengji.bot.memo import Memo
from zhengji.clock import Clock, parse_instant

SUMMER = parse_instant("2025-06-21T10:00:00+08:00")
AUTUMN = parse_instant("2025-09-22T10:00:00+08:00")


def fresh(moment: datetime, *turns: str) -> str:
    """The answer to the last of ``turns`` from a bot that remembers nothing, in one chat."""
    bot = Bot(clock=Clock(moment))
    chat = Chat("cli", "fresh")
    return [bot.answer(chat, text).text for text in turns][-1]


def test_a_question_is_read_once_however_many_chats_ask_it(monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[str] = []
    understand = core.understand

    def counted(message: str) -> core.Understanding:
        reads.append(message)
        return understand(message)

    monkeypatch.setattr(core, "understand", counted)
    bot = Bot(clock=Clock(SUMMER))
    answers = {bot.answer(Chat("web", f"chat-{number}"), "新职业什么时候截止").text for number in range(20)}
    assert reads == ["新职业什么时候截止"] and len(answers) == 1


def test_a_new_day_gives_a_fresh_answer() -> None:
    bot = Bot(clock=Clock(SUMMER))
    chat = Chat("cli", "a")
    summer = bot.answer(chat, "新职业什么时候截止").text
    assert summer == fresh(SUMMER, "新职业什么时候截止")
    bot.clock = Clock(AUTUMN)  # the same remembered reading, another business day
    autumn = bot.answer(chat, "新职业什么时候截止").text
    assert autumn == fresh(AUTUMN, "新职业什么时候截止") and autumn != summer


def test_another_dialogue_state_or_question_gives_a_fresh_answer() -> None:
    bot = Bot(clock=Clock(SUMMER))
    shanghai, guangdong = Chat("cli", "sh"), Chat("cli", "gd")
    bot.answer(shanghai, "新职业征集什么时候截止")
    bot.answer(guangdong, "广州的公司申报新职业什么时候截止")
    after_shanghai = bot.answer(shanghai, "那材料呢").text  # the same text, read once, in two states
    after_guangdong = bot.answer(guangdong, "那材料呢").text
    assert after_shanghai == fresh(SUMMER, "新职业征集什么时候截止", "那材料呢")
    assert after_guangdong == fresh(SUMMER, "广州的公司申报新职业什么时候截止", "那材料呢")
    assert after_shanghai != after_guangdong
    other = bot.answer(Chat("cli", "x"), "社评组织的申报渠道是什么").text
    assert other == fresh(SUMMER, "社评组织的申报渠道是什么") and other != after_shanghai


def test_reloaded_data_empties_the_memory() -> None:
    data: list[object] = [object()]
    memo: Memo[str] = Memo(data=lambda: tuple(data))
    assert memo.get("key", lambda: "old") == "old"
    assert memo.get("key", lambda: "new") == "old"  # remembered while the data is the same objects
    data[0] = object()  # a loader's cache cleared: new objects, maybe new facts
    assert memo.get("key", lambda: "new") == "new"


def test_the_memory_is_bounded() -> None:
    memo: Memo[int] = Memo(size=2, data=lambda: ())
    for number in range(5):
        memo.get(number, lambda number=number: number)  # type: ignore[misc]
    assert len(memo) == 2 and memo.get(0, lambda: -1) == -1
