"""The question table (``questions.toml``): every question through the core, each answer holding its facts.

The table is what applicants type: colloquial, with typos, traditional and simplified characters mixed, codes
typed loosely, and questions the notices do not answer, whose honest answer is "I do not know" with the
center's contact. The core runs with its database desk, as on every channel.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from tests.bot.support import migrate
from zhengji.bot.codemail import OutboxMailer
from zhengji.bot.conversation import Chat
from zhengji.bot.core import Bot
from zhengji.bot.links import Desk
from zhengji.clock import Clock, parse_instant
from zhengji.settings import Settings
from zhengji.storage.db import make_engine

TABLE = tomllib.loads((Path(__file__).with_name("questions.toml")).read_text("utf-8"))
DEFAULT_NOW = parse_instant(TABLE["now"])


@dataclass(frozen=True)
class Case:
    turns: tuple[dict[str, Any], ...]

    @property
    def id(self) -> str:
        return " → ".join(turn["text"] for turn in self.turns)


CASES = [Case((question,)) for question in TABLE["questions"]] + [
    Case(tuple(conversation["turns"])) for conversation in TABLE["conversations"]
]


def test_the_table_is_large_and_has_honest_unknowns() -> None:
    assert len(TABLE["questions"]) >= 150
    unknown = [question for question in TABLE["questions"] if question.get("intent") == "unknown"]
    assert len(unknown) >= 15
    assert all("我不知道" in question["facts"] for question in unknown)


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, Settings]]:
    folder = tmp_path_factory.mktemp("questions")
    settings = Settings(data_dir=folder / "data", database_url=f"sqlite:///{folder / 'zhengji.db'}", smtp_listen=None)
    engine = migrate(make_engine(settings.resolved_database_url))
    yield engine, settings
    engine.dispose()


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_answer_holds_the_facts(case: Case, database: tuple[Engine, Settings]) -> None:
    engine, settings = database
    now = parse_instant(case.turns[0]["now"]) if "now" in case.turns[0] else DEFAULT_NOW
    clock = Clock(now)
    bot = Bot(clock=clock, desk=Desk(engine, settings, mailer=OutboxMailer(settings), clock=clock))
    chat = Chat("web", f"table-{abs(hash(case.id)):x}".ljust(24, "0"))
    for turn in case.turns:
        answer = bot.answer(chat, turn["text"])
        if "intent" in turn:
            assert answer.intents[0].value == turn["intent"], answer.text
        for fact in turn.get("facts", []):
            assert fact in answer.text, f"{fact!r} missing from:\n{answer.text}"
        for wrong in turn.get("absent", []):
            assert wrong not in answer.text, f"{wrong!r} should not be in:\n{answer.text}"
