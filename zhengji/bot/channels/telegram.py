"""Telegram, with python-telegram-bot v22: commands and free text in private chats, by long polling.

The ``Application`` is started and stopped by hand (``initialize``, ``start``, ``updater.start_polling`` and
the reverse) inside the service's running event loop: ``run_polling`` would want a loop of its own and fails
there. Requests go to ``{ZHENGJI_TELEGRAM_API_URL}/bot{TOKEN}/{method}``, so that a local Bot API server or a
relay can stand in for api.telegram.org (which is blocked where most applicants are).

Only private chats are answered: a status must never be shown to a group.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import BadRequest, Forbidden
from telegram.ext import Application, ApplicationBuilder, CommandHandler, ContextTypes, MessageHandler, filters

from zhengji.bot.conversation import Chat
from zhengji.bot.links import Origin
from zhengji.bot.notifier import Undeliverable
from zhengji.bot.runtime import BotRuntime
from zhengji.logs import redact

log = logging.getLogger(__name__)

CHANNEL = "telegram"
MAX_MESSAGE = 4096
"""Telegram's limit on one message's text (characters); a longer answer goes as several messages."""
COMMANDS = ("start", "help", "status", "bind", "unbind", "window", "eligible", "materials")
NOT_TEXT = "目前只能回答文字消息，请用文字提问，例如“新职业什么时候截止”。"
FAILED = "抱歉，系统暂时无法答复，请稍后再试。"


def split(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """``text`` in parts of at most ``limit`` characters, cut at line ends where possible."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current:
        parts.append(current)
    return parts or [""]


class TelegramChannel:
    """One bot account: its Application, its handlers, and a sender for status notices."""

    def __init__(self, runtime: BotRuntime, token: str, api_url: str, *, poll_timeout: float = 30.0) -> None:
        self.runtime = runtime
        self.poll_timeout = poll_timeout
        # The token is in every Bot API URL, and httpx logs each request's URL at INFO: the token is replaced in
        # every log line, and httpx speaks only of what went wrong.
        redact(token)
        logging.getLogger("httpx").setLevel(logging.WARNING)
        self.app: Application = (
            ApplicationBuilder()
            .token(token)
            .base_url(f"{api_url}/bot")
            .base_file_url(f"{api_url}/file/bot")
            .get_updates_read_timeout(poll_timeout + 10)
            .build()
        )
        private = filters.ChatType.PRIVATE
        self.app.add_handler(CommandHandler(list(COMMANDS), self._on_text, filters=private))
        self.app.add_handler(MessageHandler(private & filters.TEXT, self._on_text))
        self.app.add_handler(MessageHandler(private & ~filters.TEXT, self._on_other))
        self.app.add_error_handler(self._on_error)

    @property
    def running(self) -> bool:
        return bool(self.app.running and self.app.updater and self.app.updater.running)

    async def start(self) -> None:
        """The manual lifecycle: initialize (getMe), start the handlers, then long polling."""
        await self.app.initialize()
        await self.app.start()
        assert self.app.updater is not None
        await self.app.updater.start_polling(
            timeout=int(self.poll_timeout), allowed_updates=["message"], drop_pending_updates=False
        )
        log.info("telegram: polling as @%s", self.app.bot.username)

    async def stop(self) -> None:
        """The reverse of :meth:`start`; safe to call after a start that failed half-way."""
        if self.app.updater is not None and self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()

    async def _on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        chat = update.effective_chat
        if message is None or chat is None or not message.text:
            return
        try:
            # A chat id is Telegram's, not the sender's to choose: it is the client the code mail caps count.
            origin = Origin(client=str(chat.id))
            answer = await self.runtime.answer(Chat(CHANNEL, str(chat.id)), message.text, origin)
            text = answer.text
        except Exception:  # the applicant gets a polite word; the fault goes to the log
            log.exception("telegram: the core failed on a message")
            text = FAILED
        for part in split(text):
            await message.reply_text(part)

    async def _on_other(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_message is not None:
            await update.effective_message.reply_text(NOT_TEXT)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.warning("telegram: %s", context.error, exc_info=context.error)

    async def send(self, chat_id: str, text: str) -> None:
        """Send a status notice; a chat that blocked the bot or is gone is :class:`Undeliverable`."""
        if not self.running:
            raise RuntimeError("telegram is not running")
        try:
            for part in split(text):
                await self.app.bot.send_message(chat_id=int(chat_id), text=part)
        except Forbidden as error:
            raise Undeliverable(str(error)) from error
        except BadRequest as error:
            if "chat not found" in str(error).lower():
                raise Undeliverable(str(error)) from error
            raise
