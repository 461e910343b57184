"""`make bench`: how fast the chat bot's core answers with 200 chats asking at once.

Run from the repository root: ``.venv/bin/python -m benchmarks.bot``. The core runs as ``zhengji serve`` runs it
for the web chat: one bot with its database desk (SQLite in a temporary directory, WAL, synchronous=FULL), its
answers computed in the runtime's answer threads (``zhengji.bot.runtime.ANSWER_THREADS``), on one core.
200 chats: a quarter of them linked to a submission and asking for its status, the rest asking the question
table's questions (every kind: eligibility, windows, materials, the notices' rules, unknowns, greetings, status
without a link, binding), and one message in ten a code request for a real submission: its code and mail are
stored and queued in the database, and the mail is written to the Maildir outbox by the code mail sender's
thread, as ``zhengji serve`` does (the limits per chat, submission and address refuse most repeats, as they
would).

Two loads, each measured per answer from the moment the question was asked to the moment its answer was ready:

- **burst**: all 200 chats send a message at the same instant, the answers queue for the core; a round ends
  when all are answered, then the next begins (the worst case: the last answer waits for 199 others);
- **steady**: the 200 chats converse, each asking again 0.5–1.5 s after its answer (people read and type).

The budget (median < 20 ms, p99 < 100 ms) is checked on both.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import threading
import time
import tomllib
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session

from tests.bot.support import make_submission, migrate
from zhengji.bot.codemail import CodeMailSender, OutboxMailer
from zhengji.bot.component import warm_up
from zhengji.bot.conversation import Chat
from zhengji.bot.core import Bot
from zhengji.bot.links import Desk
from zhengji.bot.runtime import ANSWER_THREADS
from zhengji.clock import Clock, parse_instant
from zhengji.settings import Settings
from zhengji.storage.db import make_engine
from zhengji.storage.models import ChatLink

ROOT = Path(__file__).resolve().parents[1]
CHATS = 200
LINKED = 50
MEDIAN_BUDGET_MS = 20.0
P99_BUDGET_MS = 100.0
STATUS_QUESTIONS = ("/status", "我的材料审核通过了吗", "查一下进度", "还缺什么材料")
CODE_SHARE = 0.1
"""Share of the messages that ask for a code for a real submission (issue 18: 200 chats including code requests)."""
REFERENCES: list[str] = []
code_share = CODE_SHARE


@dataclass(frozen=True)
class Asked:
    kind: str
    ms: float


def questions() -> list[str]:
    table = tomllib.loads((ROOT / "tests" / "bot" / "questions.toml").read_text("utf-8"))
    return [question["text"] for question in table["questions"]]


def setup(folder: Path) -> tuple[Bot, list[Chat], CodeMailSender]:
    now = parse_instant("2025-06-21T10:00:00+08:00")
    settings = Settings(data_dir=folder, smtp_listen=None, now=now)
    engine = migrate(make_engine(settings.resolved_database_url))
    chats = [Chat("web", f"bench-chat-{number:026d}") for number in range(CHATS)]
    with Session(engine) as session:
        for number in range(LINKED):
            case = make_submission(engine, sender=f"applicant{number}@example.com")
            REFERENCES.append(case.reference)
            session.add(ChatLink(channel="web", chat_id=chats[number].id, submission_id=case.id, created_at=now))
        session.commit()
    clock = Clock(now)
    sender = CodeMailSender(engine, OutboxMailer(settings).send, clock)
    sender.start()
    desk = Desk(engine, settings, mailer=sender, clock=clock)
    return Bot(clock=clock, desk=desk), chats, sender


def message_for(chat_number: int, pool: list[str], rng: random.Random) -> str:
    if chat_number < LINKED and rng.random() < 0.5:
        return rng.choice(STATUS_QUESTIONS)
    if chat_number >= LINKED and rng.random() < code_share:
        return f"绑定 {rng.choice(REFERENCES)}"
    if rng.random() < 0.02:
        return f"绑定 ZJ-2025Q2-{''.join(rng.choice('23456789ABCDEFGHJKMNPQRSTVWXYZ') for _ in range(6))}"
    return rng.choice(pool)


def timed(bot: Bot, chat: Chat, text: str, asked_at: float) -> Asked:
    answer = bot.answer(chat, text)
    return Asked(answer.intents[0].value, (time.perf_counter() - asked_at) * 1000)


def burst(bot: Bot, chats: list[Chat], pool: list[str], rounds: int, workers: int) -> list[Asked]:
    rng = random.Random(1)
    results: list[Asked] = []
    with ThreadPoolExecutor(max_workers=workers) as executor:
        for _ in range(rounds):
            asked_at = time.perf_counter()
            futures = [
                executor.submit(timed, bot, chat, message_for(number, pool, rng), asked_at)
                for number, chat in enumerate(chats)
            ]
            results += [future.result() for future in futures]
    return results


def steady(bot: Bot, chats: list[Chat], pool: list[str], seconds: float, workers: int) -> list[Asked]:
    results: list[Asked] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    executor = ThreadPoolExecutor(max_workers=workers)
    timers: list[threading.Timer] = []

    def ask(number: int, rng: random.Random) -> None:
        if time.monotonic() >= stop_at:
            return
        asked_at = time.perf_counter()

        def done(future: object) -> None:
            with lock:
                results.append(future.result())  # type: ignore[attr-defined]
            timer = threading.Timer(rng.uniform(0.5, 1.5), ask, (number, rng))
            timer.daemon = True
            timers.append(timer)
            timer.start()

        executor.submit(timed, bot, chats[number], message_for(number, pool, rng), asked_at).add_done_callback(done)

    for number in range(len(chats)):
        rng = random.Random(number)
        threading.Timer(rng.uniform(0, 1.0), ask, (number, rng)).start()
    time.sleep(seconds + 2)
    executor.shutdown(wait=True)
    return results


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def report(label: str, results: list[Asked]) -> bool:
    times = [item.ms for item in results]
    median, p99 = statistics.median(times), percentile(times, 0.99)
    ok = median < MEDIAN_BUDGET_MS and p99 < P99_BUDGET_MS
    verdict = "ok" if ok else "OVER BUDGET"
    print(f"{label}: {len(times)} answers, median {median:.2f} ms, p99 {p99:.2f} ms, max {max(times):.1f} ms "
          f"(budget median {MEDIAN_BUDGET_MS:g} ms, p99 {P99_BUDGET_MS:g} ms)  {verdict}")  # fmt: skip
    by_kind: dict[str, list[float]] = defaultdict(list)
    for item in results:
        by_kind[item.kind].append(item.ms)
    for kind, values in sorted(by_kind.items(), key=lambda item: -len(item[1])):
        print(f"    {kind:<12} {len(values):5} answers   median {statistics.median(values):7.2f} ms   "
              f"p99 {percentile(values, 0.99):7.2f} ms")  # fmt: skip
    return ok


def single(bot: Bot, chats: list[Chat], pool: list[str]) -> None:
    """The cost of one answer with nothing else running: what the loads are made of."""
    costs: dict[str, list[float]] = defaultdict(list)
    rng = random.Random(7)
    for _ in range(3):
        for number, chat in enumerate(chats):
            text = message_for(number, pool, rng)
            started = time.perf_counter()
            kind = bot.answer(chat, text).intents[0].value
            costs[kind].append((time.perf_counter() - started) * 1000)
    parts = ", ".join(f"{kind} {statistics.median(values):.2f}" for kind, values in sorted(costs.items()))
    print(f"one answer alone, median ms by kind: {parts}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bot", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=20, help="bursts of 200 messages (default 20)")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the steady load (default 20 s)")
    parser.add_argument("--code-share", type=float, default=CODE_SHARE,
                        help=f"share of messages asking a code for a real case (default {CODE_SHARE})")  # fmt: skip
    arguments = parser.parse_args(argv)
    global code_share
    code_share = arguments.code_share
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    workers = ANSWER_THREADS  # the threads the channels answer in
    pool = questions()
    with tempfile.TemporaryDirectory(prefix="zhengji-bot-bench-") as folder:
        bot, chats, sender = setup(Path(folder))
        warm_up()  # as `zhengji serve` warms the bot at start (zhengji.bot.component)
        for chat, text in zip(chats, pool, strict=False):
            bot.answer(chat, text)  # warm the database's pages
        single(bot, chats, pool)
        ok = report(f"burst: {CHATS} chats at once, {arguments.rounds} rounds, {workers} threads",
                    burst(bot, chats, pool, arguments.rounds, workers))  # fmt: skip
        ok &= report(f"steady: {CHATS} chats conversing for {arguments.seconds:g} s",
                     steady(bot, chats, pool, arguments.seconds, workers))  # fmt: skip
        sender.flush(60)
        mails = len(list((Path(folder) / "outbox" / "new").glob("*")))
        print(f"code mails queued and sent by the sender thread: {mails}")
        sender.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
