"""The crash test of the mailbox service: SIGKILLed at random while 300 mails arrive, nothing is lost or doubled.

200 mails arrive over SMTP (two senders that retry like an MTA until they see ``250``) and 100 are APPENDed to a
real Dovecot the service watches. Meanwhile ``zhengji serve`` is SIGKILLed at random moments and restarted on the
same data directory, every run with the same ``ZHENGJI_NOW``: only the real clock and the start of the next run
can free what a killed run held (it frees its own host's dead workers' claims at once). Afterwards every mail is stored
once, processed once and answered once. Replay a failure with the seed and kill points the test prints.

It runs on both databases zhengji supports: the default SQLite file in the data directory, and a fresh PostgreSQL
database, where the worker loops of one run claim mails with ``FOR UPDATE SKIP LOCKED`` and a killed run's locks
must vanish with its connections.
"""

from __future__ import annotations

import mailbox as std_mailbox
import random
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tests.conftest import fresh_postgres_database, need_server
from tests.mailbox.crash_support import (
    IMAPAppender,
    Service,
    SMTPLedger,
    SMTPSender,
    build_mails,
)
from tests.servers.dovecot import DovecotUnavailable, ThrowawayDovecot, running_dovecot
from tests.servers.ports import free_port
from zhengji.clock import SHANGHAI
from zhengji.mailbox.outbox import maildir_name
from zhengji.storage.db import make_engine
from zhengji.storage.models import Message, MessageSource, MessageState, Reply, ReplyState, Submission

SEED = 20250623
KILLS = 4
STALLED = 60.0  # seconds without any mail changing state before the test calls the queue stuck
SMTP_MAILS = 200
IMAP_MAILS = 100
BASE_NOW = datetime(2025, 6, 23, 16, 45, tzinfo=SHANGHAI)  # inside the June window of the notices


@pytest.fixture
def dovecot() -> Iterator[ThrowawayDovecot]:
    try:
        with running_dovecot() as server:
            yield server
    except DovecotUnavailable as error:
        need_server(f"Dovecot: {error}")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def serve_database(request: pytest.FixtureRequest) -> str | None:
    """The ZHENGJI_DATABASE_URL serve runs on: None for its default SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return None
    return fresh_postgres_database(request.getfixturevalue("postgres_server"))


def _waiting(engine: Engine) -> tuple[int, int, dict[str, int]]:
    """(IMAP rows, SMTP rows, rows per state) as another reader of the live database sees them."""
    with engine.connect() as connection:
        states = connection.execute(text("SELECT state, count(*) FROM messages GROUP BY state")).all()
        sources = connection.execute(text("SELECT source, count(*) FROM messages GROUP BY source")).all()
    rows = {str(source): int(count) for source, count in sources}
    return rows.get("imap", 0), rows.get("smtp", 0), {str(state): int(count) for state, count in states}


def _stuck(engine: Engine) -> str:
    """The mails still on their way, with what a clerk would look at: state, tries, claim, last error."""
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT id, state, attempts, claimed_by, claimed_until, next_attempt_at, last_error FROM messages"
                " WHERE state NOT IN ('replied', 'ignored', 'failed')"
            )
        ).all()
    return "\n".join(str(tuple(row)) for row in rows)


def _pending(states: dict[str, int]) -> int:
    """Mails still on their way, whichever steps the pipeline has between ``received`` and ``replied``."""
    finished = {MessageState.replied.value, MessageState.ignored.value, MessageState.failed.value}
    return sum(count for state, count in states.items() if state not in finished)


def test_every_mail_is_stored_processed_and_answered_once_across_sigkills(
    dovecot: ThrowawayDovecot, serve_database: str | None, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    smtp_mails = build_mails("smtp", SMTP_MAILS, real=2)
    imap_mails = build_mails("imap", IMAP_MAILS, real=1)
    data_dir = tmp_path / "var"
    database_url = serve_database or f"sqlite:///{data_dir / 'zhengji.db'}"
    service = Service(
        data_dir,
        tmp_path,
        imap_url=dovecot.url,
        smtp_port=free_port(),
        web_port=free_port(),
        database_url=serve_database,
    )
    observer = make_engine(database_url)
    ledger = SMTPLedger()
    deadline = time.monotonic() + 80
    senders = [
        SMTPSender(service.smtp_port, smtp_mails[half::2], ledger, random.Random(rng.random()), deadline)
        for half in (0, 1)
    ]
    appender = IMAPAppender(dovecot, imap_mails, random.Random(rng.random()))
    kill_after = [round(rng.uniform(0.3, 4.0), 2) for _ in range(KILLS)]
    print(f"crash test seed {SEED} on {observer.dialect.name}: SIGKILL after {kill_after} s of each run")
    try:
        service.start(BASE_NOW)
        service.wait_listening()
        for thread in (*senders, appender):
            thread.start()
        for run, delay in enumerate(kill_after):
            time.sleep(delay)
            assert service.alive(), f"serve stopped by itself in run {run}:\n{service.output()[-4000:]}"
            service.kill()
            imap_rows, smtp_rows, states = _waiting(observer)
            print(f"run {run}: killed {delay} s after start; {len(ledger.accepted)} mails accepted over SMTP, "
                  f"{len(appender.appended)} appended; rows imap={imap_rows} smtp={smtp_rows} {states}")  # fmt: skip
            service.start(BASE_NOW)
            service.wait_listening()
        while any(thread.is_alive() for thread in (*senders, appender)) and time.monotonic() < deadline:
            assert service.alive(), f"serve stopped by itself in the last run:\n{service.output()[-4000:]}"
            time.sleep(0.3)
        assert not ledger.errors, ledger.errors
        assert appender.error is None, appender.error
        assert len(ledger.accepted) == SMTP_MAILS and len(appender.appended) == IMAP_MAILS
        # The queue must keep moving: a mail that no step takes up for a minute (a step that failed and now waits
        # for a retry the frozen clock never reaches, or a worker that hangs) fails the test; a slow machine does not.
        all_sent = moved = time.monotonic()
        seen: tuple[int, int, dict[str, int]] | None = None
        while True:
            imap_rows, smtp_rows, states = _waiting(observer)
            if imap_rows >= IMAP_MAILS and smtp_rows >= SMTP_MAILS and not _pending(states):
                break
            assert service.alive(), f"serve stopped by itself in the last run:\n{service.output()[-4000:]}"
            if (imap_rows, smtp_rows, states) != seen:
                seen, moved = (imap_rows, smtp_rows, states), time.monotonic()
            if time.monotonic() > moved + STALLED:
                raise AssertionError(
                    f"the queue stopped moving for {STALLED:g} s: imap={imap_rows} smtp={smtp_rows} {states}\n"
                    f"{_stuck(observer)}\n{service.output()[-6000:]}"
                )
            time.sleep(0.3)
        print(f"drained {time.monotonic() - all_sent:.1f} s after the last mail was sent: {states}; "
              f"SMTP tries without an answer: {dict(ledger.unanswered)}")  # fmt: skip
        assert service.stop() == 0, service.output()[-3000:]
    finally:
        service.ensure_dead()
        observer.dispose()

    engine = make_engine(database_url)
    with Session(engine) as session:
        rows = list(session.exec(select(Message)).all())
        replies = {reply.message_id: reply for reply in session.exec(select(Reply)).all()}
        references = {submission.id: submission.reference for submission in session.exec(select(Submission)).all()}
    engine.dispose()

    # Stored once: every APPENDed mail exactly once; every accepted SMTP mail at least once, and twice only when
    # the sender lost the connection after DATA and so sent it again.
    stored = Counter((row.source, row.message_id) for row in rows)
    assert {mid for (source, mid) in stored if source is MessageSource.imap} == set(appender.appended)
    assert {mid for (source, mid) in stored if source is MessageSource.smtp} == ledger.accepted
    assert [mid for (source, mid), n in stored.items() if source is MessageSource.imap and n != 1] == []
    doubled = {mid: n for (source, mid), n in stored.items() if source is MessageSource.smtp and n > 1}
    assert {mid: n for mid, n in doubled.items() if n > 1 + ledger.unanswered[mid or ""]} == {}

    # Processed once: none of these mails is automatic, so every row ends replied, none waiting or failed.
    unfinished = [
        (row.message_id, row.state.value, row.last_error) for row in rows if row.state != MessageState.replied
    ]
    assert unfinished == []

    # Answered once: one reply per row, sent, in the Maildir under its own Message-ID, threaded to the mail.
    outbox = std_mailbox.Maildir(data_dir / "outbox", create=False)
    files = {key.split(":", 1)[0]: outbox[key] for key in outbox.iterkeys()}
    assert len(files) == len(rows)
    answered: Counter[str] = Counter()
    for row in rows:
        assert row.id is not None
        reply = replies[row.id]
        assert reply.state == ReplyState.sent, (row.message_id, reply.state)
        sent = files[maildir_name(reply.message_id_header)]
        assert sent["Message-ID"] == reply.message_id_header
        assert sent["In-Reply-To"] == row.message_id
        assert sent["X-Zhengji-Reference"] == references[row.submission_id]
        answered[str(sent["In-Reply-To"])] += 1
    assert {mid: n for mid, n in answered.items() if n > 1} == doubled
