"""The bot's part of ``zhengji serve``: the status notifier always, Telegram when a token is set.

The web chat and the WeChat callback are routes of the web server (``zhengji.bot.channels.web.chat_router``);
this component runs what lives beside them in the service's event loop. Telegram is started with the manual
``Application`` lifecycle; when the Bot API cannot be reached (a network that blocks it, a wrong token) the
component says so in the log and tries again with growing waits, without stopping the rest of the service.
"""

from __future__ import annotations

import asyncio
import contextlib
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


def warm_up() -> None:
    from zhengji.bot.understand import understand

    understand("人工智能训练师能报吗")


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
            # The first question would otherwise wait a second for the dictionaries (jieba, OpenCC, the catalog).
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
