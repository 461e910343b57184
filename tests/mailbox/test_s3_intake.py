"""Mail received into an S3 store (``ZHENGJI_BLOB_URL=s3://…``), end to end on a real SeaweedFS.

The built-in SMTP server answers ``250`` only once the raw mail is an object in the bucket, the pipeline reads it
back from there, and a store that goes down makes the server answer ``451`` (the sending server tries again
later) without a row that points at nothing; after the outage every mail is there.
"""

from __future__ import annotations

import smtplib
import uuid
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tests.conftest import aws_environment, need_server
from tests.mailbox.pipeline_support import CORPUS, SH, drain, outbox
from tests.mailbox.test_smtp_server import Running, stored
from tests.servers.seaweed import SeaweedUnavailable, ThrowawaySeaweed, running_seaweed
from zhengji.mailbox.envelope import receipt_time
from zhengji.mailbox.pipeline import Pipeline
from zhengji.mailbox.smtp_server import SMTPComponent
from zhengji.settings import HostPort, Settings, load_settings
from zhengji.storage.blobs import S3BlobStore, blob_store
from zhengji.storage.models import Document, Message, MessageState, Submission

SENDER = "hr@yiwu-tech.com.cn"


def s3_settings(engine: Engine, tmp_path: Path, bucket: str, raw: bytes) -> Settings:
    """The service's settings with blobs in ``bucket``; the clock stands when the corpus mail was received."""
    return load_settings(
        data_dir=tmp_path / "var",
        database_url=engine.url.render_as_string(hide_password=False),
        mailboxes=[SH],
        smtp_listen=HostPort("127.0.0.1", 0),
        blob_url=f"s3://{bucket}/zhengji/mail",
        now=receipt_time(raw),
    )


def object_in_bucket(server: ThrowawaySeaweed, bucket: str, digest: str) -> bytes:
    """The object as another S3 client sees it, not through zhengji."""
    key = f"zhengji/mail/{digest[:2]}/{digest[2:4]}/{digest}"
    return bytes(server.client().get_object(Bucket=bucket, Key=key)["Body"].read())


def test_a_mail_is_in_the_bucket_when_250_is_answered_and_parsed_from_there(
    engine: Engine, seaweed_server: ThrowawaySeaweed, s3_bucket: str, tmp_path: Path
) -> None:
    raw = (CORPUS / "netease_sh_word_only.eml").read_bytes()
    settings = s3_settings(engine, tmp_path, s3_bucket, raw)
    with Running(SMTPComponent(settings, engine=engine)) as server, server.client() as client:
        assert client.sendmail(SENDER, [SH], raw) == {}
        [row] = stored(engine)  # at the 250, before the server stops
        assert object_in_bucket(seaweed_server, s3_bucket, row.sha256) == raw
    assert not settings.blob_dir.exists()  # nothing went to the local disk

    assert isinstance(Pipeline(engine, settings).blobs, S3BlobStore)
    assert drain(Pipeline(engine, settings)) == 3  # parse, check, reply: the mail read back from the bucket
    with Session(engine) as session:
        message = session.get(Message, row.id)
        assert message is not None and message.state is MessageState.replied
        submission = session.exec(select(Submission)).one()
        assert (submission.track, submission.status.value) == ("new_occupation", "incomplete")
        assert len(session.exec(select(Document)).all()) == 2
    [reply] = outbox(settings)
    assert submission.reference in str(message_from_bytes(bytes(reply), policy=policy.default)["Subject"])


@pytest.fixture(scope="module")
def own_seaweed() -> Iterator[ThrowawaySeaweed]:
    """A store of this module's own, which a test may stop and start again without disturbing the others."""
    try:
        with running_seaweed() as server:
            yield server
    except SeaweedUnavailable as error:
        need_server(f"SeaweedFS: {error}")


def test_an_s3_outage_answers_451_and_loses_nothing(
    engine: Engine, own_seaweed: ThrowawaySeaweed, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    aws_environment(monkeypatch, own_seaweed)
    bucket = own_seaweed.create_bucket(f"zj-{uuid.uuid4().hex[:12]}")
    before = (CORPUS / "netease_sh_word_only.eml").read_bytes()
    during = (CORPUS / "foxmail_sh_complete.eml").read_bytes()
    settings = s3_settings(engine, tmp_path, bucket, before)
    with Running(SMTPComponent(settings, engine=engine)) as server:
        with server.client() as client:
            assert client.sendmail(SENDER, [SH], before) == {}
        own_seaweed.stop_s3()
        try:
            with server.client() as client, pytest.raises(smtplib.SMTPDataError) as refused:
                client.sendmail(SENDER, [SH], during)
        finally:
            own_seaweed.start()
        assert refused.value.smtp_code == 451  # temporary: the sending server keeps the mail and tries again
        assert isinstance(refused.value.smtp_error, bytes)
        assert refused.value.smtp_error.decode().startswith("4.3.0 ")
        assert len(stored(engine)) == 1  # no row for a mail whose bytes are not in the store
        with server.client() as client:  # the sender's retry, once the store is back
            assert client.sendmail(SENDER, [SH], during) == {}
    first, second = stored(engine)
    assert object_in_bucket(own_seaweed, bucket, first.sha256) == before  # kept through the outage
    assert object_in_bucket(own_seaweed, bucket, second.sha256) == during
    store = blob_store(settings)
    assert [store.get(first.sha256), store.get(second.sha256)] == [before, during]
    drain(Pipeline(engine, settings))
    with Session(engine) as session:
        states = [session.get(Message, row.id).state for row in (first, second)]  # type: ignore[union-attr]
    assert states == [MessageState.replied, MessageState.replied]
