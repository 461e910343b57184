"""A mail loop with an auto-responder on the other side: zhengji must stop it, whatever the responder does.

``zhengji serve`` runs as an operator runs it, its outbound SMTP account pointed at an aiosmtpd server in this
process. That server plays the applicant's mail system: for every reply zhengji sends, it at once answers back
into zhengji's own SMTP inbox, from the address zhengji wrote to. A well-behaved responder marks its answer as
automatic (RFC 3834), so zhengji ignores it; a badly behaved one looks like a person writing "Re: …", so only the
daily cap per sender ends the exchange. Every loop here is bounded by a count and by a deadline.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import os
import signal
import smtplib
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlmodel import Session as DBSession
from sqlmodel import col, select

from tests.servers.ports import free_port
from zhengji.mailbox.replies import DAILY_REPLY_CAP
from zhengji.storage.db import make_engine
from zhengji.storage.models import Message, MessageState, Reply, ReplyState

MAILBOX = "yanfa312@126.com"
APPLICANT = "hr@yiwu-tech.com.cn"
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "mail" / "netease_sh_word_only.eml"
RESPONDER_LIMIT = DAILY_REPLY_CAP + 5  # the responder itself gives up here, so a broken cap cannot loop forever
QUIET_SECONDS = 3.0
DEADLINE_SECONDS = 50.0


@dataclass
class AutoResponder:
    """The aiosmtpd handler at the other end: keeps what zhengji sends and answers each mail back at once."""

    inbox_port: int
    polite: bool
    received: list[EmailMessage] = field(default_factory=list)
    sent: int = 0
    errors: list[BaseException] = field(default_factory=list)
    last_activity: float = field(default_factory=time.monotonic)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.received.append(message)
            self.last_activity = time.monotonic()
            answer = len(self.received) <= RESPONDER_LIMIT
        if answer:
            # Answer from another thread: this one is aiosmtpd's loop, which must first say 250 to zhengji.
            thread = threading.Thread(target=self._answer, args=(message,), daemon=True)
            self._threads.append(thread)
            thread.start()
        return "250 OK"

    def auto_reply(self, message: EmailMessage) -> EmailMessage:
        """What the applicant's mail system sends back for ``message``."""
        applicant = str(message["To"])
        answer = EmailMessage()
        answer["From"] = applicant
        answer["To"] = MAILBOX
        answer["Message-ID"] = email.utils.make_msgid("away", domain="yiwu-tech.com.cn")
        answer["In-Reply-To"] = str(message["Message-ID"])
        answer["Date"] = email.utils.formatdate(localtime=True)
        if self.polite:
            answer["Subject"] = f"自动回复: {message['Subject']}"
            answer["Auto-Submitted"] = "auto-replied"
            answer.set_content("您好，我正在休假，6月30日后回复您的邮件。\n")
        else:
            answer["Subject"] = f"Re: {message['Subject']}"
            answer.set_content("I am out of office until 30 June. 我不在办公室，回来后处理。\n")
        return answer

    def _answer(self, message: EmailMessage) -> None:
        try:
            answer = self.auto_reply(message)
            with smtplib.SMTP("127.0.0.1", self.inbox_port, timeout=30) as client:
                client.send_message(answer, from_addr=str(message["To"]), to_addrs=[MAILBOX])
            with self._lock:
                self.sent += 1
                self.last_activity = time.monotonic()
        except BaseException as error:
            self.errors.append(error)

    def wait_until_quiet(self, process: subprocess.Popen[bytes]) -> None:
        """Return once zhengji has sent at least one mail and nothing moved either way for QUIET_SECONDS."""
        deadline = time.monotonic() + DEADLINE_SECONDS
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError("serve exited during the exchange")
            with self._lock:
                quiet = self.received and time.monotonic() - self.last_activity >= QUIET_SECONDS
            if quiet and not any(thread.is_alive() for thread in self._threads):
                return
            time.sleep(0.1)
        raise AssertionError(f"the exchange still ran after {DEADLINE_SECONDS:g} s: {len(self.received)} replies")


def _wait_for(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited early: {log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within 60 s")


def _exchange(tmp_path: Path, polite: bool) -> tuple[AutoResponder, dict[str, Any]]:
    """Run serve against a responder, start the exchange with one applicant's mail; what each side did."""
    inbox, outbound, web = free_port(), free_port(), free_port()
    responder = AutoResponder(inbox_port=inbox, polite=polite)
    controller = Controller(responder, hostname="127.0.0.1", port=outbound, server_hostname="mx.yiwu-tech.com.cn")
    controller.start()
    environment = {key: value for key, value in os.environ.items() if not key.startswith("ZHENGJI_")}
    environment.update(
        {
            "ZHENGJI_DATA_DIR": str(tmp_path / "var"),
            "ZHENGJI_WEB_LISTEN": f"127.0.0.1:{web}",
            "ZHENGJI_SMTP_LISTEN": f"127.0.0.1:{inbox}",
            "ZHENGJI_OUTBOUND_SMTP_URL": f"smtp://127.0.0.1:{outbound}",
            "ZHENGJI_NOW": "2025-06-23T16:45:00+08:00",
        }
    )
    log = tmp_path / "serve.log"  # a file, not a pipe: nobody reads a pipe while the exchange runs
    with log.open("wb") as output:
        process = subprocess.Popen([sys.executable, "-m", "zhengji", "serve"], env=environment, stdout=output,
                                   stderr=subprocess.STDOUT)  # fmt: skip
    try:
        _wait_for(f"http://127.0.0.1:{web}/healthz", process, log)
        with smtplib.SMTP("127.0.0.1", inbox, timeout=30) as client:
            client.sendmail(APPLICANT, [MAILBOX], FIXTURE.read_bytes())
        responder.wait_until_quiet(process)
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        controller.stop()
    assert process.returncode == 0, log.read_text(errors="replace")
    assert responder.errors == []
    engine = make_engine(f"sqlite:///{tmp_path / 'var' / 'zhengji.db'}")
    with DBSession(engine) as session:
        messages = session.exec(select(Message).order_by(col(Message.id))).all()
        replies = session.exec(select(Reply).order_by(col(Reply.id))).all()
        stored = {
            "states": [message.state for message in messages],
            "replies": [(reply.to_address, reply.state) for reply in replies],
        }
    engine.dispose()
    return responder, stored


def test_a_polite_auto_reply_is_not_answered(tmp_path: Path) -> None:
    responder, stored = _exchange(tmp_path, polite=True)
    assert len(responder.received) == 1, "zhengji answered the applicant exactly once"
    assert responder.sent == 1
    first = responder.received[0]
    assert first["To"] == APPLICANT
    assert first["Auto-Submitted"] == "auto-replied"
    assert first["X-Auto-Response-Suppress"] == "All"
    assert first["In-Reply-To"] == _fixture_message_id()
    # The applicant's mail was answered; the vacation notice was kept but not answered.
    assert stored["states"] == [MessageState.replied, MessageState.ignored]
    assert stored["replies"] == [(APPLICANT, ReplyState.sent)]


def test_an_impolite_responder_is_stopped_by_the_daily_cap(tmp_path: Path) -> None:
    responder, stored = _exchange(tmp_path, polite=False)
    assert len(responder.received) == DAILY_REPLY_CAP, "zhengji stops at the daily cap"
    assert responder.sent == DAILY_REPLY_CAP, "the responder answered every reply and then heard nothing more"
    assert all(message["To"] == APPLICANT for message in responder.received)
    assert all(message["Auto-Submitted"] == "auto-replied" for message in responder.received)
    # The applicant's mail and each out-of-office answer were processed; the one past the cap got no reply.
    assert stored["states"] == [MessageState.replied] * (DAILY_REPLY_CAP + 1)
    assert stored["replies"] == [(APPLICANT, ReplyState.sent)] * DAILY_REPLY_CAP + [(APPLICANT, ReplyState.suppressed)]


def _fixture_message_id() -> str:
    parsed = email.message_from_bytes(FIXTURE.read_bytes(), policy=email.policy.default)
    return str(parsed["Message-ID"])
