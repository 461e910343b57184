"""Several ``zhengji serve`` processes on one PostgreSQL database and one S3 bucket, as on several machines.

What the two-instance test and ``benchmarks/instances.py`` share: the outgoing SMTP account (an aiosmtpd sink that
keeps every reply), the mails of a burst (small real submissions and questions), an MTA that fails over to the
next instance when the one it talks to is gone, and the settings each instance gets. Each instance is the crash
test's :class:`~tests.mailbox.crash_support.Service` (``python -m zhengji serve`` in its own process group), so a
SIGKILL takes the whole instance, its parser workers included, as a power cut takes a machine.
"""

from __future__ import annotations

import random
import re
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from functools import cache
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.fixtures.forms.proposal_docx import build_proposal_docx, sample_proposal
from tests.mailbox.crash_support import MAILBOX, Service, SMTPLedger, SMTPSender, TestMail
from tests.servers.ports import free_port
from tests.servers.seaweed import ThrowawaySeaweed

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
BLOB_PREFIX = "zhengji/mail"
_PARSED = re.compile(r"message (\d+): parse took ")


@dataclass
class ReplySink:
    """The outgoing SMTP account every instance sends through: it takes every reply and keeps it."""

    replies: list[EmailMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.arrived = threading.Condition(self.lock)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert envelope.original_content is not None
        reply = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(reply, EmailMessage)
        with self.arrived:
            self.replies.append(reply)
            self.arrived.notify_all()
        return "250 OK: queued"

    def answered(self) -> Counter[str]:
        """How many replies each applicant's mail got, by the Message-ID the reply answers (In-Reply-To)."""
        with self.lock:
            return Counter(str(reply["In-Reply-To"]) for reply in self.replies)

    def wait_for(self, count: int, seconds: float) -> bool:
        """Block until ``count`` replies arrived (True) or ``seconds`` passed (False)."""
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.replies) >= count, timeout=seconds)


@contextmanager
def running_sink() -> Iterator[tuple[ReplySink, int]]:
    """A started sink and its port on 127.0.0.1; stopped afterwards."""
    sink = ReplySink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port, server_hostname="smtp.126.test")
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


@cache
def _proposal() -> bytes:
    return build_proposal_docx(sample_proposal())


def burst_mail(channel: str, number: int) -> TestMail:
    """One applicant's mail: every other one a filled 建议书 (a real submission, parsed and checked), the rest
    questions without a file (answered from the notices); each from its own sender, so no reply cap applies."""
    sender = f"burst-{channel}-{number}@foxmail.com"
    message = EmailMessage(policy=SMTP_POLICY)
    message["Message-ID"] = f"<burst-{channel}-{number}@foxmail.com>"
    message["From"] = f"申请人{number} <{sender}>"
    message["To"] = MAILBOX
    message["Date"] = "Mon, 23 Jun 2025 16:40:00 +0800"
    if number % 2 == 0:
        message["Subject"] = f"新职业信息建议书（第{number}份）"
        message.set_content("您好，附件为我单位填写的新职业信息建议书，请查收。\n")
        maintype, subtype = DOCX.split("/")
        message.add_attachment(_proposal(), maintype=maintype, subtype=subtype, filename="新职业信息建议书.docx")
    else:
        message["Subject"] = "咨询新职业申报时间"
        message.set_content("您好，请问新职业信息建议书每年什么时候可以报送？谢谢。\n")
    return TestMail(str(message["Message-ID"]), sender, message.as_bytes())


def burst(channel: str, count: int, start: int = 0) -> list[TestMail]:
    return [burst_mail(channel, number) for number in range(start, start + count)]


class FailoverSender(SMTPSender):
    """An MTA with several MX hosts: on a broken connection or a ``4xx`` it tries the next instance, as a sending
    server tries the next MX; ``accepted_at`` records which port answered ``250`` for each mail."""

    def __init__(
        self, ports: list[int], mails: list[TestMail], ledger: SMTPLedger, rng: random.Random, deadline: float
    ) -> None:
        super().__init__(ports[0], mails, ledger, rng, deadline)
        self.ports = ports
        self.accepted_at: dict[str, int] = {}

    def _deliver(self, mail: TestMail) -> bool:
        delivered = super()._deliver(mail)
        if delivered:
            self.accepted_at[mail.message_id] = self.port
        return delivered

    def _drop(self) -> None:
        had = self.client is not None
        super()._drop()
        if had or not self._listening():
            self.port = self.ports[(self.ports.index(self.port) + 1) % len(self.ports)]

    def _listening(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False


def instance_environment(
    *, database_url: str, bucket: str, sink_port: int, lease_seconds: float, store: ThrowawaySeaweed
) -> dict[str, str]:
    """What every instance shares, as an operator's environment file sets it: the database, the bucket (with the
    standard AWS variables boto3 reads), the outgoing account, and the lease after which another instance takes
    over the mail a dead one held."""
    return {
        "ZHENGJI_DATABASE_URL": database_url,
        "ZHENGJI_BLOB_URL": f"s3://{bucket}/{BLOB_PREFIX}",
        "ZHENGJI_OUTBOUND_SMTP_URL": f"smtp://127.0.0.1:{sink_port}",
        "ZHENGJI_MAILBOXES": MAILBOX,
        "ZHENGJI_LEASE_SECONDS": f"{lease_seconds:g}",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        **store.environment,
    }


def make_instance(name: str, root: Path, *, imap_url: str | None, environment: dict[str, str]) -> Service:
    """One instance with a data directory and ports of its own (``name`` keeps their logs apart)."""
    home = root / name
    (home / "logs").mkdir(parents=True)
    return Service(
        home / "var",
        home / "logs",
        imap_url=imap_url or "",
        smtp_port=free_port(),
        web_port=free_port(),
        environment=environment,
    )


def parsed_here(service: Service) -> set[int]:
    """The mails (``messages.id``) whose parse step this instance finished, from its log."""
    return {int(found) for found in _PARSED.findall(service.output())}
