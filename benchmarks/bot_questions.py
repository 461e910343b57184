"""`make bench`: how often the chat bot answers applicants' own questions rightly (issue 18's measure).

Run from the repository root:
``.venv/bin/python -m benchmarks.bot_questions [--table unseen|fresh|fourth] [--details]``.

The questions are in ``tests/bot/applicants.toml`` (``--table seen``, the default, the one the bot was improved
against), ``tests/bot/applicants_unseen.toml`` (``--table unseen``, written second), ``tests/bot/applicants_fresh.toml``
(``--table fresh``, written third by someone who never read the bot; all three now tuned on) and
``tests/bot/applicants_fourth.toml`` (``--table fourth``, written blind to the bot after the three were tuned on, none
of its messages in them nor a near copy of one: the one that still measures questions the bot was never tuned on, as
long as nobody improves the bot against it). All four were written from how applicants write on WeChat and from
the notices' text, never from the bot's code or data, so that they measure the bot from outside, as an applicant
meets it.

Each question (or conversation) is asked as ``zhengji ask TEXT --json --chat ID`` asks it: the command's own
bot (``zhengji.cli.ask._with_database``: the database desk, conversations kept in the database) with the
business clock at the question's ``now`` (``ZHENGJI_NOW``), a fresh chat id per question or conversation, and
the command's JSON ``reply``. ``--subprocess`` runs the very command instead (about 2 s a message; the
in-process path gives the same answers in a fraction of the time).

A reply is scored against the facts the question's entry lists:

- **right**: every ``must`` group holds (a group is one fact; a list gives the wordings allowed for it) and no
  ``must_not`` statement appears;
- **false statement**: some ``must_not`` appears (whatever else the reply holds);
- **incomplete**: some but not all ``must`` facts, nothing false;
- **non-answer**: none of the ``must`` facts, nothing false.

A table may also give a top-level ``must_not``: statements false in any reply whatever was asked (the 社评组织's
受理邮箱), checked on every question of it.

Matching is on text normalised by NFKC, without spaces (line breaks kept) and case-folded, so that "6 月 30 日"
matches "6月30日" and "PDF" matches "pdf"; a pattern that starts with ``re:`` is a regular expression searched in that
normalised text (for a "可以" that is not "不可以": ``re:(?<!不)可以``). In a conversation only the last reply is
scored: the earlier turns set its context.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
import unicodedata
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from zhengji.bot.core import Bot

ROOT = Path(__file__).resolve().parents[1]
TABLES = {
    "seen": ROOT / "tests" / "bot" / "applicants.toml",
    "unseen": ROOT / "tests" / "bot" / "applicants_unseen.toml",
    "fresh": ROOT / "tests" / "bot" / "applicants_fresh.toml",
    "fourth": ROOT / "tests" / "bot" / "applicants_fourth.toml",
}
# The classes of issue 18's measure, in the order the report prints them.
CLASSES = (
    "yes_no",
    "when",
    "where",
    "materials",
    "field",
    "eligibility",
    "guangdong",
    "history",
    "follow_up",
    "multi_part",
    "typo",
    "traditional",
    "silent",
    "status",
    "off_topic",
)
# A question whose answer does not depend on the day is still asked on a fixed day, so that a run is repeatable.
DEFAULT_NOW = "2025-08-15T10:00:00+08:00"
REGEX_PREFIX = "re:"
# How ``zhengji ask`` words a fault of the bot (it exits 1): such a reply is counted as an error too.
FAILED = "无法答复："

Outcome = Literal["right", "false", "incomplete", "non_answer"]


@dataclass(frozen=True)
class Question:
    """One entry of a table: a message (or a conversation), its business day, and what a right reply holds."""

    table: str
    number: int
    klass: str
    turns: tuple[str, ...]
    now: str
    must: tuple[tuple[str, ...], ...]
    must_not: tuple[str, ...]

    @property
    def label(self) -> str:
        """How a failure is named in ``--details``: the class, the number and the (last) message."""
        return f"{self.klass} #{self.number}: {' ⏎ '.join(self.turns)}"


@dataclass(frozen=True)
class Verdict:
    """What one reply was found to be, and why: the facts it missed and the false statements it made."""

    outcome: Outcome
    missing: tuple[tuple[str, ...], ...] = ()
    false_statements: tuple[str, ...] = ()


@dataclass
class Tally:
    """The counts of one class (or of the whole table)."""

    asked: int = 0
    errors: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)

    def add(self, verdict: Verdict, reply: str) -> None:
        self.asked += 1
        self.errors += reply.startswith(FAILED)
        self.outcomes[verdict.outcome] += 1


class TableError(ValueError):
    """A table entry that cannot be scored fairly (no facts, an unknown class, a bad pattern)."""


def normalise(text: str) -> str:
    """The form both replies and patterns are compared in: full-width forms folded (NFKC), no spaces, and
    case-folded, so that a fact is found however the bot spaces or types it; line breaks stay, so that a
    pattern can keep to one line of a reply."""
    return re.sub(r"[^\S\n]+", "", unicodedata.normalize("NFKC", text)).casefold()


def holds(pattern: str, normalised_reply: str) -> bool:
    """Whether one wording of a fact (or one false statement) appears in a normalised reply."""
    if pattern.startswith(REGEX_PREFIX):
        return re.search(pattern[len(REGEX_PREFIX) :], normalised_reply) is not None
    return normalise(pattern) in normalised_reply


def score(question: Question, reply: str) -> Verdict:
    """Judge one reply against its question's facts (see the module's docstring for the four outcomes)."""
    text = normalise(reply)
    false_statements = tuple(pattern for pattern in question.must_not if holds(pattern, text))
    missing = tuple(group for group in question.must if not any(holds(pattern, text) for pattern in group))
    if false_statements:
        return Verdict("false", missing, false_statements)
    if not missing:
        return Verdict("right")
    if len(missing) == len(question.must):
        return Verdict("non_answer", missing)
    return Verdict("incomplete", missing)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    """A fact's wordings: one string or a list of strings, every regular expression compiled once to check it."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(item, str) and item for item in items):
        raise TableError(f"{where}: expected a string or a list of strings, got {value!r}")
    for item in items:
        if item.startswith(REGEX_PREFIX):
            try:
                re.compile(item[len(REGEX_PREFIX) :])
            except re.error as error:
                raise TableError(f"{where}: bad regular expression {item!r}: {error}") from None
    return tuple(items)


def load_table(path: Path, name: str | None = None) -> list[Question]:
    """Read a question table; an entry that could not be scored fairly is refused with its number."""
    data = tomllib.loads(path.read_text("utf-8"))
    entries = data.get("questions")
    if not isinstance(entries, list) or not entries:
        raise TableError(f"{path}: no [[questions]]")
    table = name or path.stem
    everywhere = tuple(item for value in data.get("must_not", []) for item in _strings(value, f"{path.name} must_not"))
    questions = []
    for number, entry in enumerate(entries, start=1):
        where = f"{path.name} entry {number}"
        klass = entry.get("class")
        if klass not in CLASSES:
            raise TableError(f"{where}: unknown class {klass!r}")
        if ("text" in entry) == ("turns" in entry):
            raise TableError(f"{where}: give either text or turns")
        turns = (entry["text"],) if "text" in entry else _strings(entry["turns"], where)
        if "turns" in entry and len(turns) < 2:
            raise TableError(f"{where}: a conversation has at least two turns")
        must = tuple(_strings(group, where) for group in entry.get("must", []))
        if not must:
            raise TableError(f"{where}: a question needs at least one fact a right answer must hold")
        must_not = tuple(item for value in entry.get("must_not", []) for item in _strings(value, where)) + everywhere
        now = str(entry.get("now", DEFAULT_NOW))
        questions.append(Question(table, number, klass, turns, now, must, must_not))
    return questions


Ask = Callable[[Question], str]


class InProcess:
    """The bot of ``zhengji ask --chat``, one per business day, on a throw-away database in ``folder``."""

    def __init__(self, folder: Path) -> None:
        from zhengji.storage.db import make_engine

        self.folder = folder
        self.engine = make_engine(f"sqlite:///{(folder / 'zhengji.db').resolve()}")
        self.bots: dict[str, Bot] = {}

    def bot(self, now: str) -> Bot:
        """The command's own bot (``_with_database``) with ``ZHENGJI_NOW`` at ``now``, made once per day."""
        if now not in self.bots:
            from zhengji.cli.ask import _with_database
            from zhengji.settings import load_settings

            os.environ["ZHENGJI_NOW"] = now
            settings = load_settings(data_dir=self.folder, smtp_listen=None, now=now)
            self.bots[now] = _with_database(self.engine, settings)
        return self.bots[now]

    def __call__(self, question: Question) -> str:
        from zhengji.bot.conversation import Chat

        bot = self.bot(question.now)
        conversation = Chat("cli", fresh_chat_id(question))
        reply = ""
        for text in question.turns:
            try:
                answer = bot.answer(conversation, text)
            except Exception as error:  # the command prints this and exits 1; the run goes on to the next
                return f"{FAILED}{error}"
            reply = str(answer.as_json(conversation)["reply"])
        return reply


class Subprocess:
    """The very command, ``zhengji ask TEXT --json --chat ID``, once a message (slow, but nothing in between)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __call__(self, question: Question) -> str:
        environment = dict(os.environ, ZHENGJI_NOW=question.now, ZHENGJI_DATA_DIR=str(self.folder))
        environment["ZHENGJI_SMTP_LISTEN"] = ""
        chat = fresh_chat_id(question)
        reply = ""
        for text in question.turns:
            command = [str(Path(sys.executable).parent / "zhengji"), "ask", text, "--json", "--chat", chat]
            done = subprocess.run(command, capture_output=True, text=True, env=environment, cwd=ROOT, check=False)
            if done.returncode != 0:
                return f"{FAILED}{done.stderr.strip()}"
            reply = str(json.loads(done.stdout)["reply"])
        return reply


def fresh_chat_id(question: Question) -> str:
    """A chat id no other question shares, within the command's 64 characters of ``A-Za-z0-9_.:-``."""
    return f"q-{question.table}-{question.number}-{uuid.uuid4().hex}"[:64]


def run(questions: Sequence[Question], ask: Ask) -> list[tuple[Question, str, Verdict]]:
    """Ask every question and score its reply."""
    results = []
    for question in questions:
        reply = ask(question)
        results.append((question, reply, score(question, reply)))
    return results


def tally(results: Iterable[tuple[Question, str, Verdict]]) -> dict[str, Tally]:
    """The counts by class, in the issue's order, and ``all`` for the totals."""
    tallies: dict[str, Tally] = defaultdict(Tally)
    for question, reply, verdict in results:
        tallies[question.klass].add(verdict, reply)
        tallies["all"].add(verdict, reply)
    return {klass: tallies[klass] for klass in (*CLASSES, "all") if klass in tallies}


def report(tallies: dict[str, Tally]) -> str:
    """The table by class: right, false statements, incomplete and non-answers (of which errors: the bot
    raised), and the totals."""
    lines = [
        f"{'class':<12} {'asked':>5} {'right':>6} {'right %':>8} {'false':>6} {'incomplete':>10} {'non-answer':>10}"
        f" {'errors':>6}",
    ]
    for klass, counts in tallies.items():
        if klass == "all":
            lines.append("-" * len(lines[0]))
        outcomes = counts.outcomes
        share = 100.0 * outcomes["right"] / counts.asked if counts.asked else 0.0
        lines.append(
            f"{klass:<12} {counts.asked:>5} {outcomes['right']:>6} {share:>7.1f}% {outcomes['false']:>6} "
            f"{outcomes['incomplete']:>10} {outcomes['non_answer']:>10} {counts.errors:>6}"
        )
    return "\n".join(lines)


def details(results: Iterable[tuple[Question, str, Verdict]]) -> str:
    """Every reply that was not right: the question, what it missed or stated falsely, and the reply itself."""
    blocks = []
    for question, reply, verdict in results:
        if verdict.outcome == "right":
            continue
        lines = [f"[{verdict.outcome}] {question.label}  (now {question.now})"]
        if verdict.false_statements:
            lines.append(f"  false: {' | '.join(verdict.false_statements)}")
        for group in verdict.missing:
            lines.append(f"  missing: {' / '.join(group)}")
        lines.append("  reply: " + reply.replace("\n", "\n         "))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--table",
        choices=sorted(TABLES),
        default="seen",
        help="which question table to ask: seen, unseen, fresh (the three tuned on), fourth (never tuned on)",
    )
    parser.add_argument("--details", action="store_true", help="list every reply that was not right")
    parser.add_argument("--class", dest="klass", choices=CLASSES, help="ask only this class")
    parser.add_argument("--subprocess", action="store_true", help="run `zhengji ask` itself for every message")
    arguments = parser.parse_args(argv)
    questions = load_table(TABLES[arguments.table], arguments.table)
    if arguments.klass:
        questions = [question for question in questions if question.klass == arguments.klass]
    saved_now = os.environ.get("ZHENGJI_NOW")
    try:
        with tempfile.TemporaryDirectory(prefix="zhengji-bot-questions-") as folder:
            ask: Ask = Subprocess(Path(folder)) if arguments.subprocess else InProcess(Path(folder))
            results = run(questions, ask)
    finally:
        if saved_now is None:
            os.environ.pop("ZHENGJI_NOW", None)
        else:
            os.environ["ZHENGJI_NOW"] = saved_now
    print(f"chat bot on {TABLES[arguments.table].relative_to(ROOT)} ({len(questions)} questions)")
    print(report(tally(results)))
    if arguments.details:
        failures = details(results)
        if failures:
            print()
            print(failures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
