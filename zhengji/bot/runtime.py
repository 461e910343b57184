"""The core as a channel uses it: the bot with its database desk, code mail sender and memory, built from the
settings."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy.engine import Engine

from zhengji.bot.codemail import CodeMailSender, OutboxMailer
from zhengji.bot.conversation import Chat, MemoryConversations
from zhengji.bot.core import Answer, Bot
from zhengji.bot.links import ORIGIN, Desk, Origin
from zhengji.clock import Clock
from zhengji.settings import Settings

ANSWER_THREADS = 2
"""Threads that compute answers. The core is Python, so more threads only take turns on the interpreter lock
(200 messages at once were answered slower with asyncio's six default threads than with two); two let one
answer proceed while another waits on the database."""
T = TypeVar("T")


def _as(origin: Origin, function: Callable[..., T], *args: object) -> T:
    """``function(*args)`` with the desk knowing who asked (:data:`zhengji.bot.links.ORIGIN`), in this thread."""
    token = ORIGIN.set(origin)
    try:
        return function(*args)
    finally:
        ORIGIN.reset(token)


class BotRuntime:
    """One bot for the channels of one process part (the web app's, the bot component's).

    Its code mail sender starts with the first work it is given (the bot component's warm-up at the service's
    start, else a first chat): the code mails are queued in the database and sent by that thread, so that a
    chat's answer never waits for a mail provider and a mail queued before a restart still goes out. An app
    built and never asked anything (as many tests build it) keeps no thread polling its database.
    """

    def __init__(self, settings: Settings, engine: Engine | None = None, clock: Clock | None = None) -> None:
        from zhengji.storage.db import make_engine

        self.settings = settings
        self.clock = clock or Clock(settings.now)
        self.engine = engine or make_engine(settings.resolved_database_url)
        self.mailer = CodeMailSender(self.engine, OutboxMailer(settings).send, self.clock)
        self._closed = False
        self.desk = Desk(self.engine, settings, mailer=self.mailer, clock=self.clock)
        self.bot = Bot(clock=self.clock, desk=self.desk, conversations=MemoryConversations(self.clock.machine))
        self.executor = ThreadPoolExecutor(max_workers=ANSWER_THREADS, thread_name_prefix="chat-answer")

    async def run(self, function: Callable[..., T], *args: object, origin: Origin | None = None) -> T:
        """``function(*args)`` in the answer threads, awaited from a channel's event loop, on behalf of ``origin``."""
        if not self.mailer.started and not self._closed:
            self.mailer.start()
        return await asyncio.get_running_loop().run_in_executor(self.executor, _as, origin or Origin(), function, *args)

    async def answer(self, chat: Chat, text: str, origin: Origin) -> Answer:
        """The core's answer to ``text`` in ``chat``, asked by ``origin``."""
        return await self.run(self.bot.answer, chat, text, origin=origin)

    def close(self) -> None:
        self._closed = True
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.mailer.stop()
