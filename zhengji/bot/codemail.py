"""The one-time code mail: composed from a template and handed to the same outbox as the replies
(the configured SMTP account, or the Maildir ``DATA_DIR/outbox``).

The code is in the mail and nowhere else: the database keeps only its hash (:mod:`zhengji.bot.links`).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined

from zhengji.mailbox.outbox import SENDER_NAME, DeliveryRefused, deliver_to_maildir, send_smtp
from zhengji.notices.calendar import cn_date
from zhengji.settings import Settings

log = logging.getLogger(__name__)

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
    """The mail, marked automatic (RFC 3834) so that no responder answers it."""
    channel_name = CHANNEL_NAMES.get(mail.channel, "在线咨询")
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
            office=mail.office,
            today=cn_date(mail.today),
        )
    )
    message = EmailMessage()
    message["From"] = formataddr((SENDER_NAME, mail.from_address))
    message["To"] = mail.to
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


class BackgroundMailer:
    """Sends in a thread of its own, so that a slow mail provider never holds a chat's answer (WeChat wants its
    passive reply within 5 seconds). A mail that fails is logged; the applicant asks for a new code."""

    def __init__(self, send: Callable[[EmailMessage], None]) -> None:
        self._send = send
        self._queue: queue.Queue[EmailMessage | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def send(self, message: EmailMessage) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="chat-code-mailer", daemon=True)
                self._thread.start()
        self._queue.put(message)

    def _run(self) -> None:
        while True:
            message = self._queue.get()
            if message is None:
                self._queue.task_done()
                return
            try:
                self._send(message)
            except DeliveryRefused as refusal:
                log.warning("code mail to %s refused for good: %s", message["To"], refusal)
            except Exception:  # never lose the thread to one bad send: the next applicant's code must still go out
                log.exception("code mail to %s could not be sent", message["To"])
            finally:
                self._queue.task_done()

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until every queued mail was handed over (tests and a clean stop)."""
        done = threading.Event()

        def joined() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=joined, daemon=True).start()
        done.wait(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        with self._lock:
            thread = self._thread
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join(timeout)
