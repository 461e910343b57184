"""The one-time code mail: composed from a template, queued durably in the database (``chat_code_mails``), and
handed by :class:`CodeMailSender` to the same outbox as the replies (the configured SMTP account, or the Maildir
``DATA_DIR/outbox``).

The code stays in the database only while its mail waits to be sent (the queued mail is emptied once handed
over, or once its code expired); otherwise only its hash is kept (:mod:`zhengji.bot.links`).
"""

from __future__ import annotations

import base64
import email.policy
import logging
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.header import Header
from email.message import Message
from email.mime.text import MIMEText
from email.parser import BytesHeaderParser
from email.utils import formataddr, make_msgid, parseaddr
from functools import cache, lru_cache

import sqlalchemy as sa
from jinja2 import Environment, PackageLoader, StrictUndefined
from sqlalchemy import bindparam, delete, insert, or_, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col, select

from zhengji.clock import Clock
from zhengji.mailbox.outbox import DeliveryRefused, date_header, deliver_raw_to_maildir, send_smtp_raw, sender_name
from zhengji.notices.calendar import cn_date
from zhengji.notices.registry import load_registry
from zhengji.settings import Settings
from zhengji.storage.db import reading
from zhengji.storage.models import ChatCodeMail, ChatCodeMailState

log = logging.getLogger(__name__)

POLL_SECONDS = 2.0
"""How often the sender looks at the queue unbidden (mails queued by another process, retries come due)."""
GATHER_SECONDS = 0.05
"""How long the sender, told of a queued mail, waits for the mails queued with it: a burst's code mails then share
one claim and one record (two write transactions, which the burst's code requests wait for, and the sender's
share of the interpreter the answers run on: issue 18) instead of two each. A code is good for 15 minutes; 50 ms
is nothing to the applicant."""
CLAIM_SECONDS = 120
"""How long a sender's claim on a mail holds: longer than one SMTP send (30 s timeout) may take."""
BATCH = 50
RETRY_SECONDS = 5
MAX_RETRY_SECONDS = 120

_MAILS = ChatCodeMail.__table__  # type: ignore[attr-defined]
_WRITERS: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()
_WRITERS_LOCK = threading.Lock()


def writer(engine: Engine) -> threading.Lock:
    """The lock this process's code requests and code mail sender take around their write transactions.

    On SQLite a second writer that finds the database locked is put to sleep by SQLite's busy handler for 1, 2,
    5, 10 … ms, however soon the first one commits: in a burst two answer threads and the sender thread asking
    for the write lock at once left the CPU idle while answers waited (issue 18). Queued on this lock instead,
    the next writer starts the moment the previous one commits. Other processes still meet the busy handler."""
    with _WRITERS_LOCK:
        lock = _WRITERS.get(engine)
        if lock is None:
            lock = _WRITERS[engine] = threading.Lock()
        return lock


CHANNEL_NAMES = {
    "web": "网页在线咨询",
    "wechat": "微信公众号",
    "telegram": "Telegram 咨询机器人",
    "cli": "命令行咨询工具",
}


@dataclass(frozen=True)
class CodeMail:
    """What the code mail says and to whom."""

    to: str
    from_address: str
    office: str
    channel: str
    code: str
    subject_of: str  # "申报编号为 ZJ-… 的申报材料" or "本邮箱所发申报材料"
    minutes: int
    attempts: int
    today: date


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("zhengji.bot", "templates"),
        autoescape=False,  # plain-text mail
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


SUBJECT = "【身份验证】申报进度查询验证码"
WIRE = email.policy.compat32.clone(linesep="\r\n")
"""How a code mail is queued: the bytes an SMTP server is given (CRLF), headers and body already encoded."""


def compose(mail: CodeMail) -> Message:
    """The mail as a message object (tests, and a transport that wants one): :func:`wire` parsed."""
    return email.message_from_bytes(wire(mail), policy=email.policy.default)


def wire(mail: CodeMail) -> bytes:
    """The mail as queued and handed over: the bytes an SMTP server is given (CRLF), marked automatic (RFC 3834) so
    that no responder answers it.

    It speaks for the center that owns the mailbox it is sent from (the one the applicant wrote to), with that
    center's contact line; ``office`` signs it only when no center owns that address.

    It is composed inside the code request's write transaction, which the burst's other code requests wait for
    (issue 18), so only what changes from mail to mail is made here: the headers that depend on the sending
    mailbox alone (the center's name and the subject as RFC 2047 words, the MIME headers) are made once by the
    email package (:func:`_fixed_headers`), the body is UTF-8 in base64 (7-bit safe on any relay), and the
    recipient, date and Message-ID are plain ASCII lines (0.03 ms instead of 0.2 ms for a ``MIMEText`` written
    out by the email package's generator). A recipient that is not a short ASCII address (which a mail server
    may still accept) goes the email package's way.
    """
    if any(char in mail.to for char in "\r\n"):
        raise ValueError("a code mail's recipient holds a line break")
    channel_name = CHANNEL_NAMES.get(mail.channel, "在线咨询")
    center = load_registry().center_of_mailbox(mail.from_address)
    body = (
        _environment()
        .get_template("code.txt.j2")
        .render(
            greeting="申报单位（个人）",
            channel_name=channel_name,
            subject=mail.subject_of,
            code=mail.code,
            minutes=mail.minutes,
            attempts=mail.attempts,
            office=center.name if center else mail.office,
            contact=center.contact if center else "",
            today=cn_date(mail.today),
        )
    )
    message_id = make_msgid("chatcode", domain="zhengji.local")
    if not mail.to.isascii() or len(mail.to) > 900:
        message = MIMEText(body, "plain", "utf-8")
        message["From"] = formataddr((sender_name(mail.from_address), mail.from_address), charset="utf-8")
        message["To"] = mail.to
        message["Date"] = date_header()
        message["Subject"] = Header(SUBJECT, "utf-8", header_name="Subject")  # type: ignore[assignment]
        message["Message-ID"] = message_id
        message["Auto-Submitted"] = "auto-generated"
        message["X-Auto-Response-Suppress"] = "All"
        return message.as_bytes(policy=WIRE)
    head = f"To: {mail.to}\r\nDate: {date_header()}\r\nMessage-ID: {message_id}\r\n".encode("ascii")
    return (
        head
        + _fixed_headers(mail.from_address)
        + b"\r\n"
        + base64.encodebytes(body.encode("utf-8")).replace(b"\n", b"\r\n")
    )


@lru_cache(maxsize=64)
def _fixed_headers(from_address: str) -> bytes:
    """The headers of every code mail sent from ``from_address``, written once by the email package (RFC 2047
    words folded as it folds them)."""
    message = MIMEText("", "plain", "utf-8")
    message["From"] = formataddr((sender_name(from_address), from_address), charset="utf-8")
    message["Subject"] = Header(SUBJECT, "utf-8", header_name="Subject")  # type: ignore[assignment]  # folded when generated
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    return message.as_bytes(policy=WIRE).split(b"\r\n\r\n", 1)[0] + b"\r\n"


@dataclass(frozen=True)
class RawMail:
    """A queued code mail as the sender hands it over: its bytes as stored, and what delivery needs of them."""

    raw: bytes
    sender: str
    recipient: str
    message_id: str

    @classmethod
    def of(cls, raw: bytes, recipient: str) -> RawMail:
        """Read only the headers (the body is already encoded): the sender neither parses nor writes the mail
        again (issue 18: that cost 3 ms a mail on the core the answers share)."""
        headers = BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw)
        return cls(raw, parseaddr(str(headers["From"] or ""))[1], recipient, str(headers["Message-ID"] or ""))

    def message(self) -> Message:
        """The mail parsed (for a transport that wants a message object, and tests)."""
        return email.message_from_bytes(self.raw, policy=email.policy.default)


class OutboxMailer:
    """Hands a mail to the outgoing account, or to the Maildir outbox when none is configured."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(self, mail: RawMail) -> None:
        if self.settings.outbound_smtp_url is None:
            deliver_raw_to_maildir(self.settings.outbox_dir, mail.raw, mail.message_id)
        else:
            send_smtp_raw(self.settings.outbound_smtp_url, mail.raw, mail.sender, [mail.recipient], timeout=30)


class CodeMailSender:
    """Sends the code mails queued in ``chat_code_mails`` (:func:`enqueue`), so that no chat's answer waits for a
    mail provider (WeChat wants its passive reply within 5 seconds) and a restart loses no code mail.

    Started (:meth:`start`), a thread of its own sends each mail as soon as it is told one was queued
    (:meth:`queued`), and looks at the table every :data:`POLL_SECONDS` for those another process queued or a
    failure put off. Not started (``zhengji ask``, one command a process), :meth:`queued` sends at once in the
    caller's thread. Several processes may send from one table: each mail is claimed by a conditional UPDATE for
    :data:`CLAIM_SECONDS` before it is sent. A mail is tried until its code expires (a late code is worth
    nothing); a refusal for good (``5xx``) is not tried again. Times are the real clock's.
    """

    def __init__(self, engine: Engine, send: Callable[[RawMail], None], clock: Clock | None = None) -> None:
        self.engine = engine
        self._send = send
        self.clock = clock or Clock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._idle = threading.Condition()
        self._busy = False
        self._thread: threading.Thread | None = None

    @property
    def started(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if not self.started:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="chat-code-mailer", daemon=True)
            self._thread.start()

    def queued(self) -> None:
        """A code mail was committed to the queue: send it now (inline when no thread runs)."""
        if self.started:
            self._wake.set()
        else:
            self.send_due()

    def stop(self, timeout: float = 10.0) -> None:
        thread = self._thread
        self._stop.set()
        self._wake.set()
        if thread is not None and thread.is_alive():
            thread.join(timeout)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until no mail is due and none is being sent (tests, the benchmark); True when that happened."""
        deadline = time.monotonic() + timeout
        self._wake.set()
        while time.monotonic() < deadline:
            with self._idle:
                if not self._busy and not self._due_ids(limit=1):
                    return True
                self._idle.wait(0.05)
        return False

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._wake.wait(POLL_SECONDS):
                self._stop.wait(GATHER_SECONDS)  # the mails queued with this one go out with it
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.send_due()
            except Exception:  # a database hiccup must not end the thread: the next round tries again
                log.exception("code mails: the queue could not be read")

    def _due_ids(self, limit: int = BATCH) -> list[int]:
        moment = self.clock.machine()
        with Session(reading(self.engine)) as session:
            found = session.exec(
                select(ChatCodeMail.id)
                .where(ChatCodeMail.state == ChatCodeMailState.pending)
                .where(col(ChatCodeMail.next_attempt_at) <= moment)
                .where(or_(col(ChatCodeMail.claimed_until).is_(None), col(ChatCodeMail.claimed_until) < moment))
                .order_by(col(ChatCodeMail.id))
                .limit(limit)
            ).all()
            return [mail_id for mail_id in found if mail_id is not None]

    def send_due(self) -> int:
        """Send every mail that is due now; the number handed over."""
        sent = 0
        while True:
            with self._idle:
                self._busy = True
            try:
                claimed, handed = self._send_batch()
                sent += handed
            finally:
                with self._idle:
                    self._busy = False
                    self._idle.notify_all()
            if claimed < BATCH or self._stop.is_set():
                return sent

    def _send_batch(self) -> tuple[int, int]:
        """Claim the mails due (one conditional UPDATE returning their text, one commit), send them outside any
        transaction, then record how each went (one statement, one commit): two short write transactions a
        batch rather than two a mail, each waited for by the code requests of a burst (issue 18). A batch stops
        taking new mails once half its claim has run (a slow SMTP account): their claims are released, so that
        no claim runs out on a mail still to be sent. The number claimed and the number handed over."""
        moment = self.clock.machine()
        started = time.monotonic()
        with writer(self.engine), self.engine.begin() as connection:
            rows = connection.execute(
                _CLAIM, {"b_now": moment, "b_until": moment + timedelta(seconds=CLAIM_SECONDS), "b_limit": BATCH}
            ).all()
            claimed = sorted((int(row[0]), bytes(row[1]), int(row[2]), row[3], str(row[4])) for row in rows)
            late = [mail for mail in claimed if mail[3] <= moment]
            if late:
                expired = "the code expired before it was sent"
                rows_late = [self._settled(mail[0], mail[2], ChatCodeMailState.expired, expired) for mail in late]
                connection.execute(_SETTLE, rows_late)
        settled: list[dict[str, object]] = []
        retries: list[dict[str, object]] = []
        released: list[dict[str, object]] = []
        handed = 0
        for mail_id, raw, attempts, expires_at, recipient in claimed:
            if expires_at <= moment:
                continue
            if time.monotonic() - started > CLAIM_SECONDS / 2 or self._stop.is_set():
                released.append({"b_mail_id": mail_id})
                continue
            try:
                self._send(RawMail.of(raw, recipient))
            except DeliveryRefused as refusal:
                log.warning("code mail %s refused for good: %s", mail_id, refusal)
                settled.append(self._settled(mail_id, attempts + 1, ChatCodeMailState.failed, f"refused: {refusal}"))
            except Exception as error:  # the provider is down or busy: tried again until the code expires
                log.warning("code mail %s could not be sent (try %d): %s", mail_id, attempts + 1, error)
                retry_at = self.clock.machine() + timedelta(seconds=min(RETRY_SECONDS * 2**attempts, MAX_RETRY_SECONDS))
                if retry_at >= expires_at:
                    settled.append(self._settled(mail_id, attempts + 1, ChatCodeMailState.failed,
                                                 f"still failing: {error}"))  # fmt: skip
                else:
                    retries.append({"b_mail_id": mail_id, "b_attempts": attempts + 1, "b_retry_at": retry_at,
                                    "b_error": str(error)[:400]})  # fmt: skip
            else:
                settled.append(self._settled(mail_id, attempts + 1, ChatCodeMailState.sent, None))
                handed += 1
        if settled or retries or released:
            with writer(self.engine), self.engine.begin() as connection:
                for statement, rows_ in ((_SETTLE, settled), (_RETRY, retries), (_RELEASE, released)):
                    if rows_:
                        connection.execute(statement, rows_)
        return len(claimed) - len(released), handed

    def _settled(self, mail_id: int, attempts: int, state: ChatCodeMailState, error: str | None) -> dict[str, object]:
        """The mail's last state; its text (the code) is not kept once it is of no more use."""
        return {
            "b_mail_id": mail_id,
            "b_state": state,
            "b_attempts": attempts,
            "b_error": error[:400] if error else None,
            "b_sent_at": self.clock.machine() if state is ChatCodeMailState.sent else None,
        }


# The sender's statements, built once: the sender runs beside the answer threads, on the same interpreter.
_FREE = or_(_MAILS.c.claimed_until.is_(None), _MAILS.c.claimed_until < bindparam("b_now"))
_CLAIM = (
    update(_MAILS)
    .where(
        _MAILS.c.id.in_(
            sa.select(_MAILS.c.id)
            .where(_MAILS.c.state == ChatCodeMailState.pending, _MAILS.c.next_attempt_at <= bindparam("b_now"), _FREE)
            .order_by(_MAILS.c.id)
            .limit(bindparam("b_limit"))
            .scalar_subquery()
        )
    )
    .where(_MAILS.c.state == ChatCodeMailState.pending, _FREE)
    .values(claimed_until=bindparam("b_until"))
    .returning(_MAILS.c.id, _MAILS.c.raw, _MAILS.c.attempts, _MAILS.c.expires_at, _MAILS.c.recipient)
)
_SETTLE = (
    update(_MAILS)
    .where(_MAILS.c.id == bindparam("b_mail_id"))
    .values(state=bindparam("b_state"), raw=b"", attempts=bindparam("b_attempts"), claimed_until=None,
            error=bindparam("b_error"), sent_at=bindparam("b_sent_at"))
)  # fmt: skip
_RETRY = (
    update(_MAILS)
    .where(_MAILS.c.id == bindparam("b_mail_id"))
    .values(attempts=bindparam("b_attempts"), next_attempt_at=bindparam("b_retry_at"), claimed_until=None,
            error=bindparam("b_error"))
)  # fmt: skip
_RELEASE = update(_MAILS).where(_MAILS.c.id == bindparam("b_mail_id")).values(claimed_until=None)


def enqueue(connection: Connection, raw: bytes, recipient: str, *, code_id: int | None, expires_at: datetime,
            moment: datetime) -> None:  # fmt: skip
    """Queue the mail ``raw`` (:func:`wire`) in the caller's transaction (the one that stores its code): both are
    kept, or neither."""
    connection.execute(
        _ENQUEUE,
        {"b_code_id": code_id, "b_recipient": recipient, "b_raw": raw, "b_moment": moment,
         "b_expires_at": expires_at},
    )  # fmt: skip


_ENQUEUE = insert(_MAILS).values(
    code_id=bindparam("b_code_id"),
    recipient=bindparam("b_recipient"),
    raw=bindparam("b_raw"),
    state=ChatCodeMailState.pending,
    attempts=0,
    next_attempt_at=bindparam("b_moment"),
    created_at=bindparam("b_moment"),
    expires_at=bindparam("b_expires_at"),
)


def forget_old(connection: Connection, moment: datetime) -> None:
    """Settled mails are kept a day for the record (their text is already gone), then deleted."""
    connection.execute(
        delete(ChatCodeMail)
        .where(col(ChatCodeMail.state) != ChatCodeMailState.pending)
        .where(col(ChatCodeMail.created_at) < moment - timedelta(days=1))
    )
