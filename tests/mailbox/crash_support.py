"""The moving parts of the crash test: the mails, a retrying SMTP sender, an IMAP appender and a killable service.

Kept apart from the test itself so that the test reads as the story the issue tells: mail arrives, the service is
killed and restarted, and afterwards every mail is found stored, processed and answered once.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path
from typing import IO

from tests.fixtures.forms.tables_docx import cover_letter_docx
from tests.servers.dovecot import ThrowawayDovecot

MAILBOX = "yanfa312@126.com"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mail"
# Real submissions from the golden corpus, sent again under new Message-IDs and senders.
REAL_SUBMISSIONS = ("netease_sh_word_only.eml", "foxmail_sh_complete.eml", "wps_gd_complete.eml")
_HEADER = r"(?im)^{name}:.*(?:\r?\n[ \t].*)*"


@dataclass(frozen=True)
class TestMail:
    """One mail of the crash test: its Message-ID, envelope sender and raw bytes."""

    __test__ = False  # not a pytest test class

    message_id: str
    sender: str
    raw: bytes


def _replace_header(raw: bytes, name: str, value: str) -> bytes:
    pattern = re.compile(_HEADER.format(name=re.escape(name)).encode())
    replaced, count = pattern.subn(f"{name}: {value}".encode().replace(b"\\", b"\\\\"), raw, count=1)
    if count != 1:
        raise ValueError(f"no {name} header to replace")
    return replaced


def small_mail(channel: str, number: int, *, with_attachment: bool) -> TestMail:
    """A short applicant's mail, optionally with one small Word covering letter; each has its own sender."""
    sender = f"crash-{channel}-{number}@foxmail.com"
    message = EmailMessage(policy=SMTP_POLICY)
    message["Message-ID"] = f"<crash-{channel}-{number}@foxmail.com>"
    message["From"] = f"申请人{number} <{sender}>"
    message["To"] = MAILBOX
    message["Subject"] = f"新职业申报材料 第{number}份"
    message["Date"] = "Mon, 23 Jun 2025 16:40:00 +0800"
    message.set_content(f"您好，附件为申报材料（第{number}份），请查收。\n")
    if with_attachment:
        message.add_attachment(
            cover_letter_docx(),
            maintype="application",
            subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
            filename="报送函.docx",
        )
    return TestMail(str(message["Message-ID"]), sender, message.as_bytes())


def real_submission(channel: str, number: int, fixture: str) -> TestMail:
    """A golden-corpus submission with a fresh Message-ID and sender, so that it is a mail of its own."""
    sender = f"crash-{channel}-{number}@foxmail.com"
    message_id = f"<crash-{channel}-{number}@foxmail.com>"
    raw = (FIXTURES / fixture).read_bytes()
    raw = _replace_header(raw, "Message-ID", message_id)
    raw = _replace_header(raw, "From", f"<{sender}>")
    return TestMail(message_id, sender, raw)


def build_mails(channel: str, count: int, *, real: int) -> list[TestMail]:
    """``count`` mails: ``real`` golden submissions spread among them, every tenth of the others with a docx."""
    mails: list[TestMail] = []
    for number in range(count):
        if number % (count // real) == 0 and number // (count // real) < real:
            mails.append(real_submission(channel, number, REAL_SUBMISSIONS[number // (count // real)]))
        else:
            mails.append(small_mail(channel, number, with_attachment=number % 10 == 5))
    return mails


@dataclass
class SMTPLedger:
    """What the sending side knows: which mails it saw ``250`` for, and how many tries ended without an answer."""

    accepted: set[str] = field(default_factory=set)
    # Tries that sent DATA and lost the connection before the final answer: the server may have kept the mail.
    unanswered: Counter[str] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)  # 4xx answers, retried
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class SMTPSender(threading.Thread):
    """Sends its mails one after another over a reused connection, retrying as an MTA does until it sees ``250``."""

    def __init__(
        self, port: int, mails: list[TestMail], ledger: SMTPLedger, rng: random.Random, deadline: float
    ) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.mails = mails
        self.ledger = ledger
        self.rng = rng
        self.deadline = deadline
        self.client: smtplib.SMTP | None = None

    def run(self) -> None:
        try:
            for mail in self.mails:
                if not self._deliver(mail):
                    return
                time.sleep(self.rng.uniform(0.0, 0.12))
        finally:
            self._drop()

    def _drop(self) -> None:
        if self.client is not None:
            with contextlib.suppress(OSError):
                self.client.close()
            self.client = None

    def _deliver(self, mail: TestMail) -> bool:
        while time.monotonic() < self.deadline:
            in_data = False
            try:
                if self.client is None:
                    self.client = smtplib.SMTP("127.0.0.1", self.port, timeout=20)
                    self.client.ehlo("mta.example.net")
                client = self.client
                code, answer = client.mail(mail.sender)
                if code == 250:
                    code, answer = client.rcpt(MAILBOX)
                if code == 250:
                    in_data = True
                    code, answer = client.data(mail.raw)
                    in_data = False
                if code == 250:
                    with self.ledger.lock:
                        self.ledger.accepted.add(mail.message_id)
                    return True
                if code >= 500:
                    with self.ledger.lock:
                        self.ledger.errors.append(f"{mail.message_id}: {code} {answer!r}")
                    return False
                with self.ledger.lock:
                    self.ledger.refusals[mail.message_id] += 1
                client.rset()
            except smtplib.SMTPDataError as refused:  # DATA itself refused (no 354): nothing was sent
                with self.ledger.lock:
                    self.ledger.refusals[mail.message_id] += 1
                if refused.smtp_code >= 500:
                    with self.ledger.lock:
                        self.ledger.errors.append(f"{mail.message_id}: {refused.smtp_code} {refused.smtp_error!r}")
                    return False
                self._drop()
            except (OSError, smtplib.SMTPException):
                if in_data:
                    with self.ledger.lock:
                        self.ledger.unanswered[mail.message_id] += 1
                self._drop()
            time.sleep(self.rng.uniform(0.05, 0.25))
        with self.ledger.lock:
            self.ledger.errors.append(f"{mail.message_id}: not accepted before the deadline")
        return False


class IMAPAppender(threading.Thread):
    """APPENDs its mails to Dovecot at random intervals, as mail reaching the watched account."""

    def __init__(self, dovecot: ThrowawayDovecot, mails: list[TestMail], rng: random.Random) -> None:
        super().__init__(daemon=True)
        self.dovecot = dovecot
        self.mails = mails
        self.rng = rng
        self.appended: list[str] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            for mail in self.mails:
                self.dovecot.append(mail.raw)
                self.appended.append(mail.message_id)
                time.sleep(self.rng.uniform(0.0, 0.25))
        except BaseException as error:  # reported by the test, which joins this thread
            self.error = error


class Service:
    """``python -m zhengji serve`` as a subprocess in its own process group, so that a kill takes all of it.

    On PostgreSQL a kill also closes the service's connections; the server then rolls back their transactions and
    drops their row locks, which is what lets the next run claim the mails the dead one held.
    """

    def __init__(
        self,
        data_dir: Path,
        logs: Path,
        *,
        imap_url: str,
        smtp_port: int,
        web_port: int,
        database_url: str | None = None,
        environment: dict[str, str] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.environment = dict(environment or {})  # more ZHENGJI_* settings of this service
        # None leaves ZHENGJI_DATABASE_URL unset, so that serve uses its default SQLite file in the data directory.
        self.database_url = database_url
        self.logs = logs
        self.imap_url = imap_url
        self.smtp_port = smtp_port
        self.web_port = web_port
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self.runs = 0

    def start(self, now: datetime) -> None:
        environment = {key: value for key, value in os.environ.items() if not key.startswith("ZHENGJI_")}
        environment.update(
            {
                "ZHENGJI_DATA_DIR": str(self.data_dir),
                "ZHENGJI_WEB_LISTEN": f"127.0.0.1:{self.web_port}",
                "ZHENGJI_SMTP_LISTEN": f"127.0.0.1:{self.smtp_port}",
                "ZHENGJI_IMAP_URL": self.imap_url,
                "ZHENGJI_NOW": now.isoformat(),
            }
        )
        if self.database_url is not None:
            environment["ZHENGJI_DATABASE_URL"] = self.database_url
        environment.update(self.environment)
        self.runs += 1
        self._log = (self.logs / f"serve-{self.runs}.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "zhengji", "serve"],
            env=environment,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # the parser workers it forks die with it
        )

    def wait_listening(self, seconds: float = 60.0) -> None:
        """Return once the SMTP server accepts connections (the service is up)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited early:\n{self.output()[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.smtp_port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"serve did not listen within {seconds:g} s:\n{self.output()[-3000:]}")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole service, as a power cut or the OOM killer would."""
        process = self.process
        assert process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        self._close_log()

    def stop(self, seconds: float = 30.0) -> int:
        """Stop the service cleanly (SIGTERM) and return its exit code."""
        process = self.process
        assert process is not None
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=seconds)
        finally:
            if process.poll() is None:
                self.kill()
            self._close_log()
        return code

    def ensure_dead(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.kill()
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def output(self) -> str:
        return (self.logs / f"serve-{self.runs}.log").read_text(errors="replace")
