"""``zhengji serve`` stopped or killed while a slow mail is being parsed, then started again in a rehearsal.

A slow mail here is a zip of legacy Word files, each converted by LibreOffice in a parser worker: seconds of
work, as a zip of forty such files is minutes. SIGTERM must end the service, its workers and LibreOffice within
seconds without recording half a parse; after a SIGKILL, the restarted service (``ZHENGJI_NOW`` fixed, so that
only the real clock can free a claim) must answer every mail exactly once within two minutes.
"""

from __future__ import annotations

import io
import mailbox as std_mailbox
import shutil
import smtplib
import time
import zipfile
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path

import psutil
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from tests.conftest import need_server
from tests.mailbox.crash_support import FIXTURES, MAILBOX, Service, TestMail, small_mail
from tests.servers.ports import free_port
from zhengji.clock import SHANGHAI
from zhengji.mailbox.mime import parse_mail
from zhengji.storage.db import make_engine
from zhengji.storage.models import Document, Message, MessageState, Reply, ReplyState

REHEARSAL = datetime(2025, 6, 23, 16, 45, tzinfo=SHANGHAI)
ANSWERED_WITHIN = 120.0  # seconds after the restart
WORD_FILES = 4


@pytest.fixture(autouse=True)
def libreoffice() -> None:
    if shutil.which("soffice") is None and shutil.which("libreoffice") is None:
        need_server("LibreOffice (legacy Word files are converted by it)")


def slow_mail() -> TestMail:
    """A zip of legacy .doc forms: every member goes through LibreOffice, one after another."""
    incoming = parse_mail((FIXTURES / "wps_skill_level_doc_and_pdf.eml").read_bytes())
    legacy = next(item.data for item in incoming.attachments if item.filename.endswith(".doc"))
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as members:
        for number in range(WORD_FILES):
            members.writestr(f"推荐表{number + 1}.doc", legacy)
    message = EmailMessage(policy=SMTP_POLICY)
    message["Message-ID"] = "<slow-zip@foxmail.com>"
    message["From"] = "某职业技能鉴定站 <slow@foxmail.com>"
    message["To"] = MAILBOX
    message["Subject"] = "社会化职业技能等级认定职业推荐表（压缩包）"
    message["Date"] = "Mon, 23 Jun 2025 16:40:00 +0800"
    message.set_content("您好，推荐表见附件压缩包，请查收。\n")
    message.add_attachment(archive.getvalue(), maintype="application", subtype="zip", filename="推荐表.zip")
    return TestMail(str(message["Message-ID"]), "slow@foxmail.com", message.as_bytes())


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    running = Service(tmp_path / "var", tmp_path, imap_url="", smtp_port=free_port(), web_port=free_port())
    try:
        yield running
    finally:
        running.ensure_dead()


def send(service: Service, mails: list[TestMail]) -> None:
    with smtplib.SMTP("127.0.0.1", service.smtp_port, timeout=30) as client:
        for mail in mails:
            assert client.sendmail(mail.sender, [MAILBOX], mail.raw) == {}


def row_of(engine: Engine, message_id: str) -> Message | None:
    with Session(engine) as session:
        return session.exec(select(Message).where(Message.message_id == message_id)).first()


def wait_until_parsing(engine: Engine, service: Service, mail: TestMail) -> Message:
    """Once a worker has held the slow mail for a while: LibreOffice is converting its files by then."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert service.alive(), service.output()[-3000:]
        row = row_of(engine, mail.message_id)
        if row is not None and row.state is MessageState.received and row.claimed_by is not None:
            time.sleep(1.5)
            row = row_of(engine, mail.message_id)
            assert row is not None and row.state is MessageState.received, "the slow mail was not slow"
            return row
        time.sleep(0.05)
    raise AssertionError(f"nobody took up the slow mail:\n{service.output()[-3000:]}")


def wait_until_answered(engine: Engine, service: Service, count: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert service.alive(), service.output()[-3000:]
        with Session(engine) as session:
            states = [row.state for row in session.exec(select(Message)).all()]
        if len(states) == count and all(state is MessageState.replied for state in states):
            return
        time.sleep(0.2)
    with Session(engine) as session:
        rows = session.exec(select(Message).order_by(col(Message.id))).all()
        stuck = [(row.message_id, row.state.value, row.attempts, row.claimed_by, row.claimed_until) for row in rows]
    raise AssertionError(f"not every mail answered within {seconds:g} s: {stuck}\n{service.output()[-4000:]}")


def answered_once(tmp_path: Path, engine: Engine, mails: list[TestMail]) -> None:
    """Every mail has one reply, sent, and the outbox holds exactly one mail in reply to each."""
    outbox = std_mailbox.Maildir(tmp_path / "var" / "outbox", create=False)
    in_reply_to = Counter(str(outbox[key]["In-Reply-To"]) for key in outbox.iterkeys())
    assert in_reply_to == Counter(mail.message_id for mail in mails)
    with Session(engine) as session:
        replies = session.exec(select(Reply)).all()
    assert sorted(reply.state for reply in replies) == [ReplyState.sent] * len(mails)


def test_sigterm_while_a_slow_mail_is_parsed_stops_everything_within_seconds(service: Service, tmp_path: Path) -> None:
    slow = slow_mail()
    service.start(REHEARSAL)
    service.wait_listening()
    engine = make_engine(f"sqlite:///{tmp_path / 'var' / 'zhengji.db'}")
    try:
        send(service, [slow])
        wait_until_parsing(engine, service, slow)
        assert service.process is not None
        family = psutil.Process(service.process.pid).children(recursive=True)
        assert family, "the service runs its parsers in processes of their own"
        stopping = time.monotonic()
        assert service.stop(seconds=20) == 0, service.output()[-3000:]
        stopped = time.monotonic() - stopping
        _, left = psutil.wait_procs(family, timeout=10)
        assert left == [], f"still running after the service stopped: {[process.pid for process in left]}"
        print(f"serve stopped {stopped:.1f} s after SIGTERM, its {len(family)} parser processes with it")

        # Nothing of the interrupted parse was recorded, no try was counted, and the claim was given back.
        row = row_of(engine, slow.message_id)
        assert row is not None
        assert (row.state, row.attempts, row.claimed_by) == (MessageState.received, 0, None)
        with Session(engine) as session:
            assert session.exec(select(Document)).all() == []

        service.start(REHEARSAL)
        service.wait_listening()
        wait_until_answered(engine, service, 1, ANSWERED_WITHIN)
        assert service.stop(seconds=20) == 0, service.output()[-3000:]
        answered_once(tmp_path, engine, [slow])
        with Session(engine) as session:
            assert len(session.exec(select(Document)).all()) == WORD_FILES  # parsed once, in full
    finally:
        engine.dispose()


def test_after_a_sigkill_during_a_slow_parse_every_mail_is_answered_once_soon_after_the_restart(
    service: Service, tmp_path: Path
) -> None:
    slow = slow_mail()
    before = [small_mail("kill", number, with_attachment=number == 1) for number in range(3)]
    after = [small_mail("kill", number, with_attachment=False) for number in range(3, 6)]
    service.start(REHEARSAL)
    service.wait_listening()
    engine = make_engine(f"sqlite:///{tmp_path / 'var' / 'zhengji.db'}")
    try:
        send(service, [slow, *before])
        held = wait_until_parsing(engine, service, slow)
        send(service, after)
        service.kill()  # SIGKILL of the whole service, as the OOM killer or a power cut would

        # Same ZHENGJI_NOW as before: a claim that only the business clock could free would never be freed.
        service.start(REHEARSAL)
        restarted = time.monotonic()
        service.wait_listening()
        wait_until_answered(engine, service, 1 + len(before) + len(after), ANSWERED_WITHIN)
        print(f"every mail answered {time.monotonic() - restarted:.1f} s after the restart")
        assert service.stop(seconds=20) == 0, service.output()[-3000:]
        answered_once(tmp_path, engine, [slow, *before, *after])
        row = row_of(engine, slow.message_id)
        assert row is not None and held.claimed_by is not None
        with Session(engine) as session:
            taken_over = session.exec(select(Message.last_error).where(Message.message_id == slow.message_id)).one()
        assert taken_over is not None and held.claimed_by in taken_over  # the cut-off parse was counted as a try
    finally:
        engine.dispose()
