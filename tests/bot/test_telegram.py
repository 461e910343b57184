"""Telegram end to end: python-telegram-bot's real ``Application``, started by the bot component of
``zhengji serve`` with the manual lifecycle, long polling a local server that speaks the Bot API.

An applicant's chat asks public questions with every command and in free text, binds to a submission with the
code read from the Maildir outbox, and is told of a reviewer's decision by a pushed message.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.bot.support import (
    SENDER,
    RunningService,
    code_in,
    decide,
    make_settings,
    make_submission,
    migrate,
    outbox_mails,
    wait_for,
)
from tests.bot.telegram_server import BotAPI, BotAPIServer
from zhengji.bot.channels.telegram import split
from zhengji.bot.component import BotComponent
from zhengji.storage.db import make_engine
from zhengji.storage.status import SubmissionStatus

TOKEN = "7000000001:AAF-zhengji-test-token-0123456789"
CHAT = 424242


def _ask(api: BotAPI, text: str, expect: str, chat: int = CHAT) -> str:
    """Send ``text`` as the user and wait for the bot's reply holding ``expect``."""
    before = len(api.messages_to(chat))
    api.say(chat, text)

    def replied() -> str | None:
        for message in api.messages_to(chat)[before:]:
            if expect in message:
                return message
        return None

    return str(wait_for(replied, message=f"a reply to {text!r} with {expect!r}"))


def test_telegram_end_to_end(tmp_path: Path) -> None:
    api = BotAPI(TOKEN)
    with BotAPIServer(api) as server:
        settings = make_settings(tmp_path, telegram_token=TOKEN, telegram_api_url=server.url)
        engine = migrate(make_engine(settings.resolved_database_url))
        case = make_submission(engine)
        with RunningService([BotComponent(settings, engine)]):
            wait_for(lambda: "getUpdates" in api.calls, message="long polling")
            assert api.calls[:2] == ["getMe", "deleteWebhook"]

            assert "/bind" in _ask(api, "/start", "您好")
            assert "/unbind" in _ask(api, "/help", "/status")
            assert "还剩 9 天" in _ask(api, "/window 新职业", "2025年6月20日至6月30日")
            assert "4-04-05-05" in _ask(api, "/eligible 4-4-5-5", "人工智能训练师")
            assert "PDF版和WORD版" in _ask(api, "/materials 新职业", "新职业信息建议书")
            assert "4-04-05-05" in _ask(api, "人工智能训连师能报吗", "按“人工智能训练师”理解")
            assert "材料需补正" not in _ask(api, "/status", "尚未关联")

            _ask(api, f"/bind {case.reference}", "验证码已发送")
            mail = wait_for(lambda: outbox_mails(settings), message="the code mail")[0]
            assert mail["To"] == SENDER
            linked = _ask(api, code_in(mail), "验证成功")
            assert case.reference in linked and "材料需补正" in linked and "缺少：新职业定义" in linked

            decide(engine, case, SubmissionStatus.accepted)
            notice = wait_for(
                lambda: [text for text in api.messages_to(CHAT) if "当前状态为“已受理”" in text],
                message="the pushed notice",
            )[0]
            assert notice.startswith("【进度通知】") and case.reference in notice
            assert "已受理" in _ask(api, "/status", "审核结论")

            assert "已解除" in _ask(api, "/unbind", case.reference)
            api.say(-1001, "/status", private=False)  # a group: a status must never be shown there
            _ask(api, "谢谢", "不客气")
            assert api.messages_to(-1001) == []
        engine.dispose()
    assert api.content_types == {"application/x-www-form-urlencoded"}


def test_the_component_keeps_trying_when_the_bot_api_is_unreachable(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(tmp_path, telegram_token=TOKEN, telegram_api_url="http://127.0.0.1:9")
    engine = migrate(make_engine(settings.resolved_database_url))
    component = BotComponent(settings, engine)
    with caplog.at_level(logging.WARNING, logger="zhengji.bot"), RunningService([component]) as service:
        wait_for(lambda: "telegram could not start" in caplog.text, message="a failed start, logged")
        assert service.error is None and service.thread.is_alive()
    engine.dispose()


def test_long_answers_are_split_at_line_ends() -> None:
    text = "\n".join(f"第 {number} 行：申报材料须同时提交PDF版和WORD版。" for number in range(400))
    parts = split(text)
    assert len(parts) > 1 and all(len(part) <= 4096 for part in parts)
    assert "\n".join(parts) == text
    assert split("x" * 5000) == ["x" * 4096, "x" * 904]
