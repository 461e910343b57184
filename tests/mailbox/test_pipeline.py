"""The pipeline end to end on a real database and a real Maildir: each mail checked once, answered once."""

from __future__ import annotations

import asyncio
import mailbox as std_mailbox
import threading
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tests.mailbox.eml_builders import foxmail_mail
from tests.mailbox.pipeline_support import CORPUS, SH, arrive, body_of, drain, frozen, outbox, settle
from zhengji.clock import real_now
from zhengji.mailbox import pipeline as pipeline_module
from zhengji.mailbox.doorbell import Doorbell
from zhengji.mailbox.envelope import receipt_time
from zhengji.mailbox.intake import Receipt, keep
from zhengji.mailbox.pipeline import LEASE, MAX_ATTEMPTS, Pipeline
from zhengji.mailbox.replies import DAILY_REPLY_CAP
from zhengji.mailbox.reprocess import ReplyOutcome, reprocess
from zhengji.mailbox.retry import retry_failed
from zhengji.mailbox.workers import PipelineComponent
from zhengji.settings import Settings, load_settings
from zhengji.storage.blobs import LocalBlobStore, blob_store
from zhengji.storage.models import (
    AuditEvent,
    Document,
    Message,
    MessageSource,
    MessageState,
    Reply,
    ReplyState,
    Submission,
)
from zhengji.storage.status import Decision, SubmissionStatus, Verdict, record_decision, record_verdict


@pytest.fixture
def settings(engine: Engine, tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path / "var", database_url=engine.url.render_as_string(hide_password=False))


def test_a_mail_is_checked_and_answered_once(engine: Engine, settings: Settings) -> None:
    raw = (CORPUS / "netease_sh_word_only.eml").read_bytes()
    message_id = arrive(engine, settings, raw)
    pipeline = Pipeline(engine, settings)
    assert drain(pipeline) == 3  # parse, check, reply
    assert drain(pipeline) == 0
    with Session(engine) as session:
        message = session.get(Message, message_id)
        assert message is not None and message.state is MessageState.replied
        submission = session.exec(select(Submission)).one()
        assert (submission.track, submission.status.value, submission.version) == ("new_occupation", "incomplete", 1)
        assert len(session.exec(select(Document)).all()) == 2
        reply = session.exec(select(Reply)).one()
        assert reply.state is ReplyState.sent
    [sent] = outbox(settings)
    parsed = message_from_bytes(bytes(sent), policy=policy.default)
    original = message_from_bytes(raw, policy=policy.default)
    assert parsed["To"] == "hr@yiwu-tech.com.cn"
    assert parsed["In-Reply-To"] == original["Message-ID"]
    assert parsed["Auto-Submitted"] == "auto-replied"
    assert submission.reference in str(parsed["Subject"])
    body = parsed.get_body().get_content()  # type: ignore[union-attr]
    assert "缺少PDF电子版" in body and submission.reference in body


def test_an_answer_to_our_reply_is_a_new_version_of_the_case(engine: Engine, settings: Settings) -> None:
    arrive(engine, settings, (CORPUS / "netease_sh_word_only.eml").read_bytes())
    pipeline = Pipeline(engine, settings)
    drain(pipeline)
    with Session(engine) as session:
        reference = session.exec(select(Submission)).one().reference
    complete = (CORPUS / "foxmail_sh_complete.eml").read_bytes()
    amended = complete.replace(b"Subject: ", f"Subject: Re: {reference} ".encode(), 1)
    arrive(engine, settings, amended)
    drain(pipeline)
    with Session(engine) as session:
        submission = session.exec(select(Submission)).one()
        assert submission.version == 2
        assert submission.status.value == "complete"
        documents = session.exec(select(Document)).all()
        assert sum(not document.superseded for document in documents) == 4
        assert sum(document.superseded for document in documents) == 2
    replies = sorted(outbox(settings), key=lambda sent: str(sent["Date"] or "") + str(sent["Message-ID"]))
    second = next(sent for sent in replies if "本次为补正材料" in _body(sent))
    body = _body(second)
    received_line = next(line for line in body.splitlines() if "本次新收到：" in line)
    assert "新职业信息建议书.pdf" in received_line and "新职业汇总表.pdf" in received_line
    assert body.count("已更正：") == 2 and "缺少PDF电子版" in body
    assert len(replies) == 2


def _body(sent: std_mailbox.MaildirMessage) -> str:
    return body_of(bytes(sent))


def test_automatic_mail_is_kept_but_never_answered(engine: Engine, settings: Settings) -> None:
    raw = (CORPUS / "netease_sh_word_only.eml").read_bytes()
    auto = raw.replace(b"Subject: ", b"Auto-Submitted: auto-replied\r\nSubject: ", 1)
    message_id = arrive(engine, settings, auto)
    drain(Pipeline(engine, settings))
    with Session(engine) as session:
        message = session.get(Message, message_id)
        assert message is not None and message.state is MessageState.ignored
        assert session.exec(select(Reply)).all() == []
    assert outbox(settings) == []


def test_replies_to_one_sender_are_capped_per_day(engine: Engine, settings: Settings) -> None:
    raw = foxmail_mail("咨询", ("某人", "loop@example.com"), [SH], "请问", [])
    received = b"Received: by mx; Sat, 21 Jun 2025 10:00:00 +0800\r\n"
    for number in range(DAILY_REPLY_CAP + 2):
        arrive(engine, settings, received + raw.replace(b"Message-ID: <", f"Message-ID: <{number}.".encode(), 1))
    drain(Pipeline(engine, settings), limit=500)
    with Session(engine) as session:
        states = [reply.state for reply in session.exec(select(Reply)).all()]
    assert states.count(ReplyState.sent) == DAILY_REPLY_CAP
    assert states.count(ReplyState.suppressed) == 2
    assert len(outbox(settings)) == DAILY_REPLY_CAP


def test_a_worker_that_died_leaves_its_mail_to_another(engine: Engine, settings: Settings) -> None:
    message_id = arrive(engine, settings, (CORPUS / "netease_sh_word_only.eml").read_bytes())
    dead = Pipeline(engine, settings, worker="dead-worker")
    assert dead.claim(MessageState.received) == message_id  # then it "crashes" without finishing
    alive = Pipeline(engine, settings, worker="alive")
    assert alive.run_once() is False  # the lease still holds
    later = frozen(real_now() + LEASE + timedelta(seconds=1))
    drain(Pipeline(engine, settings, worker="alive", clock=later))
    with Session(engine) as session:
        assert len(session.exec(select(Reply)).all()) == 1
    assert len(outbox(settings)) == 1


def test_a_failing_step_is_retried_later(engine: Engine, settings: Settings) -> None:
    message_id = arrive(engine, settings, (CORPUS / "netease_sh_word_only.eml").read_bytes())
    LocalBlobStore(settings.blob_dir).path(_sha(engine, message_id)).write_bytes(b"damaged")
    pipeline = Pipeline(engine, settings)
    assert pipeline.run_once() is True
    with Session(engine) as session:
        message = session.get(Message, message_id)
        assert message is not None
        assert (message.state, message.attempts) == (MessageState.received, 1)
        assert message.next_attempt_at is not None and message.last_error
        assert message.claimed_by is None
    assert pipeline.run_once() is False  # not due yet


def _sha(engine: Engine, message_id: int) -> str:
    with Session(engine) as session:
        message = session.get(Message, message_id)
        assert message is not None
        return message.sha256


def _as_old_parser_said(engine: Engine, verdict: Verdict) -> int:
    """Pretend an older parser had stored another verdict; returns the submission id."""
    with Session(engine) as session:
        submission = session.exec(select(Submission)).one()
        assert submission.id is not None
        record_verdict(session, submission, verdict, actor="pipeline", detail={"findings": []})
        session.commit()
        return submission.id


def _decided(engine: Engine, decision: Decision) -> int:
    """A reviewer's decision on the only case; returns the submission id."""
    with Session(engine) as session:
        submission = session.exec(select(Submission)).one()
        assert submission.id is not None
        record_decision(session, submission, decision, actor="王老师", reason="请补充PDF版")
        session.commit()
        return submission.id


def test_reprocess_parses_again_without_a_second_reply(engine: Engine, settings: Settings) -> None:
    arrive(engine, settings, (CORPUS / "netease_sh_word_only.eml").read_bytes())
    pipeline = Pipeline(engine, settings)
    drain(pipeline)
    submission_id = _as_old_parser_said(engine, Verdict.complete)
    done = reprocess(pipeline, submission_id)
    assert (done.before, done.after, done.changed) == (SubmissionStatus.complete, SubmissionStatus.incomplete, True)
    assert done.reply is ReplyOutcome.not_asked
    with Session(engine) as session:
        documents = session.exec(select(Document)).all()
        assert sum(document.superseded for document in documents) == 2
        assert sum(not document.superseded for document in documents) == 2
        assert all(document.size > 0 and document.submission_id == submission_id for document in documents)
        assert len(session.exec(select(Reply)).all()) == 1
    assert drain(pipeline) == 0
    assert len(outbox(settings)) == 1


def test_reprocess_with_reply_sends_one_corrected_answer_when_the_verdict_changed(
    engine: Engine, settings: Settings
) -> None:
    raw = (CORPUS / "netease_sh_word_only.eml").read_bytes()
    message_id = arrive(engine, settings, raw)
    pipeline = Pipeline(engine, settings)
    drain(pipeline)
    submission_id = _as_old_parser_said(engine, Verdict.complete)
    done = reprocess(pipeline, submission_id, reply=True)
    assert done.reply is ReplyOutcome.queued
    assert drain(pipeline) == 1  # the reply step, nothing else
    replies = outbox(settings)
    assert len(replies) == 2
    corrected = next(sent for sent in replies if "重新核验" in _body(sent))
    original = message_from_bytes(raw, policy=policy.default)
    assert corrected["In-Reply-To"] == original["Message-ID"]
    assert "以本邮件为准" in _body(corrected) and "缺少PDF电子版" in _body(corrected)
    assert len({str(sent["Message-ID"]) for sent in replies}) == 2
    with Session(engine) as session:
        message = session.get(Message, message_id)
        assert message is not None and message.state is MessageState.replied
        rows = session.exec(select(Reply).order_by(Reply.sequence)).all()  # type: ignore[arg-type]
        assert [(reply.sequence, reply.state) for reply in rows] == [(1, ReplyState.sent), (2, ReplyState.sent)]
    # Asked again with nothing new to say: the applicant already has this verdict.
    again = reprocess(pipeline, submission_id, reply=True)
    assert (again.changed, again.reply) == (False, ReplyOutcome.unchanged)
    assert drain(pipeline) == 0 and len(outbox(settings)) == 2


def test_reprocess_leaves_a_decided_case_to_its_reviewer(engine: Engine, settings: Settings) -> None:
    arrive(engine, settings, (CORPUS / "netease_sh_word_only.eml").read_bytes())
    pipeline = Pipeline(engine, settings)
    drain(pipeline)
    _as_old_parser_said(engine, Verdict.complete)
    submission_id = _decided(engine, Decision.returned)
    done = reprocess(pipeline, submission_id, reply=True)
    assert (done.before, done.after, done.reply) == (
        SubmissionStatus.returned,
        SubmissionStatus.returned,
        ReplyOutcome.reviewer,
    )
    with Session(engine) as session:  # the verdict follows the new reading; the decision stands
        submission = session.get(Submission, submission_id)
        assert submission is not None
        assert (submission.verdict, submission.decision) == (Verdict.incomplete, Decision.returned)
    assert drain(pipeline) == 0 and len(outbox(settings)) == 1


def test_reprocess_does_not_touch_a_mail_a_worker_holds(engine: Engine, settings: Settings) -> None:
    arrive(engine, settings, (CORPUS / "netease_sh_word_only.eml").read_bytes())
    pipeline = Pipeline(engine, settings)
    pipeline.run_once()
    pipeline.run_once()  # parsed and checked; the reply is still to go
    with Session(engine) as session:
        submission_id = session.exec(select(Submission)).one().id
    assert submission_id is not None
    assert pipeline.claim(MessageState.checked) is not None
    done = reprocess(pipeline, submission_id, reply=True)
    assert done.reply is ReplyOutcome.busy
    with Session(engine) as session:
        assert not any(document.superseded for document in session.exec(select(Document)).all())


def test_parsing_happens_once_even_when_checking_fails(
    engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    message_id = arrive(engine, settings, (CORPUS / "netease_scanned_pdf_with_word_twin.eml").read_bytes())
    pipeline = Pipeline(engine, settings)
    assert pipeline.run_once() is True
    with Session(engine) as session:
        message = session.get(Message, message_id)
        assert message is not None and message.state is MessageState.parsed
        stored = session.exec(select(Document)).all()
        assert len(stored) == 4 and all(document.submission_id is None for document in stored)

    def no_parsing(*args: object, **kwargs: object) -> None:
        raise AssertionError("parsed twice")

    monkeypatch.setattr(pipeline_module, "parse_attachments", no_parsing)
    assert drain(pipeline) == 2  # check, reply: from the stored documents
    with Session(engine) as session:
        submission = session.exec(select(Submission)).one()
        assert submission.status is SubmissionStatus.complete
        documents = session.exec(select(Document).order_by(Document.id)).all()  # type: ignore[arg-type]
        # Filed as judged: the scanned PDF took the form of its WORD twin.
        assert sorted(document.form for document in documents) == [
            "new_occupation_proposal",
            "new_occupation_proposal",
            "new_occupation_summary",
            "new_occupation_summary",
        ]
        assert all(document.submission_id == submission.id for document in documents)


def test_a_worker_whose_lease_ran_out_cannot_record_over_another(engine: Engine, settings: Settings) -> None:
    message_id = arrive(engine, settings, (CORPUS / "netease_sh_word_only.eml").read_bytes())
    slow = Pipeline(engine, settings, worker="slow")
    assert slow.claim(MessageState.received) == message_id
    drain(Pipeline(engine, settings, worker="fast", clock=frozen(real_now() + LEASE + timedelta(seconds=1))))
    slow.parse(message_id)  # finishes its work at last, long after its lease
    with Session(engine) as session:
        assert len(session.exec(select(Document)).all()) == 2
        assert len(session.exec(select(Reply)).all()) == 1
    assert len(outbox(settings)) == 1


def test_back_filled_old_mail_is_filed_but_not_answered(engine: Engine, settings: Settings) -> None:
    raw = (CORPUS / "netease_sh_word_only.eml").read_bytes()
    received = receipt_time(raw)
    assert received is not None
    blobs = blob_store(settings)
    old = keep(engine, blobs, raw, Receipt(MessageSource.file, "ingest", received, reply_wanted=False))
    drain(Pipeline(engine, settings))
    with Session(engine) as session:
        message = session.get(Message, old.id)
        assert message is not None and message.state is MessageState.replied
        submission = session.exec(select(Submission)).one()
        assert submission.status is SubmissionStatus.incomplete
        reply = session.exec(select(Reply)).one()
        assert reply.state is ReplyState.suppressed and "缺少PDF电子版" in reply.body
        reasons = [event.detail.get("reason") for event in session.exec(select(AuditEvent)).all()]
        assert "backfill" in reasons
    assert outbox(settings) == []


def test_a_mail_that_keeps_failing_goes_to_staff_and_its_sender_is_told(
    engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = (CORPUS / "netease_sh_word_only.eml").read_bytes()
    message_id = arrive(engine, settings, raw)
    checks = []

    def faulty_check(*args: object, **kwargs: object) -> None:
        checks.append(1)
        raise RuntimeError("a fault in the check")

    monkeypatch.setattr(pipeline_module, "judge", faulty_check)
    waited = settle(engine, settings)
    assert len(checks) == MAX_ATTEMPTS
    assert timedelta(minutes=20) < waited < timedelta(hours=1)  # retried for half an hour, not at once
    with Session(engine) as session:
        message = session.get(Message, message_id)
        assert message is not None and message.state is MessageState.failed
        assert message.last_error is not None and "a fault in the check" in message.last_error
        [event] = session.exec(select(AuditEvent).where(AuditEvent.action == "failed")).all()
        assert (event.message_id, event.detail["step"], event.detail["notice"]) == (message_id, "check", "pending")
        [notice] = session.exec(select(Reply)).all()
        assert (notice.sequence, notice.state, notice.submission_id) == (1, ReplyState.sent, None)
        assert session.exec(select(Submission)).all() == []
    [sent] = outbox(settings)
    original = message_from_bytes(raw, policy=policy.default)
    assert sent["To"] == "hr@yiwu-tech.com.cn" and sent["In-Reply-To"] == original["Message-ID"]
    assert sent["Auto-Submitted"] == "auto-replied"
    body = _body(sent)
    assert "转交工作人员人工处理" in body and "无需重复发送" in body
    assert "上海市职业技能鉴定中心" in body and "2025年6月23日16时45分" in body and "受理编号" not in body

    # The fault is fixed; a clerk puts the mail back. It resumes at the check, and the verdict follows.
    monkeypatch.undo()
    [retried] = retry_failed(engine, blob_store(settings), Pipeline(engine, settings).now())
    assert (retried.message_id, retried.step) == (message_id, MessageState.parsed)
    assert "a fault in the check" in retried.last_error
    settle(engine, settings)
    with Session(engine) as session:
        message = session.get(Message, message_id)
        assert message is not None and message.state is MessageState.replied
        submission = session.exec(select(Submission)).one()
        replies = session.exec(select(Reply).order_by(Reply.sequence)).all()  # type: ignore[arg-type]
        assert [(reply.sequence, reply.state) for reply in replies] == [(1, ReplyState.sent), (2, ReplyState.sent)]
        assert len(session.exec(select(Document)).all()) == 2  # parsed once, before the fault
    verdict = next(sent for sent in outbox(settings) if "转交工作人员" not in _body(sent))
    assert "缺少PDF电子版" in _body(verdict) and submission.reference in _body(verdict)
    assert len(outbox(settings)) == 2


def test_an_unreadable_stored_mail_goes_to_staff_without_a_notice(engine: Engine, settings: Settings) -> None:
    message_id = arrive(engine, settings, (CORPUS / "netease_sh_word_only.eml").read_bytes())
    LocalBlobStore(settings.blob_dir).path(_sha(engine, message_id)).write_bytes(b"damaged")
    settle(engine, settings)
    with Session(engine) as session:
        message = session.get(Message, message_id)
        assert message is not None and message.state is MessageState.failed
        assert message.last_error is not None and "damaged" in message.last_error
        [event] = session.exec(select(AuditEvent).where(AuditEvent.action == "failed")).all()
        assert (event.detail["step"], event.detail["notice"]) == ("parse", None)
        assert session.exec(select(Reply)).all() == []  # who sent it, and whether it is automatic, is unknown
    assert outbox(settings) == []


def test_each_step_has_its_own_retries(engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    message_id = arrive(engine, settings, (CORPUS / "netease_sh_word_only.eml").read_bytes())
    real_parse, real_judge = pipeline_module.parse_attachments, pipeline_module.judge
    calls = {"parse": 0, "check": 0}

    def slow_disk(*args: Any, **kwargs: Any) -> Any:
        calls["parse"] += 1
        if calls["parse"] < MAX_ATTEMPTS:  # the parse step succeeds at its last try
            raise OSError("disk busy")
        return real_parse(*args, **kwargs)

    def one_fault(*args: Any, **kwargs: Any) -> Any:
        calls["check"] += 1
        if calls["check"] == 1:
            raise RuntimeError("database restarting")
        return real_judge(*args, **kwargs)

    monkeypatch.setattr(pipeline_module, "parse_attachments", slow_disk)
    monkeypatch.setattr(pipeline_module, "judge", one_fault)
    settle(engine, settings)
    assert calls == {"parse": MAX_ATTEMPTS, "check": 2}
    with Session(engine) as session:
        message = session.get(Message, message_id)
        # Had the check's one fault counted on top of the parse step's five, the mail would have gone to staff.
        assert message is not None and message.state is MessageState.replied and message.attempts == 0
    assert len(outbox(settings)) == 1


def test_a_reply_continues_the_whole_thread(engine: Engine, settings: Settings) -> None:
    raw = (CORPUS / "netease_sh_word_only.eml").read_bytes()
    thread = b"In-Reply-To: <b@zhengji.local>\r\nReferences: <a@yiwu-tech.com.cn>\r\n <b@zhengji.local>\r\n"
    arrive(engine, settings, raw.replace(b"Subject: ", thread + b"Subject: ", 1))
    drain(Pipeline(engine, settings))
    [sent] = outbox(settings)
    original = message_from_bytes(raw, policy=policy.default)
    assert sent["In-Reply-To"] == original["Message-ID"]
    assert str(sent["References"]).split() == ["<a@yiwu-tech.com.cn>", "<b@zhengji.local>", original["Message-ID"]]


def test_a_stored_mail_wakes_the_idle_workers_without_waiting_for_their_poll(
    engine: Engine, settings: Settings
) -> None:
    """In ``serve`` intake rings the doorbell; a worker waiting out an hour-long poll takes the mail up at once."""
    doorbell = Doorbell()
    component = PipelineComponent(engine, settings, idle_seconds=3600, workers=1, doorbell=doorbell)
    [pipeline] = component.pipelines
    idle = threading.Event()
    real_run_once = pipeline.run_once

    def run_once() -> bool:
        busy = real_run_once()
        if not busy:
            idle.set()  # found nothing: it now waits for the bell or the hour
        return busy

    pipeline.run_once = run_once  # type: ignore[method-assign]
    raw = (CORPUS / "netease_sh_word_only.eml").read_bytes()

    async def scenario() -> MessageState:
        stop = asyncio.Event()
        running = asyncio.create_task(component.run(stop))
        assert await asyncio.to_thread(idle.wait, 60)
        message_id = await asyncio.to_thread(arrive, engine, settings, raw)
        doorbell.ring()
        state = MessageState.received
        for _ in range(600):  # up to a minute, not the hour of the poll
            with Session(engine) as session:
                message = session.get(Message, message_id)
                assert message is not None
                state = message.state
            if state is MessageState.replied:
                break
            await asyncio.sleep(0.1)
        stop.set()
        await asyncio.wait_for(running, timeout=30)  # stopping rings too: the waiting worker ends at once
        return state

    assert asyncio.run(scenario()) is MessageState.replied
    assert len(outbox(settings)) == 1
