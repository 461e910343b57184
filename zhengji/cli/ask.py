"""``zhengji ask``: the chat bot's answer to one message, as a channel would send it."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

import typer

from zhengji.cli.context import app, console, context, fail

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from zhengji.bot.core import Bot
    from zhengji.settings import Settings

CHAT_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


@app.command("ask")
def ask_command(
    ctx: typer.Context,
    words: list[str] = typer.Argument(..., metavar="TEXT", help="要问的话。 The message."),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出。 Print JSON."),
    chat: str | None = typer.Option(
        None,
        "--chat",
        metavar="ID",
        help="会话标识：同一标识延续上下文、绑定与进度通知。 A chat id: keeps its conversation, binding, notices.",
    ),
) -> None:
    """向咨询机器人提问，打印其答复。 Ask the chat bot; print its answer."""
    from zhengji.bot.conversation import Chat
    from zhengji.bot.core import Bot
    from zhengji.clock import Clock

    text = " ".join(words).strip()
    if not text:
        raise fail("请给出要问的话。", code=2)
    if chat is not None and not CHAT_ID.fullmatch(chat):
        raise fail("--chat 只能由英文字母、数字和 _ . : - 组成，不超过 64 个字符。", code=2)
    shared = context(ctx)
    settings = shared.settings
    conversation = Chat("cli", chat) if chat is not None else None
    try:
        bot = _with_database(shared.engine(), settings) if conversation else Bot(clock=Clock(settings.now))
        answer = bot.answer(conversation, text)
    except Exception as error:  # the operator needs the reason, not a traceback
        raise fail(f"无法答复：{error}") from error
    if as_json:
        console.print_json(json.dumps(answer.as_json(conversation), ensure_ascii=False))
    else:
        console.print(answer.text, highlight=False, markup=False, soft_wrap=True)


def _with_database(engine: Engine, settings: Settings) -> Bot:
    """The bot of a chat that goes on across commands: its context, binding and notices are in the database, and
    a code is mailed before the command ends."""
    from zhengji.bot.codemail import OutboxMailer
    from zhengji.bot.conversation import DatabaseConversations
    from zhengji.bot.core import Bot
    from zhengji.bot.links import Desk
    from zhengji.clock import Clock
    from zhengji.storage.migrate import upgrade

    upgrade(engine)
    clock = Clock(settings.now)
    desk = Desk(engine, settings, mailer=OutboxMailer(settings), clock=clock)
    return Bot(clock=clock, desk=desk, conversations=DatabaseConversations(engine, clock.machine))
