"""Two ``zhengji serve`` instances on one PostgreSQL database and one S3 bucket share a burst; one dies mid-way.

As on two machines (issue 16, item 6): each instance has its own data directory and its own SMTP port, both store
raw mail in the same SeaweedFS bucket and claim work in the same database, both send replies through the same
outgoing SMTP account (an aiosmtpd sink that keeps them) and both are configured to watch the same Dovecot inbox.
300 mails arrive: 220 over SMTP from two MTAs that each fail over to the other instance, as a sending server tries
its next MX, and 80 APPENDed to the inbox, 20 of them after instance A was SIGKILLed in the middle of the burst.

Afterwards every mail is stored once and answered once (a mail whose ``250`` the kill cut off may come again from
its MTA: then it is a second mail and gets its own answer, as in the crash test), mail that one instance stored in
the bucket was parsed by the other (each instance's log names the mails whose parse step it finished), only one
instance watched the inbox at a time, and mail that reached the inbox after A died was taken in and answered by B:
watching the inbox moved to the survivor.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tests.conftest import aws_environment, fresh_postgres_database, need_server
from tests.mailbox.crash_support import Service, SMTPLedger, TestMail
from tests.servers.dovecot import DovecotUnavailable, ThrowawayDovecot, running_dovecot
from tests.servers.instances import (
    BLOB_PREFIX,
    FailoverSender,
    burst,
    instance_environment,
    make_instance,
    parsed_here,
    running_sink,
)
from tests.servers.seaweed import ThrowawaySeaweed
from zhengji.clock import SHANGHAI
from zhengji.storage.db import make_engine
from zhengji.storage.models import Message, MessageSource, MessageState

pytestmark = pytest.mark.postgres

SEED = 20261205
SMTP_MAILS = 110  # per MTA; two MTAs
IMAP_BEFORE = 60
IMAP_AFTER = 20
KILL_AT = 100  # stored mails when instance A is killed: the burst is well under way, much is left to do
# After this many seconds another instance takes over the mail a dead one held; the default (120 s) is what a
# real deployment wants, the test keeps it short so that it does not wait two minutes for the lease to run out.
LEASE_SECONDS = 8.0
STALLED = 60.0  # seconds without any mail changing state before the test calls the queue stuck
WATCHING = "zhengji.imap watching "  # what an instance logs when it starts watching the inbox
BASE_NOW = datetime(2025, 6, 23, 16, 45, tzinfo=SHANGHAI)  # inside the June window of the notices


@pytest.fixture
def dovecot() -> Iterator[ThrowawayDovecot]:
    try:
        with running_dovecot() as server:
            yield server
    except DovecotUnavailable as error:
        need_server(f"Dovecot: {error}")


def _counts(engine: Engine) -> tuple[int, dict[str, int]]:
    """(rows, rows per state) as another reader of the live database sees them."""
    with engine.connect() as connection:
        states = connection.execute(text("SELECT state, count(*) FROM messages GROUP BY state")).all()
    by_state = {str(state): int(count) for state, count in states}
    return sum(by_state.values()), by_state


def _pending(states: dict[str, int]) -> int:
    finished = {MessageState.replied.value, MessageState.ignored.value, MessageState.failed.value}
    return sum(count for state, count in states.items() if state not in finished)


def _stuck(engine: Engine) -> str:
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT id, state, attempts, claimed_by, claimed_until, last_error FROM messages"
                " WHERE state NOT IN ('replied', 'ignored', 'failed')"
            )
        ).all()
    return "\n".join(str(tuple(row)) for row in rows)


def _settle(engine: Engine, expected: int, survivor: Service) -> None:
    """Wait until ``expected`` mails are stored and none is on its way; fail when the queue stops moving."""
    seen: tuple[int, dict[str, int]] | None = None
    moved = time.monotonic()
    while True:
        rows, states = _counts(engine)
        if rows >= expected and not _pending(states):
            return
        assert survivor.alive(), f"the survivor stopped by itself:\n{survivor.output()[-4000:]}"
        if (rows, states) != seen:
            seen, moved = (rows, states), time.monotonic()
        if time.monotonic() > moved + STALLED:
            raise AssertionError(
                f"the queue stopped moving for {STALLED:g} s: {rows} rows {states}\n{_stuck(engine)}\n"
                f"{survivor.output()[-6000:]}"
            )
        time.sleep(0.3)


def _row_ids(engine: Engine) -> set[int]:
    with engine.connect() as connection:
        return {int(row_id) for (row_id,) in connection.execute(text("SELECT id FROM messages")).all()}


def _received_at(engine: Engine, sender: FailoverSender, port: int) -> set[int]:
    """The stored mails that ``sender`` saw ``250`` for from the instance on ``port``."""
    mine = [mid for mid, at in list(sender.accepted_at.items()) if at == port]
    if not mine:
        return set()
    with engine.connect() as connection:
        found = connection.execute(text("SELECT id FROM messages WHERE message_id = ANY(:ids)"), {"ids": mine}).all()
    return {int(row_id) for (row_id,) in found}


def _append_all(dovecot: ThrowawayDovecot, mails: list[TestMail], rng: random.Random) -> None:
    for mail in mails:
        dovecot.append(mail.raw)
        time.sleep(rng.uniform(0.0, 0.1))


def test_two_instances_share_a_burst_and_the_survivor_finishes_it(
    dovecot: ThrowawayDovecot,
    postgres_server: str,
    seaweed_server: ThrowawaySeaweed,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    rng = random.Random(SEED)
    aws_environment(monkeypatch, seaweed_server)  # and nothing from the developer's ~/.aws reaches the instances
    bucket = seaweed_server.create_bucket(f"zj-{uuid.uuid4().hex[:12]}")
    database_url = fresh_postgres_database(postgres_server)
    observer = make_engine(database_url)
    smtp_mails = [burst("mta1", SMTP_MAILS), burst("mta2", SMTP_MAILS)]
    imap_before, imap_after = burst("imap", IMAP_BEFORE), burst("imap", IMAP_AFTER, start=IMAP_BEFORE)
    total = 2 * SMTP_MAILS + IMAP_BEFORE + IMAP_AFTER
    ledger = SMTPLedger()

    with running_sink() as (sink, sink_port):
        shared = instance_environment(
            database_url=database_url, bucket=bucket, sink_port=sink_port, lease_seconds=LEASE_SECONDS,
            store=seaweed_server,
        )  # fmt: skip
        a = make_instance("a", tmp_path, imap_url=dovecot.url, environment=shared)
        b = make_instance("b", tmp_path, imap_url=dovecot.url, environment=shared)
        deadline = time.monotonic() + 150
        # Each MTA starts at its own instance and fails over to the other one.
        senders = [
            FailoverSender([a.smtp_port, b.smtp_port], smtp_mails[0], ledger, random.Random(rng.random()), deadline),
            FailoverSender([b.smtp_port, a.smtp_port], smtp_mails[1], ledger, random.Random(rng.random()), deadline),
        ]
        try:
            # Started together, as systemd starts the units of two machines after an install: both migrate the
            # same empty database at once.
            a.start(BASE_NOW)
            b.start(BASE_NOW)
            a.wait_listening()
            b.wait_listening()
            for sender in senders:
                sender.start()
            _append_all(dovecot, imap_before[: IMAP_BEFORE // 2], rng)
            # Mid-way: much is stored and little answered, and A has already parsed mail that B took in (a blob B
            # wrote, read back by A), so that the kill leaves work of both kinds for B.
            while time.monotonic() < deadline:
                assert a.alive() and b.alive(), f"{a.output()[-3000:]}\n{b.output()[-3000:]}"
                if _counts(observer)[0] >= KILL_AT and _received_at(observer, senders[1], b.smtp_port) & parsed_here(a):
                    break
                time.sleep(0.2)
            a_parsed = parsed_here(a)  # read before the kill: the log is the dead instance's last word
            a_log = a.output()
            a_seen = _row_ids(observer)
            b_log_at_kill = b.output()
            _, states_at_kill = _counts(observer)
            a.kill()
            print(f"instance A killed at {states_at_kill}; it had parsed {len(a_parsed)} mails")
            _append_all(dovecot, imap_before[IMAP_BEFORE // 2 :], rng)
            for sender in senders:
                sender.join(max(0.0, deadline - time.monotonic()))
            assert not ledger.errors, ledger.errors
            assert len(ledger.accepted) == 2 * SMTP_MAILS

            _settle(observer, 2 * SMTP_MAILS + IMAP_BEFORE, b)
            # Mail that reaches the inbox now, with A long dead: only a watcher that moved to B can take it in.
            _append_all(dovecot, imap_after, rng)
            _settle(observer, total, b)
            assert sink.wait_for(total, 30), f"{len(sink.replies)} replies of {total}\n{b.output()[-4000:]}"
            time.sleep(1.0)  # a second reply to any mail, if there were one, would arrive now
            b_parsed = parsed_here(b)
            b_log = b.output()
            assert b.stop() == 0, b.output()[-3000:]
        finally:
            for instance in (a, b):
                instance.ensure_dead()
            observer.dispose()
        replies = sink.answered()

    engine = make_engine(database_url)
    with Session(engine) as session:
        rows = list(session.exec(select(Message)).all())
    engine.dispose()
    accepted_at = {**senders[0].accepted_at, **senders[1].accepted_at}

    # Stored once: every APPENDed mail exactly once; every SMTP mail once, or twice where the kill cut off its 250
    # and the MTA sent it again (then it is answered twice, once per copy).
    stored = Counter((row.source, row.message_id) for row in rows)
    appended = {mail.message_id for mail in (*imap_before, *imap_after)}
    assert {mid for (source, mid) in stored if source is MessageSource.imap} == appended
    assert [mid for (source, mid), n in stored.items() if source is MessageSource.imap and n != 1] == []
    assert {mid for (source, mid) in stored if source is MessageSource.smtp} == ledger.accepted
    doubled = {mid: n for (source, mid), n in stored.items() if source is MessageSource.smtp and n > 1}
    assert {mid: n for mid, n in doubled.items() if n > 1 + ledger.unanswered[mid or ""]} == {}

    # Answered once: every row replied, and the outgoing account saw one reply per stored copy of each mail.
    assert [
        (row.message_id, row.state.value, row.last_error) for row in rows if row.state is not MessageState.replied
    ] == []
    assert len(replies) == len(appended) + len(ledger.accepted)
    copies = Counter(mid for (_, mid) in stored.elements())
    assert {mid: n for mid, n in replies.items() if n != copies[mid]} == {}

    # The bucket holds each raw mail under its digest, where either instance reads it.
    keys = {
        item["Key"]
        for page in seaweed_server.client().get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for item in page.get("Contents", [])
    }
    assert {row.sha256 for row in rows} <= {key.rsplit("/", 1)[-1] for key in keys if key.startswith(BLOB_PREFIX)}

    # A blob written by one instance parsed by the other: mail A answered 250 for (so A put it in the bucket)
    # whose parse step B finished, and the other way round while both ran.
    by_port = {
        port: {
            row.id
            for row in rows
            if accepted_at.get(row.message_id or "") == port and stored[(row.source, row.message_id)] == 1
        }
        for port in (a.smtp_port, b.smtp_port)
    }
    received_by_a, received_by_b = by_port[a.smtp_port], by_port[b.smtp_port]
    assert received_by_a & b_parsed, (len(received_by_a), len(b_parsed), b_log[-2000:])
    assert received_by_b & a_parsed, (len(received_by_b), len(a_parsed), a_log[-2000:])
    assert a_parsed & b_parsed == set()  # a parse that one instance finished is never done again by the other

    # One watcher of the inbox at a time: until the kill only one instance watched it, and B watched after it.
    assert [name for name, log in (("A", a_log), ("B", b_log_at_kill)) if WATCHING in log] in (["A"], ["B"])
    assert WATCHING in b_log
    # The watcher moved to the survivor: the mail that reached the inbox after A died was taken in (once, checked
    # above) and answered, which only a watcher in B could do.
    late = {row.message_id for row in rows if row.source is MessageSource.imap and row.id not in a_seen}
    assert {mail.message_id for mail in imap_after} <= late
    assert all(replies[mail.message_id] == 1 for mail in imap_after)
