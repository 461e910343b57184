"""The one-time code mail: composed from a template, queued durably in the database (``chat_code_mails``), and
handed by :class:`CodeMailSender` to the same outbox as the replies (the configured SMTP account, or the Maildir
``DATA_DIR/outbox``).

The code stays in the database only while its mail waits to be sent (the queued mail is emptied once handed
over, or once its code expired); otherwise only its hash is kept (:mod:`zhengji.bot.links`).
"""

from __future__ import annotations

import email
import email.policy
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined
from sqlalchemy import delete, or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from zhengji.clock import Clock
from zhengji.mailbox.outbox import DeliveryRefused, date_header, deliver_to_maildir, send_smtp, sender_name
from zhengji.notices.calendar import cn_date
from zhengji.notices.registry import load_registry
from zhengji.settings import Settings
from zhengji.storage.models import ChatCodeMail, ChatCodeMailState

log = logging.getLogger(__name__)

POLL_SECONDS = 2.0
"""How often the sender looks at the queue unbidden (mails queued by another process, retries come due)."""
CLAIM_SECONDS = 120
"""How long a sender's claim on a mail holds: longer than one SMTP send (30 s timeout) may take."""
BATCH = 50
RETRY_SECONDS = 5
MAX_RETRY_SECONDS = 120

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


def compose(mail: CodeMail) -> EmailMessage:
    """The mail, marked automatic (RFC 3834) so that no responder answers it.

    It speaks for the center that owns the mailbox it is sent from (the one the applicant wrote to), with that
    center's contact line; ``office`` signs it only when no center owns that address.
    """
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
    message = EmailMessage()
    message["From"] = formataddr((sender_name(mail.from_address), mail.from_address))
    message["To"] = mail.to
    message["Date"] = date_header()
    message["Subject"] = "【身份验证】申报进度查询验证码"
    message["Message-ID"] = make_msgid("chatcode", domain="zhengji.local")
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message.set_content(body, charset="utf-8")
    return message


class OutboxMailer:
    """Hands a mail to the outgoing account, or to the Maildir outbox when none is configured."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(self, message: EmailMessage) -> None:
        if self.settings.outbound_smtp_url is None:
            deliver_to_maildir(self.settings.outbox_dir, message)
        else:
            send_smtp(self.settings.outbound_smtp_url, message, timeout=30)


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

    def __init__(self, engine: Engine, send: Callable[[EmailMessage], None], clock: Clock | None = None) -> None:
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
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.send_due()
            except Exception:  # a database hiccup must not end the thread: the next round tries again
                log.exception("code mails: the queue could not be read")

    def _due_ids(self, limit: int = BATCH) -> list[int]:
        moment = self.clock.machine()
        with Session(self.engine) as session:
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
                due = self._due_ids()
                for mail_id in due:
                    sent += self._send_one(mail_id)
            finally:
                with self._idle:
                    self._busy = False
                    self._idle.notify_all()
            if len(due) < BATCH or self._stop.is_set():
                return sent

    def _send_one(self, mail_id: int | None) -> int:
        moment = self.clock.machine()
        with Session(self.engine) as session:
            claimed = session.exec(
                update(ChatCodeMail)
                .where(col(ChatCodeMail.id) == mail_id, col(ChatCodeMail.state) == ChatCodeMailState.pending)
                .where(or_(col(ChatCodeMail.claimed_until).is_(None), col(ChatCodeMail.claimed_until) < moment))
                .values(claimed_until=moment + timedelta(seconds=CLAIM_SECONDS))
            )
            session.commit()
            if claimed.rowcount != 1:
                return 0  # another process took it a moment ago
            row = session.get(ChatCodeMail, mail_id)
            assert row is not None
            if row.expires_at <= moment:
                self._settle(session, row, ChatCodeMailState.expired, "the code expired before it was sent")
                return 0
            raw, attempts, expires_at = bytes(row.raw), row.attempts, row.expires_at
        message = email.message_from_bytes(raw, policy=email.policy.default)  # no I/O inside a transaction
        outcome: tuple[ChatCodeMailState, str | None] | None
        try:
            self._send(message)
            outcome = (ChatCodeMailState.sent, None)
        except DeliveryRefused as refusal:
            log.warning("code mail %s refused for good: %s", mail_id, refusal)
            outcome = (ChatCodeMailState.failed, f"refused: {refusal}")
        except Exception as error:  # the provider is down or busy: tried again until the code expires
            log.warning("code mail %s could not be sent (try %d): %s", mail_id, attempts + 1, error)
            retry_at = self.clock.machine() + timedelta(seconds=min(RETRY_SECONDS * 2**attempts, MAX_RETRY_SECONDS))
            outcome = None if retry_at < expires_at else (ChatCodeMailState.failed, f"still failing: {error}")
            if outcome is None:
                with Session(self.engine) as session:
                    session.exec(
                        update(ChatCodeMail)
                        .where(col(ChatCodeMail.id) == mail_id)
                        .values(attempts=attempts + 1, next_attempt_at=retry_at, claimed_until=None,
                                error=str(error)[:400])
                    )  # fmt: skip
                    session.commit()
                return 0
        with Session(self.engine) as session:
            row = session.get(ChatCodeMail, mail_id)
            assert row is not None
            row.attempts = attempts + 1
            self._settle(session, row, outcome[0], outcome[1])
        return 1 if outcome[0] is ChatCodeMailState.sent else 0

    def _settle(self, session: Session, row: ChatCodeMail, state: ChatCodeMailState, error: str | None) -> None:
        """The mail's last state; its text (the code) is not kept once it is of no more use."""
        row.state = state
        row.raw = b""
        row.claimed_until = None
        row.error = error[:400] if error else None
        if state is ChatCodeMailState.sent:
            row.sent_at = self.clock.machine()
        session.add(row)
        session.commit()


def enqueue(session: Session, message: EmailMessage, *, code_id: int | None, expires_at: datetime,
            moment: datetime) -> None:  # fmt: skip
    """Queue ``message`` in the caller's transaction (the one that stores its code): both are kept, or neither."""
    session.add(
        ChatCodeMail(
            code_id=code_id,
            recipient=str(message["To"]),
            raw=message.as_bytes(policy=email.policy.SMTP),
            next_attempt_at=moment,
            created_at=moment,
            expires_at=expires_at,
        )
    )


def forget_old(session: Session, moment: datetime) -> None:
    """Settled mails are kept a day for the record (their text is already gone), then deleted."""
    session.exec(
        delete(ChatCodeMail)
        .where(col(ChatCodeMail.state) != ChatCodeMailState.pending)
        .where(col(ChatCodeMail.created_at) < moment - timedelta(days=1))
    )
