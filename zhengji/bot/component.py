"""The bot's part of ``zhengji serve``: the status notifier always, Telegram when a token is set.

The web chat and the WeChat callback are routes of the web server (``zhengji.bot.channels.web.chat_router``);
this component runs what lives beside them in the service's event loop. Telegram is started with the manual
``Application`` lifecycle; when the Bot API cannot be reached (a network that blocks it, a wrong token) the
component says so in the log and tries again with growing waits, without stopping the rest of the service.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from zhengji.bot.notifier import Notifier, Sender
from zhengji.bot.runtime import BotRuntime
from zhengji.settings import Settings

if TYPE_CHECKING:
    from zhengji.bot.channels.telegram import TelegramChannel

log = logging.getLogger("zhengji.bot")

FIRST_RETRY_SECONDS = 5.0
MAX_RETRY_SECONDS = 300.0


# One question of each kind an applicant asks, so that every table an answer reads is loaded before the first chat.
WARM_QUESTIONS = (
    "人工智能训练师能报吗",
    "新职业建议书什么时候截止",
    "社评组织要交哪些材料",
    "发哪个邮箱",
    "廣東的新職業怎麼申報",
    "where to send the form",
    "我的材料审到哪一步了",
    "319号和76号有什么区别",
    "谢谢",
)


def warm_up() -> None:
    """Load every table an answer reads, then put what was loaded out of the garbage collector's sight.

    The first question would otherwise wait a second for the dictionaries (jieba, OpenCC, pypinyin, the catalog,
    the notices). And a full collection that walks those long-lived tables takes 80–110 ms on a loaded 2-core
    machine, which falls on whichever answers wait at that moment: in a burst of 200 chats it was the p99.
    Frozen (``gc.freeze``), collections see only what the answers themselves allocate. The warm-up bot has no
    desk, so nothing is written and no chat is bound.
    """
    from zhengji.bot.conversation import Chat
    from zhengji.bot.core import Bot

    bot = Bot()
    chat = Chat("web", "warm-up")
    for text in WARM_QUESTIONS:
        bot.answer(chat, text)
    gc.collect()
    gc.freeze()


class BotComponent:
    name = "bot"

    def __init__(self, settings: Settings, engine: Engine | None = None) -> None:
        self.settings = settings
        self.runtime = BotRuntime(settings, engine)
        self.telegram: TelegramChannel | None = None
        if settings.telegram_token is not None:
            from zhengji.bot.channels.telegram import TelegramChannel

            self.telegram = TelegramChannel(
                self.runtime, settings.telegram_token.get_secret_value(), settings.telegram_api_url
            )

    async def run(self, stop: asyncio.Event) -> None:
        senders: dict[str, Sender] = {}
        if self.telegram is not None:
            senders["telegram"] = self.telegram.send
        notifier = Notifier(self.runtime.engine, self.runtime.clock, senders)
        tasks = [
            asyncio.create_task(notifier.run(stop), name="bot-notifier"),
            # Before the first chat: the dictionaries loaded, and out of the collector's sight (warm_up).
            asyncio.create_task(self.runtime.run(warm_up), name="bot-warm-up"),
        ]
        if self.telegram is not None:
            tasks.append(asyncio.create_task(self._run_telegram(stop), name="bot-telegram"))
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.to_thread(self.runtime.close)

    async def _run_telegram(self, stop: asyncio.Event) -> None:
        assert self.telegram is not None
        wait = FIRST_RETRY_SECONDS
        started = False
        try:
            while not stop.is_set() and not started:
                try:
                    await self.telegram.start()
                    started = True
                except Exception as error:  # unreachable API or a refused token: the rest of the service goes on
                    log.warning("telegram could not start (%s); trying again in %.0f s", error, wait)
                    with contextlib.suppress(Exception):
                        await self.telegram.stop()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), wait)
                    wait = min(wait * 2, MAX_RETRY_SECONDS)
            await stop.wait()
        finally:
            with contextlib.suppress(Exception):
                await self.telegram.stop()
