"""A mail is decoded once: the parse step keeps its envelope, and every later step reads that row."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from tests.mailbox.pipeline_support import CORPUS, arrive, body_of, drain, outbox
from zhengji.mailbox import mime
from zhengji.mailbox.envelope import Envelope, read_mail, stored_envelope
from zhengji.mailbox.pipeline import Pipeline
from zhengji.mailbox.replies import Replies
from zhengji.review import decisions
from zhengji.review.recheck import recheck
from zhengji.settings import Settings, load_settings
from zhengji.storage.blobs import blob_store
from zhengji.storage.models import Document, Message, Reply, Submission
from zhengji.web.staff.history import thread

MAIL = CORPUS / "netease_sh_word_only.eml"


@pytest.fixture
def settings(engine: Engine, tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path / "var", database_url=engine.url.render_as_string(hide_password=False))


@pytest.fixture
def decodings(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts how often a raw mail's headers are decoded (every decoding of a mail goes through this function)."""
    counted: list[int] = []
    real: Callable[..., Any] = mime._read_envelope

    def counting(*args: Any, **kwargs: Any) -> Any:
        counted.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(mime, "_read_envelope", counting)
    return counted


def test_the_parse_step_keeps_the_envelope_on_the_message(engine: Engine, settings: Settings) -> None:
    raw = MAIL.read_bytes()
    message_id = arrive(engine, settings, raw)
    drain(Pipeline(engine, settings))
    decoded = read_mail(raw)
    with Session(engine) as session:
        message = session.get(Message, message_id)
        assert message is not None and message.envelope is not None
        envelope = Envelope.from_json(message.envelope)
        documents = session.exec(select(Document).where(Document.message_id == message_id)).all()
    assert (envelope.from_address, envelope.subject, envelope.message_id) == (
        decoded.from_address, decoded.subject, decoded.message_id
    )  # fmt: skip
    assert envelope.reply_to == decoded.from_address and envelope.date == decoded.date
    assert [(item.filename, item.size, item.sha256) for item in envelope.attachments] == [
        (item.filename, len(item.data), hashlib.sha256(item.data).hexdigest()) for item in decoded.attachments
    ]
    # The list finds each parsed document's file by its digest.
    assert {document.sha256 for document in documents} <= {item.sha256 for item in envelope.attachments}


def test_no_step_decodes_a_mail_twice(engine: Engine, settings: Settings, decodings: list[int]) -> None:
    """Parse, check, reply, and then a reviewer's decision, the case page's thread and a re-check: one decoding."""
    message_id = arrive(engine, settings, MAIL.read_bytes())
    drain(Pipeline(engine, settings))
    assert len(decodings) == 1, "the check step read the raw mail again"
    blobs = blob_store(settings)
    with Session(engine) as session:
        submission = session.exec(select(Submission)).one()
        assert submission.id is not None
        [item] = [item for item in thread(session, submission.id, blobs) if item.incoming]
        assert "hr@" in item.sender and item.files
        recheck(session, submission, actor="王老师", at=submission.created_at, blobs=blobs, reason="更正")
        decisions.decide(session, Replies(settings), submission, "return", "请补充PDF电子版并加盖公章。",
                         actor="王老师")  # fmt: skip
        session.commit()
    drain(Pipeline(engine, settings))
    assert len(decodings) == 1, "a reviewer's step read the raw mail again"
    with Session(engine) as session:
        message = session.get(Message, message_id)
        assert message is not None and message.envelope is not None
        decision = session.exec(select(Reply).where(Reply.sequence == 2)).one()
    # The decision's mail is threaded under the applicant's mail and goes to its sender, as the envelope says.
    assert decision.to_address == message.envelope["reply_to"]
    assert decision.in_reply_to == message.envelope["message_id"]
    assert any("请补充PDF电子版并加盖公章" in body_of(mail.as_bytes()) for mail in outbox(settings))


def test_mail_stored_before_envelopes_were_kept_is_still_answered(engine: Engine, settings: Settings) -> None:
    """A mail parsed before migration 0011 has no envelope: a reviewer's mail decodes it once and reaches its sender."""
    arrive(engine, settings, MAIL.read_bytes())
    drain(Pipeline(engine, settings))
    with Session(engine) as session:
        session.exec(update(Message).values(envelope=None))
        session.commit()
        submission = session.exec(select(Submission)).one()
        message = session.exec(select(Message)).one()
        assert stored_envelope(message, blob_store(settings)).from_address == read_mail(MAIL.read_bytes()).from_address
        decisions.decide(session, Replies(settings), submission, "return", "请补充PDF电子版。", actor="王老师")
        session.commit()
        decision = session.exec(select(Reply).order_by(col(Reply.id).desc())).first()
    assert decision is not None and decision.to_address == read_mail(MAIL.read_bytes()).from_address
