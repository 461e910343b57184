"""The pipeline end to end on a real database and a real Maildir: each mail checked once, answered once."""

from __future__ import annotations

import mailbox as std_mailbox
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tests.mailbox.eml_builders import foxmail_mail
from zhengji.mailbox.envelope import receipt_time
from zhengji.mailbox.intake import Receipt, keep
from zhengji.mailbox.pipeline import DAILY_REPLY_CAP, LEASE, Pipeline
from zhengji.settings import Settings, load_settings
from zhengji.storage.blobs import BlobStore
from zhengji.storage.models import Document, Message, MessageSource, MessageState, Reply, ReplyState, Submission
from zhengji.storage.status import SubmissionStatus

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "mail"
SH = "yanfa312@126.com"


@pytest.fixture
def settings(engine: Engine, tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path / "var", database_url=engine.url.render_as_string(hide_password=False))


def arrive(engine: Engine, settings: Settings, raw: bytes, to: str = SH) -> int:
    received = receipt_time(raw)
    assert received is not None
    row = keep(engine, BlobStore(settings.blob_dir), raw, Receipt(MessageSource.smtp, to, received, None, [to]))
    assert row.id is not None
    return row.id


def drain(pipeline: Pipeline, limit: int = 100) -> int:
    steps = 0
    while pipeline.run_once():
        steps += 1
        assert steps < limit
    return steps


def outbox(settings: Settings) -> list[std_mailbox.MaildirMessage]:
    root = settings.outbox_dir
    return list(std_mailbox.Maildir(root, create=False)) if root.exists() else []


def test_a_mail_is_checked_and_answered_once(engine: Engine, settings: Settings) -> None:
    raw = (CORPUS / "netease_sh_word_only.eml").read_bytes()
    message_id = arrive(engine, settings, raw)
    pipeline = Pipeline(engine, settings)
    assert drain(pipeline) == 2  # check, then reply
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
    parsed = message_from_bytes(bytes(sent), policy=policy.default)
    return str(parsed.get_body().get_content())  # type: ignore[union-attr]


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
    later = load_settings(
        data_dir=settings.data_dir,
        database_url=settings.database_url,
        now=(Pipeline(engine, settings).now() + LEASE + timedelta(seconds=1)).isoformat(),
    )
    drain(Pipeline(engine, later, worker="alive"))
    with Session(engine) as session:
        assert len(session.exec(select(Reply)).all()) == 1
    assert len(outbox(later)) == 1


def test_a_failing_step_is_retried_later(engine: Engine, settings: Settings) -> None:
    message_id = arrive(engine, settings, (CORPUS / "netease_sh_word_only.eml").read_bytes())
    BlobStore(settings.blob_dir).path(_sha(engine, message_id)).write_bytes(b"damaged")
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


def test_reprocess_parses_again_without_a_second_reply(engine: Engine, settings: Settings) -> None:
    arrive(engine, settings, (CORPUS / "netease_sh_word_only.eml").read_bytes())
    pipeline = Pipeline(engine, settings)
    drain(pipeline)
    with Session(engine) as session:
        submission = session.exec(select(Submission)).one()
        assert submission.id is not None
        submission_id = submission.id
        # As if an older parser had stored a wrong verdict.
        submission.status = SubmissionStatus.complete
        session.add(submission)
        session.commit()
    assert pipeline.reprocess(submission_id) == ("complete", "incomplete")
    with Session(engine) as session:
        documents = session.exec(select(Document)).all()
        assert sum(document.superseded for document in documents) == 2
        assert sum(not document.superseded for document in documents) == 2
        assert all(document.size > 0 for document in documents if not document.superseded)
        assert len(session.exec(select(Reply)).all()) == 1
    assert len(outbox(settings)) == 1
