"""Hostile mail through the running service: every input of issue 10, on SQLite and on PostgreSQL.

``zhengji serve`` runs as an operator runs it (SMTP on loopback, replies to the Maildir ``DATA_DIR/outbox``), once
per database. Each hostile mail is sent as an attacker or a broken client sends it (``hostile_builders``), while
a second connection keeps sending ordinary applicants' mail, which must hear ``250`` throughout. Afterwards the
tests read what the sender and an operator would: the SMTP answers, the stored mails, and the replies in the
outbox, each threaded to its mail by ``In-Reply-To``. Every mail accepted must be stored once and answered once.

One run per database sends everything; the tests below each check one input of that run, so that a failure
names the input it is about.
"""

from __future__ import annotations

import mailbox as std_mailbox
import re
import smtplib
import threading
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from tests.conftest import fresh_postgres_database, need_server
from tests.mailbox import hostile_builders as build
from tests.mailbox.crash_support import Service
from tests.mailbox.hostile_builders import FORGED_VERDICT, MAILBOX, HostileMail
from tests.servers.ports import free_port
from zhengji.clock import SHANGHAI
from zhengji.storage.blobs import LocalBlobStore
from zhengji.storage.db import make_engine
from zhengji.storage.models import Message, MessageState

NOW = datetime(2025, 6, 23, 16, 45, tzinfo=SHANGHAI)  # inside the June window of the notices
SETTLE_SECONDS = 90.0  # every mail must be answered within this after the last hostile one is sent
ORDINARY_EVERY = 0.4  # seconds between two ordinary mails on the second connection
ORDINARY_MAX = 40
FINAL = {MessageState.replied.value, MessageState.ignored.value, MessageState.failed.value}
BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


@dataclass
class Sent:
    """What the sending side saw for one mail."""

    mail: HostileMail
    code: int = 0
    answer: str = ""
    rcpt_codes: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class Stored:
    state: str
    last_error: str | None
    size: int
    blob: bytes
    envelope_to: list[str]


@dataclass
class Run:
    """Everything one run of the service left: answers, stored mails, replies, and the service's own log."""

    database: str
    hostile: dict[str, Sent]
    ordinary: list[Sent]
    stored: dict[str, list[Stored]]  # by Message-ID
    replies: dict[str, list[EmailMessage]]  # by In-Reply-To
    exit_code: int | None
    log: str

    def reply(self, name: str) -> EmailMessage:
        """The one reply to the hostile mail ``name``, with the reason when there is none."""
        sent = self.hostile[name]
        assert sent.code == 250, f"{name} was refused: {sent.code} {sent.answer}"
        replies = self.replies.get(sent.mail.message_id, [])
        rows = self.stored.get(sent.mail.message_id, [])
        assert len(replies) == 1, (
            f"{name} on {self.database}: {len(replies)} replies; stored as "
            f"{[(row.state, (row.last_error or '')[-300:]) for row in rows]}"
        )
        return replies[0]


def body_of(reply: EmailMessage) -> str:
    part = reply.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def subject_of(reply: EmailMessage) -> str:
    return str(reply["Subject"] or "")


def clean(value: str) -> bool:
    """One printable line: no control character (CR, LF, TAB…), no line separator, no bidirectional control."""
    return not BIDI.search(value) and all(unicodedata.category(char) not in {"Cc", "Zl", "Zp"} for char in value)


class OrdinarySender(threading.Thread):
    """A second sending server: ordinary applicants' mail, one every ORDINARY_EVERY seconds until told to stop, and
    one more at once whenever :meth:`send_now` is called (right after each hostile mail, while it is processed)."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.sent: list[Sent] = []
        self.halt = threading.Event()
        self.error: BaseException | None = None
        self._lock = threading.Lock()

    def run(self) -> None:
        try:
            with smtplib.SMTP("127.0.0.1", self.port, timeout=60) as client:
                while not self.halt.is_set() and len(self.sent) < ORDINARY_MAX:
                    self._send(client)
                    self.halt.wait(ORDINARY_EVERY)
        except BaseException as error:  # reported by the tests
            self.error = error

    def send_now(self) -> None:
        with smtplib.SMTP("127.0.0.1", self.port, timeout=60) as client:
            self._send(client)

    def _send(self, client: smtplib.SMTP) -> None:
        with self._lock:
            mail = build.ordinary(len(self.sent))
            sent = Sent(mail)
            self.sent.append(sent)
        try:
            client.sendmail(mail.sender, [MAILBOX], mail.raw)
            sent.code, sent.answer = 250, "250"
        except smtplib.SMTPResponseException as refusal:
            sent.code, sent.answer = refusal.smtp_code, str(refusal.smtp_error)


def send(port: int, mail: HostileMail) -> Sent:
    """One hostile mail on its own connection, its DATA bytes exactly as built (bare LF kept)."""
    sent = Sent(mail)
    with smtplib.SMTP("127.0.0.1", port, timeout=120) as client:
        client.ehlo("mta.example.com")
        code, answer = client.mail(mail.sender)
        assert code == 250, answer
        sent.rcpt_codes = [
            (code, answer.decode("utf-8", "replace"))
            for code, answer in (client.rcpt(address) for address in mail.recipients)
        ]
        client.putcmd("data")
        code, answer = client.getreply()
        assert code == 354, answer
        wire = mail.raw.replace(b"\n.", b"\n..")  # dot-stuffing, which smtplib would do
        wire = wire[:-1] + b"\r\n.\r\n" if mail.bare_lf else wire + b".\r\n"
        client.send(wire)
        code, answer = client.getreply()
        sent.code, sent.answer = code, answer.decode("utf-8", "replace")
    return sent


def hostile_mails(encrypted_pdf: bytes) -> list[HostileMail]:
    return [
        build.crlf_subject(),
        build.forged_verdict_member(),
        build.bidi_names(),
        build.long_from(),
        build.long_subject(),
        build.long_attachment_name(),
        build.bare_lf(),
        build.many_recipients(),
        build.encrypted_pdf_alone(encrypted_pdf),
        build.truncated_docx_alone(),
        build.zip_bomb(),
        build.huge_encoded_subject(),
    ]


def _unsettled(engine_url: str, message_ids: set[str]) -> set[str]:
    engine = make_engine(engine_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT message_id, state FROM messages")).all()
    finally:
        engine.dispose()
    done = {str(mid) for mid, state in rows if str(state) in FINAL}
    return message_ids - done


def _collect(database_url: str, data_dir: Path) -> tuple[dict[str, list[Stored]], dict[str, list[EmailMessage]]]:
    engine = make_engine(database_url)
    blobs = LocalBlobStore(data_dir / "blobs")
    stored: dict[str, list[Stored]] = {}
    try:
        with Session(engine) as session:
            for row in session.exec(select(Message)).all():
                stored.setdefault(row.message_id or "", []).append(
                    Stored(row.state.value, row.last_error, row.size, blobs.get(row.sha256), list(row.envelope_to))
                )
    finally:
        engine.dispose()
    replies: dict[str, list[EmailMessage]] = {}
    outbox = data_dir / "outbox"
    if outbox.exists():
        for message in std_mailbox.Maildir(outbox, create=False):
            reply = message_from_bytes(message.as_bytes(), policy=policy.default)
            assert isinstance(reply, EmailMessage)
            replies.setdefault(str(reply["In-Reply-To"] or ""), []).append(reply)
    return stored, replies


@pytest.fixture(scope="module")
def encrypted_pdf() -> bytes:
    from tests.parsers.readers.office_files import encrypted_pdf

    try:
        return encrypted_pdf()
    except (OSError, RuntimeError) as error:  # LibreOffice makes it
        need_server(f"LibreOffice: {error}")
        raise


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def run(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, encrypted_pdf: bytes
) -> Iterator[Run]:
    """One service on one database, every hostile mail through it with ordinary mail beside; what it left."""
    tmp_path = tmp_path_factory.mktemp(f"hostile-{request.param}")
    data_dir = tmp_path / "var"
    postgres = request.param == "postgresql"
    database_url = (
        fresh_postgres_database(request.getfixturevalue("postgres_server"))
        if postgres
        else f"sqlite:///{data_dir / 'zhengji.db'}"
    )
    service = Service(
        data_dir,
        tmp_path,
        imap_url="",
        smtp_port=free_port(),
        web_port=free_port(),
        database_url=database_url if postgres else None,
    )
    mails = hostile_mails(encrypted_pdf)
    hostile: dict[str, Sent] = {}
    ordinary = OrdinarySender(service.smtp_port)
    exit_code: int | None = None
    try:
        service.start(NOW)
        service.wait_listening()
        ordinary.start()
        for mail in mails:
            hostile[mail.name] = send(service.smtp_port, mail)
            ordinary.send_now()
        expected = {sent.mail.message_id for sent in hostile.values() if sent.code == 250}
        deadline = time.monotonic() + SETTLE_SECONDS
        while _unsettled(database_url, expected) and time.monotonic() < deadline:
            assert service.alive(), f"serve stopped by itself:\n{service.output()[-4000:]}"
            time.sleep(0.3)
        ordinary.halt.set()
        ordinary.join(timeout=60)
        expected |= {sent.mail.message_id for sent in ordinary.sent if sent.code == 250}
        while _unsettled(database_url, expected) and time.monotonic() < deadline + 30:
            time.sleep(0.3)
        exit_code = service.stop()
    finally:
        service.ensure_dead()
    stored, replies = _collect(database_url, data_dir)
    if ordinary.error is not None:
        raise ordinary.error
    yield Run(request.param, hostile, ordinary.sent, stored, replies, exit_code, service.output())


def test_the_service_ran_and_stopped_cleanly(run: Run) -> None:
    assert run.exit_code == 0, run.log[-3000:]


def test_every_accepted_mail_is_stored_once_and_answered_once(run: Run) -> None:
    accepted = [sent for sent in [*run.hostile.values(), *run.ordinary] if sent.code == 250]
    problems = []
    for sent in accepted:
        rows = run.stored.get(sent.mail.message_id, [])
        replies = run.replies.get(sent.mail.message_id, [])
        # The sender of a From too long for any mail server is the subject of a test of its own, below.
        wanted = (0, 1) if sent.mail.name == "long-from" else (1,)
        if len(rows) != 1 or len(replies) not in wanted:
            states = [(row.state, (row.last_error or "")[-200:]) for row in rows]
            problems.append(f"{sent.mail.name}: {len(rows)} stored {states}, {len(replies)} replies")
    assert problems == []
    for message_id, replies in run.replies.items():
        assert len(replies) == 1, f"{message_id} was answered {len(replies)} times"


def test_a_sender_whose_from_is_too_long_is_answered_at_an_address_that_works(run: Run) -> None:
    # 400 characters cannot be delivered to (RFC 5321 4.5.3.1 allows 256), but the envelope sender the SMTP
    # server accepted can, and RFC 3834 4 sends an automatic response there in the first place: the applicant
    # needs to learn that the mail arrived and what is missing.
    reply = run.reply("long-from")
    to = str(reply["To"])
    assert "@" in to and len(to) <= 320, to


def test_intake_keeps_answering_250_to_ordinary_mail_meanwhile(run: Run) -> None:
    assert len(run.ordinary) >= len(run.hostile)  # at least one right after each hostile mail
    assert [(sent.mail.name, sent.code, sent.answer) for sent in run.ordinary if sent.code != 250] == []
    for sent in run.ordinary:
        assert len(run.replies.get(sent.mail.message_id, [])) == 1, sent.mail.name


def test_a_subject_that_decodes_to_crlf_gets_a_reply_with_a_clean_subject(run: Run) -> None:
    reply = run.reply("crlf-subject")
    subject = subject_of(reply)
    assert clean(subject), repr(subject)


def test_a_zip_member_name_cannot_print_a_verdict_line_of_its_own(run: Run) -> None:
    body = body_of(run.reply("forged-verdict"))
    lines = body.splitlines()
    assert [line for line in lines if line.strip().startswith("【审核结果】")] == []
    assert FORGED_VERDICT not in lines
    assert "\r" not in body


def test_bidirectional_overrides_never_reach_the_reply(run: Run) -> None:
    reply = run.reply("bidi")
    assert not BIDI.search(subject_of(reply))
    assert not BIDI.search(body_of(reply))
    assert not BIDI.search(str(reply["To"]))


@pytest.mark.parametrize("name", ["long-from", "long-subject", "long-name"])
def test_header_values_longer_than_their_columns_are_processed_and_kept_whole(run: Run, name: str) -> None:
    sent = run.hostile[name]
    [row] = run.stored[sent.mail.message_id]
    assert row.state in FINAL, (row.state, row.last_error)
    assert row.blob == sent.mail.raw  # the whole value stays in the raw mail
    for reply in run.replies.get(sent.mail.message_id, []):
        assert clean(subject_of(reply))
    if name != "long-from":  # its answer is the subject of the test above
        reply = run.reply(name)
        if name == "long-subject":
            assert len(subject_of(reply)) < 1120


def test_a_bare_lf_mail_over_1000_bytes_is_accepted_and_answered(run: Run) -> None:
    sent = run.hostile["bare-lf"]
    assert len(sent.mail.raw) > 1000 and b"\r" not in sent.mail.raw
    run.reply("bare-lf")
    [row] = run.stored[sent.mail.message_id]
    assert row.blob == sent.mail.raw.replace(b"\n", b"\r\n")


def test_150_rcpt_commands_are_cut_at_the_limit_and_the_mail_kept_once(run: Run) -> None:
    sent = run.hostile["rcpt-150"]
    codes = [code for code, _ in sent.rcpt_codes]
    assert len(codes) == 150
    assert codes[0] == 250 and set(codes[1:100]) == {550}
    assert set(codes[100:]) == {452}
    assert all(answer.startswith("4.5.3 Too many recipients") for _, answer in sent.rcpt_codes[100:])
    run.reply("rcpt-150")
    [row] = run.stored[sent.mail.message_id]
    assert row.envelope_to == [MAILBOX]


@pytest.mark.parametrize(
    ("name", "reason"),
    [pytest.param("encrypted-pdf", "密码", id="encrypted"), pytest.param("truncated-docx", "损坏", id="damaged")],
)
def test_a_file_that_cannot_be_read_alone_is_answered_with_the_reason(run: Run, name: str, reason: str) -> None:
    body = body_of(run.reply(name))
    assert "无法读取" in body, body
    assert reason in body, body


def test_a_zip_bomb_is_answered_without_unpacking_it(run: Run) -> None:
    body = body_of(run.reply("zip-bomb"))
    assert "申报材料.zip" in body and "无法读取" in body, body


def test_a_huge_subject_of_encoded_words_is_answered_with_a_short_subject(run: Run) -> None:
    sent = run.hostile["huge-subject"]
    assert len(sent.mail.raw) > build.HUGE_SUBJECT_BYTES * 0.9
    subject = subject_of(run.reply("huge-subject"))
    assert clean(subject)
    assert len(subject) <= 300, len(subject)
    [row] = run.stored[sent.mail.message_id]
    assert row.size == len(sent.mail.raw)
