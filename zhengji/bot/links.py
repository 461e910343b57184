"""Status is private: a chat learns a submission's status only after proving it reads the sender's mailbox.

Steps of a binding: (1) the chat names a reference (or an address); (2) the bot mails a one-time code to the
submission's sender — the same answer whether or not the reference exists, so that a reference alone reveals
nothing; (3) the chat sends the code back within :data:`CODE_MINUTES`, in at most :data:`CODE_ATTEMPTS` tries;
(4) the chat is linked (``ChatLink``) and gets the status now and a notice at every change; (5) it may unlink.

Code requests are counted per chat, per submission and per address (:mod:`zhengji.bot.ratelimit`). Only the
chat's own limit is told to it: a submission's or an address's limit is silent, since telling it would show
that the reference exists. Codes, counters and expiry run on the real clock.

A chat id costs nothing to make (a browser makes a new one at will), so code requests are also counted per
client (:data:`ORIGIN`: a web chat's network address, a WeChat openid, a Telegram chat) and in all, an hour
(``ZHENGJI_CHAT_CODE_MAILS_PER_CLIENT_HOUR``, ``ZHENGJI_CHAT_CODE_MAILS_PER_HOUR``): both are told, since
neither depends on the reference asked about. A code's mail is queued in the transaction that stores the code
(:mod:`zhengji.bot.codemail`) and sent by a thread of its own, never while the chat waits for its answer.

A channel whose messages are not authenticated (WeChat's plain mode) marks its requests unverified: such a chat
may not bind, unbind, see a status or receive notices; it is told to ask on the web chat.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import threading
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy import delete, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from zhengji.bot import codemail, ratelimit
from zhengji.bot.answers import status as wording
from zhengji.bot.codemail import CodeMail, CodeMailSender, compose
from zhengji.bot.conversation import Chat
from zhengji.bot.ratelimit import Limit
from zhengji.clock import Clock, shanghai_date
from zhengji.notices.registry import load_registry
from zhengji.settings import Settings
from zhengji.storage.models import (
    AuditEvent,
    ChatCode,
    ChatCodeMail,
    ChatCodeMailState,
    ChatLink,
    ChatPush,
    ChatPushState,
    Message,
    Submission,
)

log = logging.getLogger(__name__)

CODE_MINUTES = 15
CODE_ATTEMPTS = 5
CODE_DIGITS = 6
PER_CHAT = (Limit(3, timedelta(hours=1)), Limit(10, timedelta(days=1)))
PER_SUBMISSION = (Limit(3, timedelta(hours=1)), Limit(6, timedelta(days=1)))
PER_ADDRESS = (Limit(5, timedelta(hours=1)), Limit(10, timedelta(days=1)))
MAX_LINKS = 10
"""Submissions one chat may follow; an address binding links at most this many, the newest first."""
PULL_CHANNELS = frozenset({"web", "wechat", "cli"})
"""Channels that cannot be written to unprompted: their notices wait for the chat's next message."""
WEB_CHAT_ID = re.compile(r"[A-Za-z0-9_-]{22,64}")
MEMORY = 50_000
"""Chats whose status this process remembers (see :class:`_Known`)."""
# What changes a chat's status or notices leaves a row in one of these tables: a status change, a link or an
# unlink is an audit event; a notice is a push. Their highest ids are the "generation" a remembered answer
# was made at: the same generation means nothing changed, in this process or any other.
_GENERATION = sa.select(
    sa.select(sa.func.max(AuditEvent.id)).scalar_subquery(), sa.select(sa.func.max(ChatPush.id)).scalar_subquery()
)


@dataclass
class _Known:
    """What this process last learnt of a chat, and at which generation of the database."""

    generation: tuple[int, int]
    pending: bool = True
    day: date | None = None
    status: str | None = None


"""A web chat id is a secret the browser made (32 random bytes); a short one could be guessed by a stranger."""


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None: ...


@dataclass(frozen=True)
class Origin:
    """Who sent the message a chat's answer is computed for, as its channel knows it.

    ``client`` is what one sender cannot multiply at will (a web chat's network address; a WeChat openid or a
    Telegram chat, which their platforms vouch for); ``verified`` is False where the channel cannot authenticate
    the message (WeChat's plain mode), so that nothing private is bound or shown on its word.
    """

    client: str | None = None
    verified: bool = True


ORIGIN: ContextVar[Origin | None] = ContextVar("zhengji_chat_origin", default=None)
"""Set by a channel around the core's answer (:meth:`zhengji.bot.runtime.BotRuntime.answer`); the core passes only
the chat, and the desk reads the rest here (unset: a trusted caller such as ``zhengji ask``)."""
_ANYONE = Origin()


def origin() -> Origin:
    """Who is asking now (:data:`ORIGIN`)."""
    return ORIGIN.get() or _ANYONE


CODES_PER_CLIENT_HOUR_TEXT = "验证码申请过于频繁，请一小时后再试。"
CODES_BUSY_TEXT = "验证码发送量已达本时段上限，请一小时后再试；如需尽快了解申报进度，可按征集通知所列联系方式咨询。"
UNVERIFIED_TEXT = (
    "为保护申报信息，本公众号暂不提供申报进度查询。请在本中心网站的在线咨询页面发送申报编号，"
    "凭发送至申报邮箱的验证码完成验证后查询进度。"
)


def _hash(salt: str, code: str) -> str:
    return hmac.new(bytes.fromhex(salt), code.encode("ascii"), hashlib.sha256).hexdigest()


class Desk:
    """Binding, status and notices of chats, on the database."""

    def __init__(
        self, engine: Engine, settings: Settings, *, mailer: Mailer | CodeMailSender, clock: Clock | None = None
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock or Clock(settings.now)
        # A bare sender (``zhengji ask``, tests) sends each queued mail at once, in the caller's thread.
        self.mailer = mailer if isinstance(mailer, CodeMailSender) else CodeMailSender(engine, mailer.send, self.clock)
        self.per_client = (Limit(settings.chat_code_mails_per_client_hour, timedelta(hours=1)),)
        self.in_all = (Limit(settings.chat_code_mails_per_hour, timedelta(hours=1)),)
        self._known: dict[Chat, _Known] = {}
        self._lock = threading.Lock()

    def _real(self) -> datetime:
        return self.clock.machine()

    # --- the one-time code ---------------------------------------------------------------------------------

    def has_pending_code(self, chat: Chat) -> bool:
        with Session(self.engine) as session:
            return self._pending(session, chat) is not None

    def _pending(self, session: Session, chat: Chat) -> ChatCode | None:
        return session.exec(
            select(ChatCode)
            .where(ChatCode.channel == chat.channel, ChatCode.chat_id == chat.id)
            .where(col(ChatCode.used_at).is_(None), col(ChatCode.expires_at) > self._real())
            .where(col(ChatCode.attempts) < CODE_ATTEMPTS)
            .order_by(col(ChatCode.id).desc())
        ).first()

    def request_code(self, chat: Chat, references: Sequence[str], emails: Sequence[str]) -> str:
        """Mail a code for the first reference (or address) named; the answer never tells whether it exists."""
        if not references and not emails:
            return wording.ASK_REFERENCE
        if chat.channel == "web" and not WEB_CHAT_ID.fullmatch(chat.id):
            return wording.WEAK_CHAT
        asker = origin()
        if not asker.verified:
            return UNVERIFIED_TEXT
        reference = references[0] if references else None
        address = None if reference else emails[0].lower()
        moment = self._real()
        queued = False
        with Session(self.engine) as session:
            submission = (
                session.exec(select(Submission).where(Submission.reference == reference)).first() if reference else None
            )
            if submission is not None and self._linked_to(session, chat, submission.id):
                return wording.already_linked(submission.reference)
            # Told limits first, each counting every request whether or not the reference exists: the answer
            # depends on the asker and the hour, never on the reference.
            if ratelimit.used(session, "code:all", self.in_all[0], moment) >= self.in_all[0].count:
                return CODES_BUSY_TEXT
            client = f"code:client:{chat.channel}:{asker.client}" if asker.client else None
            if client is not None and not ratelimit.allowed(session, client, self.per_client, moment):
                session.commit()
                return CODES_PER_CLIENT_HOUR_TEXT
            if not ratelimit.allowed(session, f"code:chat:{chat}", PER_CHAT, moment):
                session.commit()
                return wording.TOO_MANY_CODES
            targets = self._targets(session, submission, address)
            # Counted in all only when a mail goes out: that cap guards the account's sending quota.
            if (
                targets
                and self._within_limits(session, submission, targets[0].sender, moment)
                and ratelimit.allowed(session, "code:all", self.in_all, moment)
            ):
                code, mail = self._new_code(session, chat, submission, targets[0].sender, moment)
                codemail.enqueue(session, mail, code_id=code.id, expires_at=code.expires_at, moment=moment)
                queued = True
            ratelimit.forget_old(session, moment)
            codemail.forget_old(session, moment)
            # A code is worth nothing once expired; its row is kept a day for the record, then deleted (after
            # its queued mail, which refers to it).
            expired = select(ChatCode.id).where(col(ChatCode.expires_at) < moment - timedelta(days=1))
            session.exec(delete(ChatCodeMail).where(col(ChatCodeMail.code_id).in_(expired)))
            session.exec(delete(ChatCode).where(col(ChatCode.expires_at) < moment - timedelta(days=1)))
            session.commit()
        if queued:
            self.mailer.queued()
        return wording.code_sent(reference, address, CODE_MINUTES, CODE_ATTEMPTS)

    def _targets(self, session: Session, submission: Submission | None, address: str | None) -> list[Submission]:
        if submission is not None:
            return [submission]
        if address is None:
            return []
        return list(
            session.exec(
                select(Submission)
                .where(Submission.sender == address)
                .order_by(col(Submission.id).desc())
                .limit(MAX_LINKS)
            ).all()
        )

    def _within_limits(self, session: Session, submission: Submission | None, address: str, moment: datetime) -> bool:
        """The silent limits: a stranger must learn nothing from them, so they are never told."""
        if submission is not None and not ratelimit.allowed(
            session, f"code:sub:{submission.id}", PER_SUBMISSION, moment
        ):
            return False
        return ratelimit.allowed(session, f"code:addr:{address.lower()}", PER_ADDRESS, moment)

    def _new_code(
        self, session: Session, chat: Chat, submission: Submission | None, address: str, moment: datetime
    ) -> tuple[ChatCode, EmailMessage]:
        """Store the code's hash (earlier codes of the chat stop working, and their mails still queued are not
        sent) and compose its mail."""
        earlier = select(ChatCode.id).where(
            col(ChatCode.channel) == chat.channel, col(ChatCode.chat_id) == chat.id, col(ChatCode.used_at).is_(None)
        )
        session.exec(
            update(ChatCodeMail)
            .where(col(ChatCodeMail.code_id).in_(earlier), col(ChatCodeMail.state) == ChatCodeMailState.pending)
            .values(state=ChatCodeMailState.expired, raw=b"")
        )
        session.exec(
            update(ChatCode)
            .where(col(ChatCode.channel) == chat.channel, col(ChatCode.chat_id) == chat.id)
            .where(col(ChatCode.used_at).is_(None))
            .values(expires_at=moment)
        )
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        salt = secrets.token_hex(16)
        stored = ChatCode(
            channel=chat.channel,
            chat_id=chat.id,
            submission_id=submission.id if submission else None,
            address=address.lower(),
            code_hash=_hash(salt, code),
            salt=salt,
            created_at=moment,
            expires_at=moment + timedelta(minutes=CODE_MINUTES),
        )
        session.add(stored)
        session.flush()  # its id, for the queued mail
        from_address, office = self._sender_of(session, submission)
        subject_of = f"申报编号为 {submission.reference} 的申报材料" if submission else "本邮箱所发申报材料"
        return stored, compose(
            CodeMail(
                to=address,
                from_address=from_address,
                office=office,
                channel=chat.channel,
                code=code,
                subject_of=subject_of,
                minutes=CODE_MINUTES,
                attempts=CODE_ATTEMPTS,
                today=shanghai_date(self.clock.business()),
            )
        )

    def _sender_of(self, session: Session, submission: Submission | None) -> tuple[str, str]:
        """The mailbox the applicant wrote to (so the code comes from an address they know) and its office."""
        registry = load_registry()
        mailbox = self.settings.mailboxes[0]
        if submission is not None:
            first = session.exec(
                select(Message).where(Message.submission_id == submission.id).order_by(col(Message.id))
            ).first()
            if first is not None and first.envelope_to:
                mailbox = first.envelope_to[0]
            elif submission.track in {track.value for track in registry.tracks()}:
                mailbox = registry.track_rules(submission.track)[-1][1].mailbox
        for notice in registry.notices:
            if any(rule.mailbox.lower() == mailbox.lower() for rule in notice.tracks):
                return mailbox, notice.office
        return mailbox, registry.notices[-1].office

    def verify(self, chat: Chat, digits: str) -> str:
        """Check a code the chat sent; link the chat when it fits. Each try is counted before the code is compared,
        in one conditional UPDATE, so that concurrent guesses cannot share an attempt."""
        if not origin().verified:
            return UNVERIFIED_TEXT
        moment = self._real()
        with Session(self.engine) as session:
            pending = self._pending(session, chat)
            if pending is None:
                return wording.NO_PENDING_CODE
            tried, salt, expected = pending.attempts, pending.salt, pending.code_hash
            counted = session.exec(
                update(ChatCode)
                .where(col(ChatCode.id) == pending.id, col(ChatCode.used_at).is_(None))
                .where(col(ChatCode.attempts) < CODE_ATTEMPTS)
                .values(attempts=col(ChatCode.attempts) + 1)
            )
            if counted.rowcount != 1:
                session.commit()
                return wording.NO_PENDING_CODE
            if not hmac.compare_digest(_hash(salt, digits), expected):
                session.commit()
                return wording.wrong_code(CODE_ATTEMPTS - tried - 1)
            used = session.exec(
                update(ChatCode)
                .where(col(ChatCode.id) == pending.id, col(ChatCode.used_at).is_(None))
                .values(used_at=moment)
            )
            if used.rowcount != 1:
                session.commit()
                return wording.NO_PENDING_CODE
            submissions = self._to_link(session, pending)
            references = [submission.reference for submission in submissions]
            for submission in submissions:
                self._link(session, chat, submission, moment)
            session.commit()
        if not references:
            return wording.NOTHING_TO_LINK
        return wording.linked(references) + "\n\n" + self.status(chat, [])

    def _to_link(self, session: Session, code: ChatCode) -> list[Submission]:
        if code.submission_id is not None:
            submission = session.get(Submission, code.submission_id)
            return [submission] if submission else []
        return list(
            session.exec(
                select(Submission)
                .where(Submission.sender == code.address)
                .order_by(col(Submission.id).desc())
                .limit(MAX_LINKS)
            ).all()
        )

    def _link(self, session: Session, chat: Chat, submission: Submission, moment: datetime) -> bool:
        if self._linked_to(session, chat, submission.id):
            return False
        try:
            with session.begin_nested():
                session.add(
                    ChatLink(channel=chat.channel, chat_id=chat.id, submission_id=submission.id, created_at=moment)
                )
        except IntegrityError:
            return False  # linked a moment ago by the same chat in another process
        session.add(
            AuditEvent(
                at=self.clock.business(),
                actor=f"chat:{chat.channel}",
                action="chat_linked",
                submission_id=submission.id,
                detail={"channel": chat.channel},
            )
        )
        return True

    # --- links -----------------------------------------------------------------------------------------------

    def _linked_to(self, session: Session, chat: Chat, submission_id: int | None) -> bool:
        return (
            session.exec(
                select(ChatLink.id).where(
                    ChatLink.channel == chat.channel,
                    ChatLink.chat_id == chat.id,
                    ChatLink.submission_id == submission_id,
                )
            ).first()
            is not None
        )

    def linked(self, session: Session, chat: Chat) -> list[Submission]:
        links = session.exec(
            select(Submission)
            .join(ChatLink, col(ChatLink.submission_id) == col(Submission.id))
            .where(ChatLink.channel == chat.channel, ChatLink.chat_id == chat.id)
            .order_by(col(Submission.id).desc())
            .limit(MAX_LINKS)
        ).all()
        return list(links)

    def unlink(self, chat: Chat, references: Sequence[str]) -> str:
        """Remove the chat's links (only those named, when references are given)."""
        if not origin().verified:
            return UNVERIFIED_TEXT
        with Session(self.engine) as session:
            linked = self.linked(session, chat)
            chosen = [submission for submission in linked if not references or submission.reference in references]
            if not chosen:
                return wording.NOT_LINKED_TO_UNLINK
            for submission in chosen:
                session.exec(
                    delete(ChatLink).where(
                        col(ChatLink.channel) == chat.channel,
                        col(ChatLink.chat_id) == chat.id,
                        col(ChatLink.submission_id) == submission.id,
                    )
                )
                session.add(
                    AuditEvent(
                        at=self.clock.business(),
                        actor=f"chat:{chat.channel}",
                        action="chat_unlinked",
                        submission_id=submission.id,
                        detail={"channel": chat.channel},
                    )
                )
            session.exec(
                update(ChatPush)
                .where(col(ChatPush.channel) == chat.channel, col(ChatPush.chat_id) == chat.id)
                .where(col(ChatPush.state) == ChatPushState.pending)
                .where(col(ChatPush.submission_id).in_([submission.id for submission in chosen]))
                .values(state=ChatPushState.expired)
            )
            references = [submission.reference for submission in chosen]
            session.commit()
        return wording.unlinked(references)

    def _generation(self) -> tuple[int, int]:
        """Read on every answer, never kept for a while: an answer remembered under a generation read a moment
        before a status change would be served after the notice of that change (one indexed query, ~0.3 ms)."""
        with self.engine.connect() as connection:
            events, pushes = connection.execute(_GENERATION).one()
        return int(events or 0), int(pushes or 0)

    def _recall(self, chat: Chat, generation: tuple[int, int]) -> _Known | None:
        with self._lock:
            known = self._known.get(chat)
        return known if known is not None and known.generation == generation else None

    def _remember(self, chat: Chat, known: _Known) -> None:
        with self._lock:
            if len(self._known) >= MEMORY:
                self._known.clear()
            self._known[chat] = known

    # --- status ----------------------------------------------------------------------------------------------

    def status(self, chat: Chat, references: Sequence[str]) -> str:
        """The status of each submission the chat is linked to; the answer of an unchanged database is remembered
        (a status is asked again and again while an applicant waits)."""
        from zhengji.bot.answers.status import describe

        if not origin().verified:
            return UNVERIFIED_TEXT
        generation = self._generation()
        day = shanghai_date(self.clock.business())
        known = self._recall(chat, generation)
        if not references and known is not None and known.day == day and known.status is not None:
            return known.status
        with Session(self.engine) as session:
            linked = self.linked(session, chat)
            if references:
                named = [submission for submission in linked if submission.reference in references]
                if not named:
                    return wording.not_linked_to(references[0])
                linked = named
            if not linked:
                text = wording.NOT_LINKED
            else:
                text = "\n\n".join(describe(session, submission, self.clock.business()) for submission in linked)
        if not references:
            pending = known.pending if known is not None else True
            self._remember(chat, _Known(generation, pending=pending, day=day, status=text))
        return text

    def collect_notices(self, chat: Chat) -> list[str]:
        """Status notices waiting for a chat of a pull channel, marked delivered as they are handed over."""
        if chat.channel not in PULL_CHANNELS or not origin().verified:
            return []
        generation = self._generation()
        known = self._recall(chat, generation)
        if known is not None and not known.pending:
            return []
        with Session(self.engine) as session:
            pushes = session.exec(
                select(ChatPush)
                .where(ChatPush.channel == chat.channel, ChatPush.chat_id == chat.id)
                .where(ChatPush.state == ChatPushState.pending)
                .order_by(col(ChatPush.id))
            ).all()
            moment = self._real()
            texts = []
            for push in pushes:
                claimed = session.exec(
                    update(ChatPush)
                    .where(col(ChatPush.id) == push.id, col(ChatPush.state) == ChatPushState.pending)
                    .values(state=ChatPushState.sent, sent_at=moment, attempts=push.attempts + 1)
                )
                if claimed.rowcount == 1:  # another request of the same chat may have taken it a moment ago
                    texts.append(push.text)
            session.commit()
        # Pushes consumed do not move the generation; a new one does, and is then looked for again.
        self._remember(chat, _Known(generation, pending=False, day=known.day if known else None,
                                    status=known.status if known else None))  # fmt: skip
        return texts
