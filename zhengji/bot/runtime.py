"""The core as a channel uses it: the bot with its database desk, mailer and memory, built from the settings."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy.engine import Engine

from zhengji.bot.codemail import BackgroundMailer, OutboxMailer
from zhengji.bot.conversation import MemoryConversations
from zhengji.bot.core import Bot
from zhengji.bot.links import Desk
from zhengji.clock import Clock
from zhengji.settings import Settings

ANSWER_THREADS = 2
"""Threads that compute answers. The core is Python, so more threads only take turns on the interpreter lock
(200 messages at once were answered slower with asyncio's six default threads than with two); two let one
answer proceed while another waits on the database."""
T = TypeVar("T")


class BotRuntime:
    """One bot for the channels of one process part (the web app's, the bot component's)."""

    def __init__(self, settings: Settings, engine: Engine | None = None, clock: Clock | None = None) -> None:
        from zhengji.storage.db import make_engine

        self.settings = settings
        self.clock = clock or Clock(settings.now)
        self.engine = engine or make_engine(settings.resolved_database_url)
        self.mailer = BackgroundMailer(OutboxMailer(settings).send)
        self.desk = Desk(self.engine, settings, mailer=self.mailer, clock=self.clock)
        self.bot = Bot(clock=self.clock, desk=self.desk, conversations=MemoryConversations(self.clock.machine))
        self.executor = ThreadPoolExecutor(max_workers=ANSWER_THREADS, thread_name_prefix="chat-answer")

    async def run(self, function: Callable[..., T], *args: object) -> T:
        """``function(*args)`` in the answer threads, awaited from a channel's event loop."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, function, *args)

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.mailer.stop()
