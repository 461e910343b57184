"""Handing a reply over: to the configured SMTP account, or to the local Maildir ``DATA_DIR/outbox``.

The Maildir is what makes the embedded default work offline: a clerk (or a test) reads the replies there.
Delivery there is idempotent: the file is named after the reply's Message-ID, so a worker that crashed after
delivering and before recording it delivers nothing new when it retries.

An SMTP account answers in two ways that matter: ``4xx`` or a broken connection is passing (the pipeline
retries), ``5xx`` for the recipient or for the content is final for this reply (:class:`DeliveryRefused`): no
retry would change it, and retrying a refused mail to a mail provider is how an account gets blocked.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import smtplib
import ssl
import tempfile
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path

from zhengji.clock import SHANGHAI, real_now
from zhengji.notices.registry import load_registry
from zhengji.settings import ServerURL
from zhengji.storage.models import Reply

SENDER_NAME = "职业技能鉴定中心受理系统"
"""The From name of a mail sent from an address that no center owns (one configured beside the notices')."""
MAX_THREAD = 10
"""The References kept: the thread's first mail and its latest ones, as RFC 5322 3.6.4 lets a long thread be cut."""


class DeliveryRefused(Exception):
    """The outgoing SMTP server refused this reply for good (a ``5xx`` for its recipient or its content)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code} {reason}")
        self.code = code
        self.reason = reason


def thread_references(references: list[str], message_id: str | None) -> str | None:
    """The References of a reply to a mail with ``references`` and ``message_id``: the thread, oldest first."""
    thread: list[str] = []
    for value in [*references, message_id or ""]:
        value = value.strip()
        if value and value not in thread:
            thread.append(value)
    if len(thread) > MAX_THREAD:
        thread = [thread[0], *thread[-(MAX_THREAD - 1) :]]
    return " ".join(thread) or None


def sender_name(from_address: str) -> str:
    """The From name of a mail sent from ``from_address``: the center that owns that mailbox speaks in its own name."""
    center = load_registry().center_of_mailbox(from_address)
    return center.name if center else SENDER_NAME


def date_header() -> str:
    """The ``Date:`` of a mail handed over now (RFC 5322 3.6 requires one; spam filters and mail clients sort and
    judge by it): the real clock, never the business clock, since it records when the mail left, in Beijing time."""
    return format_datetime(real_now().astimezone(SHANGHAI))


def outgoing_message(reply: Reply, from_address: str, reference: str | None) -> EmailMessage:
    """The stored reply as a mail: threaded to the applicant's mail, and marked automatic (RFC 3834)."""
    outgoing = EmailMessage()
    outgoing["From"] = formataddr((sender_name(from_address), from_address))
    outgoing["To"] = reply.to_address
    outgoing["Date"] = date_header()
    outgoing["Subject"] = reply.subject
    outgoing["Message-ID"] = reply.message_id_header
    if reply.in_reply_to:
        outgoing["In-Reply-To"] = reply.in_reply_to
        outgoing["References"] = reply.references_header or reply.in_reply_to
    outgoing["Auto-Submitted"] = "auto-replied"  # never answered by a well-behaved responder
    outgoing["X-Auto-Response-Suppress"] = "All"  # nor by Exchange's out-of-office
    if reference is not None:
        outgoing["X-Zhengji-Reference"] = reference
    outgoing.set_content(reply.body, charset="utf-8")
    return outgoing


def maildir_name(message_id: str) -> str:
    return hashlib.sha256(message_id.encode("utf-8")).hexdigest()[:32] + ".zhengji"


def deliver_to_maildir(root: Path, message: EmailMessage) -> Path:
    """Write ``message`` into the Maildir at ``root`` (tmp → new, fsynced); a second call is a no-op."""
    return _deliver(root, str(message["Message-ID"]), message.as_bytes)


def deliver_raw_to_maildir(root: Path, raw: bytes, message_id: str) -> Path:
    """Write a mail already made into bytes (a queued code mail) into the Maildir at ``root``, named by its
    ``message_id`` as :func:`deliver_to_maildir` names it: no parse and no second rendering of a mail that
    was rendered when it was queued. Lines end in LF, as in every Maildir file."""
    return _deliver(root, message_id, lambda: raw.replace(b"\r\n", b"\n"))


def _deliver(root: Path, message_id: str, render: Callable[[], bytes]) -> Path:
    for sub in ("tmp", "new", "cur"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    name = maildir_name(message_id)
    target = root / "new" / name
    if target.exists() or (root / "cur" / name).exists():
        return target
    handle, temporary = tempfile.mkstemp(dir=root / "tmp")
    with os.fdopen(handle, "wb") as stream:
        stream.write(render())
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(temporary, target)
    directory = os.open(root / "new", os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return target


def send_smtp(account: ServerURL, message: EmailMessage, timeout: float = 60) -> None:
    """Send through the configured account (``smtps://`` implicit TLS, ``?starttls=true`` upgrades)."""
    _submit(account, timeout, lambda client: client.send_message(message))


def send_smtp_raw(account: ServerURL, raw: bytes, sender: str, recipients: list[str], timeout: float = 60) -> None:
    """Send a mail already made into bytes through the configured account, with the same answers as
    :func:`send_smtp` (a ``5xx`` is :class:`DeliveryRefused`); its lines are given to the server with CRLF."""
    wire = re.sub(rb"\r?\n", b"\r\n", raw)
    _submit(account, timeout, lambda client: client.sendmail(sender, recipients, wire))


def _submit(account: ServerURL, timeout: float, hand_over: Callable[[smtplib.SMTP], object]) -> None:
    client: smtplib.SMTP
    if account.scheme == "smtps":
        client = smtplib.SMTP_SSL(account.host, account.port, timeout=timeout, context=_tls())
    else:
        client = smtplib.SMTP(account.host, account.port, timeout=timeout)
    with client:
        if account.starttls:
            client.starttls(context=_tls())
        if account.username and account.password:
            client.login(account.username, account.password.get_secret_value())
        try:
            hand_over(client)
        except smtplib.SMTPRecipientsRefused as error:
            answers = list(error.recipients.values())
            if answers and all(500 <= code < 600 for code, _ in answers):
                code, reason = answers[0]
                raise DeliveryRefused(code, _text(reason)) from error
            raise
        except smtplib.SMTPDataError as error:
            if 500 <= error.smtp_code < 600:  # the content was refused (e.g. NetEase's 554 DT:SPM)
                raise DeliveryRefused(error.smtp_code, _text(error.smtp_error)) from error
            raise


@functools.cache
def _tls() -> ssl.SSLContext:
    """One verifying TLS context for every reply: building one loads the system's CA certificates (30-60 ms)."""
    return ssl.create_default_context()


def _text(reason: bytes | str) -> str:
    return reason.decode("utf-8", "replace") if isinstance(reason, bytes) else reason
