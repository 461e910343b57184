"""Claims under a live, a dying and a vanished worker, and the two clocks, on a real database and Maildir.

What an operator would check: a step that takes longer than the lease is never taken over while its worker
lives; a mail that kills its worker every time is handed to staff after its tries instead of burning a core
forever; a service that starts takes up at once what its own host's dead workers held; and a rehearsal with
``ZHENGJI_NOW`` still retries a failed step when its wait is over on the real clock.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from tests.mailbox.pipeline_support import CORPUS, arrive, body_of, drain, frozen, outbox
from zhengji.clock import SHANGHAI, Clock, real_now
from zhengji.mailbox import pipeline as pipeline_module
from zhengji.mailbox.pipeline import MAX_ATTEMPTS, Pipeline
from zhengji.settings import Settings, load_settings
from zhengji.storage.claims import free_dead_claims, holder_is_gone, host_name, worker_name
from zhengji.storage.models import AuditEvent, Document, Message, MessageState, Reply, ReplyState
from zhengji.storage.status import TransitionError, move_mail

REHEARSAL = datetime(2025, 6, 25, 10, 0, tzinfo=SHANGHAI)  # inside the June window, two days after the mails came


def settings_for(engine: Engine, tmp_path: Path, **values: Any) -> Settings:
    database = engine.url.render_as_string(hide_password=False)
    return load_settings(data_dir=tmp_path / "var", database_url=database, **values)


def message(engine: Engine, message_id: int) -> Message:
    with Session(engine) as session:
        row = session.get(Message, message_id)
        assert row is not None
        return row


def test_a_live_worker_keeps_its_claim_however_long_its_step_takes(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The step outlasts its lease four times over on the machine clock, which the test moves; the heartbeat is
    stepped with it (a renewal each time a third of the lease would have passed), so no real waiting and no
    dependence on how fast the machine is. Another worker asking between the beats never gets the mail."""
    settings = settings_for(engine, tmp_path, lease_seconds=60)
    message_id = arrive(engine, settings, (CORPUS / "netease_sh_word_only.eml").read_bytes())
    now = [datetime.now(UTC)]
    clock = Clock(real=lambda: now[0])
    beats = threading.Semaphore(0)
    renewed = threading.Semaphore(0)

    def stepped(done: threading.Event, _seconds: float) -> bool:
        while not beats.acquire(timeout=0.05):
            if done.is_set():
                return True
        return done.is_set()

    slow = Pipeline(engine, settings, worker="slow", clock=clock, beat=stepped)
    real_renew = slow.renew

    def renew(message_id: int) -> bool:
        try:
            return real_renew(message_id)
        finally:
            renewed.release()

    slow.renew = renew  # type: ignore[method-assign]
    other = Pipeline(engine, settings, worker="other", clock=clock)
    real_parse = pipeline_module.parse_attachments
    taken: list[bool] = []

    def slow_parse(*args: Any, **kwargs: Any) -> Any:
        for _ in range(12):  # four leases: a zip of legacy Word files takes minutes in the same way
            now[0] += slow.lease / 3
            beats.release()
            assert renewed.acquire(timeout=30), "the heartbeat did not renew the claim"
            taken.append(other.run_once())
        return real_parse(*args, **kwargs)

    monkeypatch.setattr(pipeline_module, "parse_attachments", slow_parse)
    assert slow.run_once()
    assert taken and not any(taken), "another worker took the mail over from a live one"
    row = message(engine, message_id)
    assert (row.state, row.attempts, row.claimed_by) == (MessageState.parsed, 0, None)
    drain(other)
    with Session(engine) as session:
        assert len(session.exec(select(Document)).all()) == 2  # parsed once
        assert len(session.exec(select(Reply)).all()) == 1
    assert len(outbox(settings)) == 1


def test_without_its_heartbeat_a_claim_runs_out_on_the_machine_clock(engine: Engine, tmp_path: Path) -> None:
    """The other side of the test above: a claim nobody renews is free once a lease has passed on the clock."""
    settings = settings_for(engine, tmp_path, lease_seconds=60)
    arrive(engine, settings, (CORPUS / "netease_sh_word_only.eml").read_bytes())
    now = [datetime.now(UTC)]
    clock = Clock(real=lambda: now[0])
    first = Pipeline(engine, settings, worker="first", clock=clock)
    assert first.claim(MessageState.received) is not None
    other = Pipeline(engine, settings, worker="other", clock=clock)
    assert other.claim(MessageState.received) is None
    now[0] += first.lease * 1.01
    assert other.claim(MessageState.received) is not None


class WorkerDied(BaseException):
    """What the pipeline sees of a worker process killed mid-step: nothing; the step just never ends."""


def test_a_mail_that_kills_its_worker_every_time_goes_to_staff_and_its_sender_is_told(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(engine, tmp_path, now=REHEARSAL.isoformat())
    raw = (CORPUS / "netease_sh_word_only.eml").read_bytes()
    message_id = arrive(engine, settings, raw)
    parses = 0

    def deadly(*args: Any, **kwargs: Any) -> Any:
        nonlocal parses
        parses += 1
        raise WorkerDied()

    monkeypatch.setattr(pipeline_module, "parse_attachments", deadly)
    moment = real_now()
    for round_number in range(3 * MAX_ATTEMPTS):  # bounded: without counting, this would go on forever
        pipeline = Pipeline(engine, settings, worker=f"worker-{round_number}", clock=frozen(moment, REHEARSAL))
        try:
            if not pipeline.run_once():
                break
        except WorkerDied:
            pass
        moment += pipeline.lease + timedelta(seconds=1)  # the dead worker's claim runs out
    assert parses == MAX_ATTEMPTS
    row = message(engine, message_id)
    assert row.state is MessageState.failed
    assert row.last_error is not None and "cut off" in row.last_error
    with Session(engine) as session:
        [event] = session.exec(select(AuditEvent).where(AuditEvent.action == "failed")).all()
        assert (event.detail["step"], event.detail["notice"], event.detail["to"]) == ("parse", "pending", "escalated")
        [notice] = session.exec(select(Reply)).all()
        assert notice.state is ReplyState.sent
    [sent] = outbox(settings)
    assert "转交工作人员人工处理" in body_of(bytes(sent))


def test_a_mail_cut_off_by_its_worker_once_is_answered_and_the_try_is_counted(engine: Engine, tmp_path: Path) -> None:
    settings = settings_for(engine, tmp_path)
    message_id = arrive(engine, settings, (CORPUS / "netease_sh_word_only.eml").read_bytes())
    dead = Pipeline(engine, settings, worker="dead-worker")
    assert dead.claim(MessageState.received) == message_id
    later = Pipeline(engine, settings, worker="next", clock=frozen(real_now() + dead.lease + timedelta(seconds=1)))
    claimed = later.claim_next(MessageState.received)
    assert claimed is not None and (claimed.lost_by, claimed.attempts) == ("dead-worker", 1)
    later.work(claimed)
    assert message(engine, message_id).state is MessageState.parsed  # and the count starts again for the check
    drain(later)
    assert message(engine, message_id).state is MessageState.replied
    assert len(outbox(settings)) == 1


def dead_pid() -> int:
    """The pid of a process of this host that has just ended."""
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True)
    return int(finished.stdout)


def test_a_starting_service_frees_the_claims_of_its_hosts_dead_workers(engine: Engine, tmp_path: Path) -> None:
    settings = settings_for(engine, tmp_path, now=REHEARSAL.isoformat())
    raw = (CORPUS / "netease_sh_word_only.eml").read_bytes()
    holders = {
        "dead": f"{host_name()}:{dead_pid()}@123/0",
        "reused_pid": f"{host_name()}:{os.getpid()}@1/0",  # our pid, but another process's start: a restart
        "alive": worker_name(0),  # this very process
        "elsewhere": "another-host.example:1@1/0",  # another machine's worker: its lease decides
    }
    ids: dict[str, int] = {}
    for number, (name, holder) in enumerate(holders.items()):
        ids[name] = arrive(engine, settings, raw.replace(b"Message-ID: <", f"Message-ID: <{number}.".encode(), 1))
        with Session(engine) as session:
            session.exec(
                update(Message)
                .where(col(Message.id) == ids[name])
                .values(claimed_by=holder, claimed_until=real_now() + timedelta(hours=1))
            )
            session.commit()
    assert [holder_is_gone(holder) for holder in holders.values()] == [True, True, False, False]
    assert sorted(free_dead_claims(engine)) == sorted([ids["dead"], ids["reused_pid"]])
    drain(Pipeline(engine, settings))  # on the real clock, at once: not an hour later
    states = {name: message(engine, message_id).state for name, message_id in ids.items()}
    assert states == {
        "dead": MessageState.replied,
        "reused_pid": MessageState.replied,
        "alive": MessageState.received,
        "elsewhere": MessageState.received,
    }
    assert len(outbox(settings)) == 2


def test_with_ZHENGJI_NOW_a_failed_step_is_retried_on_the_real_clock(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(engine, tmp_path, now=REHEARSAL.isoformat())
    message_id = arrive(engine, settings, (CORPUS / "netease_sh_word_only.eml").read_bytes())
    real_judge = pipeline_module.judge
    checks = 0

    def once_faulty(*args: Any, **kwargs: Any) -> Any:
        nonlocal checks
        checks += 1
        if checks == 1:
            raise RuntimeError("database restarting")
        return real_judge(*args, **kwargs)

    monkeypatch.setattr(pipeline_module, "judge", once_faulty)
    start = real_now()
    drain(Pipeline(engine, settings, clock=frozen(start, REHEARSAL)))
    row = message(engine, message_id)
    assert (row.state, row.attempts) == (MessageState.parsed, 1)
    assert row.next_attempt_at is not None and start < row.next_attempt_at < start + timedelta(minutes=5)
    drain(Pipeline(engine, settings, clock=frozen(row.next_attempt_at, REHEARSAL)))
    assert message(engine, message_id).state is MessageState.replied
    [sent] = outbox(settings)
    assert "2025年6月25日" in body_of(bytes(sent))  # signed on the business day of the rehearsal


def test_a_parse_cut_short_by_the_shutdown_records_nothing_and_counts_no_try(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(engine, tmp_path)
    message_id = arrive(engine, settings, (CORPUS / "netease_sh_word_only.eml").read_bytes())
    pipeline = Pipeline(engine, settings)
    real_parse = pipeline_module.parse_attachments

    def stopped_meanwhile(*args: Any, **kwargs: Any) -> Any:
        documents = real_parse(*args, **kwargs)
        pipeline.stopping.set()  # SIGTERM arrived: the workers these documents came from may have been killed
        return documents

    monkeypatch.setattr(pipeline_module, "parse_attachments", stopped_meanwhile)
    assert pipeline.run_once() is True
    row = message(engine, message_id)
    assert (row.state, row.attempts, row.claimed_by, row.claimed_until) == (MessageState.received, 0, None, None)
    with Session(engine) as session:
        assert session.exec(select(Document)).all() == []
    assert pipeline.run_once() is False  # a stopping worker takes nothing new


def test_every_state_change_of_a_mail_is_allowed_and_audited(engine: Engine, tmp_path: Path) -> None:
    settings = settings_for(engine, tmp_path)
    message_id = arrive(engine, settings, (CORPUS / "netease_sh_word_only.eml").read_bytes())
    with Session(engine) as session, pytest.raises(TransitionError):
        move_mail(session, message_id, MessageState.received, MessageState.replied, actor="test", at=real_now())
    drain(Pipeline(engine, settings))
    with Session(engine) as session:
        events = session.exec(
            select(AuditEvent)
            .where(AuditEvent.message_id == message_id, AuditEvent.action == "state")
            .order_by(col(AuditEvent.id))
        ).all()
        moves = [(event.detail["from"], event.detail["to"], event.detail["step"]) for event in events]
    assert moves == [("received", "parsed", "parse"), ("parsed", "checked", "check"), ("checked", "replied", "reply")]
