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
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy import delete, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from zhengji.bot import codemail, ratelimit
from zhengji.bot.answers import status as wording
from zhengji.bot.codemail import CodeMail, CodeMailSender, RawMail, wire
from zhengji.bot.conversation import Chat
from zhengji.bot.ratelimit import Limit
from zhengji.clock import Clock, shanghai_date
from zhengji.notices.registry import load_registry
from zhengji.settings import Settings
from zhengji.storage.db import reading
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
from zhengji.storage.status import move_pushes

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
TIDY_EVERY = timedelta(minutes=1)
"""How often a process deletes the code rows kept for the record past their day (see :meth:`Desk._tidy`)."""
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


@dataclass(frozen=True)
class _Target:
    """The submission a code is asked for, as a code request needs it."""

    id: int
    reference: str
    sender: str
    track: str
    linked: bool  # to the asking chat already
    mailbox: str | None  # the mailbox its first mail reached
    earlier: bool  # the asking chat holds unused codes (of any submission), which a new code puts out


class Mailer(Protocol):
    def send(self, mail: RawMail) -> None: ...


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


# The code request's statements, built once (issue 18: building and keying a statement cost more than running
# it; the engine caches their compiled form). Bound by name at each request.
_SUBMISSIONS = Submission.__table__  # type: ignore[attr-defined]
_LINKS = ChatLink.__table__  # type: ignore[attr-defined]
_CODES = ChatCode.__table__  # type: ignore[attr-defined]
_CODE_MAILS = ChatCodeMail.__table__  # type: ignore[attr-defined]
_MESSAGES = Message.__table__  # type: ignore[attr-defined]
_UNUSED_CODES_OF_CHAT = (
    _CODES.c.channel == sa.bindparam("b_channel"),
    _CODES.c.chat_id == sa.bindparam("b_chat_id"),
    _CODES.c.used_at.is_(None),
)
# The submission with what the request needs of it in the same query (issue 18: a code request was ten
# statements): the mailbox its first mail reached (the code comes from it) and whether the chat holds unused
# codes to put out (most chats ask their first code, and two UPDATEs that change nothing are skipped).
_TARGET = sa.select(
    _SUBMISSIONS.c.id,
    _SUBMISSIONS.c.reference,
    _SUBMISSIONS.c.sender,
    _SUBMISSIONS.c.track,
    sa.select(_MESSAGES.c.envelope_to)
    .where(_MESSAGES.c.submission_id == _SUBMISSIONS.c.id)
    .order_by(_MESSAGES.c.id)
    .limit(1)
    .scalar_subquery(),
    sa.exists().where(*_UNUSED_CODES_OF_CHAT),
)
_TARGET_BY_REFERENCE = _TARGET.add_columns(
    sa.exists()
    .where(_LINKS.c.channel == sa.bindparam("b_channel"), _LINKS.c.chat_id == sa.bindparam("b_chat_id"))
    .where(_LINKS.c.submission_id == _SUBMISSIONS.c.id)
).where(_SUBMISSIONS.c.reference == sa.bindparam("b_reference"))
_TARGET_BY_ADDRESS = _TARGET.add_columns(sa.false()).where(_SUBMISSIONS.c.sender == sa.bindparam("b_address"))
_TARGET_BY_ADDRESS = _TARGET_BY_ADDRESS.order_by(_SUBMISSIONS.c.id.desc()).limit(1)
_EXPIRE_EARLIER_MAILS = (
    update(_CODE_MAILS)
    .where(_CODE_MAILS.c.code_id.in_(sa.select(_CODES.c.id).where(*_UNUSED_CODES_OF_CHAT)))
    .where(_CODE_MAILS.c.state == ChatCodeMailState.pending)
    .values(state=ChatCodeMailState.expired, raw=b"")
)
_EXPIRE_EARLIER_CODES = update(_CODES).where(*_UNUSED_CODES_OF_CHAT).values(expires_at=sa.bindparam("b_moment"))
_NEW_CODE = sa.insert(_CODES).values(
    channel=sa.bindparam("b_channel"),
    chat_id=sa.bindparam("b_chat_id"),
    submission_id=sa.bindparam("b_submission_id"),
    address=sa.bindparam("b_address"),
    code_hash=sa.bindparam("b_code_hash"),
    salt=sa.bindparam("b_salt"),
    attempts=0,
    created_at=sa.bindparam("b_moment"),
    expires_at=sa.bindparam("b_expires_at"),
)


class Desk:
    """Binding, status and notices of chats, on the database."""

    def __init__(
        self, engine: Engine, settings: Settings, *, mailer: Mailer | CodeMailSender, clock: Clock | None = None
    ) -> None:
        self.engine = engine
        # Status, pending codes and notices are read without the write lock (zhengji.storage.db.reading).
        self.reader = reading(engine)
        self.settings = settings
        self.clock = clock or Clock(settings.now)
        # A bare sender (``zhengji ask``, tests) sends each queued mail at once, in the caller's thread.
        self.mailer = mailer if isinstance(mailer, CodeMailSender) else CodeMailSender(engine, mailer.send, self.clock)
        self.per_client = (Limit(settings.chat_code_mails_per_client_hour, timedelta(hours=1)),)
        self.in_all = (Limit(settings.chat_code_mails_per_hour, timedelta(hours=1)),)
        self._known: dict[Chat, _Known] = {}
        self._lock = threading.Lock()
        self._generation_sql = str(_GENERATION.compile(dialect=engine.dialect))
        self._tidied: datetime | None = None

    def _real(self) -> datetime:
        return self.clock.machine()

    # --- the one-time code ---------------------------------------------------------------------------------

    def has_pending_code(self, chat: Chat) -> bool:
        with Session(self.reader) as session:
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
        """Mail a code for the first reference (or address) named; the answer never tells whether it exists.

        One short transaction (issue 18: 200 chats at once, one in ten asking a code): the submission and the
        chat's link in one query, every counter in one, the counts added in one statement, then the code and its
        queued mail; one commit. The mail is composed inside it (it needs the submission's sender and mailbox)
        and sent by the code mail sender's thread after the commit."""
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
        client = f"code:client:{chat.channel}:{asker.client}" if asker.client else None
        queued = False
        with codemail.writer(self.engine), self.engine.begin() as connection:
            target = self._target(connection, chat, reference, address)
            if target is not None and target.linked:
                return wording.already_linked(target.reference)
            keys = ["code:all", f"code:chat:{chat}", *([client] if client else [])]
            if target is not None:
                keys += [f"code:addr:{target.sender.lower()}"]
                keys += [f"code:sub:{target.id}"] if reference else []
            limits = (*self.in_all, *self.per_client, *PER_CHAT, *PER_SUBMISSION, *PER_ADDRESS)
            counters = ratelimit.read(connection, keys, limits, moment)
            # Told limits first, each counting every request whether or not the reference exists: the answer
            # depends on the asker and the hour, never on the reference.
            if counters.used("code:all", self.in_all[0]) >= self.in_all[0].count:
                return CODES_BUSY_TEXT
            if client is not None and not counters.allow(client, self.per_client):
                return CODES_PER_CLIENT_HOUR_TEXT
            if not counters.allow(f"code:chat:{chat}", PER_CHAT):
                counters.write(connection)
                return wording.TOO_MANY_CODES
            # The silent limits (a stranger must learn nothing from them), then the one in all, counted only
            # when a mail goes out: that cap guards the account's sending quota.
            if (
                target is not None
                and (not reference or counters.allow(f"code:sub:{target.id}", PER_SUBMISSION))
                and counters.allow(f"code:addr:{target.sender.lower()}", PER_ADDRESS)
                and counters.allow("code:all", self.in_all)
            ):
                code_id, expires_at, mail = self._new_code(connection, chat, target, reference, moment)
                codemail.enqueue(connection, mail, target.sender, code_id=code_id, expires_at=expires_at, moment=moment)
                queued = True
            counters.write(connection)
            self._tidy(connection, moment)
        if queued:
            self.mailer.queued()
        return wording.code_sent(reference, address, CODE_MINUTES, CODE_ATTEMPTS)

    def _target(self, connection: Connection, chat: Chat, reference: str | None, address: str | None) -> _Target | None:
        """The submission named (with whether this chat is already linked to it), or the newest of the address
        named; None when there is none."""
        chat_key = {"b_channel": chat.channel, "b_chat_id": chat.id}
        if reference is not None:
            row = connection.execute(_TARGET_BY_REFERENCE, {**chat_key, "b_reference": reference}).first()
        else:
            row = connection.execute(_TARGET_BY_ADDRESS, {**chat_key, "b_address": address}).first()
        if row is None:
            return None
        first = row[4]
        return _Target(row[0], row[1], row[2], row[3], bool(row[6]), first[0] if first else None, bool(row[5]))

    def _tidy(self, connection: Connection, moment: datetime) -> None:
        """Old counters, settled code mails and codes expired a day ago deleted, at most once a
        :data:`TIDY_EVERY` per process (their rows only wait a day or two for the record)."""
        with self._lock:
            if self._tidied is not None and self._tidied <= moment < self._tidied + TIDY_EVERY:
                return
            self._tidied = moment
        ratelimit.forget_old(connection, moment)
        codemail.forget_old(connection, moment)
        # A code is worth nothing once expired; its row is kept a day for the record, then deleted (after its
        # queued mail, which refers to it).
        expired = sa.select(col(ChatCode.id)).where(col(ChatCode.expires_at) < moment - timedelta(days=1))
        connection.execute(delete(ChatCodeMail).where(col(ChatCodeMail.code_id).in_(expired)))
        connection.execute(delete(ChatCode).where(col(ChatCode.expires_at) < moment - timedelta(days=1)))

    def _new_code(
        self, connection: Connection, chat: Chat, target: _Target, reference: str | None, moment: datetime
    ) -> tuple[int, datetime, bytes]:
        """Store the code's hash (earlier codes of the chat stop working, and their mails still queued are not
        sent) and compose its mail. A code asked by address (``reference`` None) links every submission of it."""
        chat_key = {"b_channel": chat.channel, "b_chat_id": chat.id}
        if target.earlier:  # read in this transaction, which holds the write lock: no code came since
            connection.execute(_EXPIRE_EARLIER_MAILS, chat_key)
            connection.execute(_EXPIRE_EARLIER_CODES, {**chat_key, "b_moment": moment})
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        salt = secrets.token_hex(16)
        expires_at = moment + timedelta(minutes=CODE_MINUTES)
        inserted = connection.execute(
            _NEW_CODE,
            {
                **chat_key,
                "b_submission_id": target.id if reference else None,
                "b_address": target.sender.lower(),
                "b_code_hash": _hash(salt, code),
                "b_salt": salt,
                "b_moment": moment,
                "b_expires_at": expires_at,
            },
        )
        code_id = int(inserted.inserted_primary_key[0])  # type: ignore[index]
        from_address, office = self._sender_of(target if reference else None)
        subject_of = f"申报编号为 {target.reference} 的申报材料" if reference else "本邮箱所发申报材料"
        return (
            code_id,
            expires_at,
            wire(
                CodeMail(
                    to=target.sender,
                    from_address=from_address,
                    office=office,
                    channel=chat.channel,
                    code=code,
                    subject_of=subject_of,
                    minutes=CODE_MINUTES,
                    attempts=CODE_ATTEMPTS,
                    today=shanghai_date(self.clock.business()),
                )
            ),
        )

    def _sender_of(self, target: _Target | None) -> tuple[str, str]:
        """The mailbox the applicant wrote to (so the code comes from an address they know) and its office."""
        registry = load_registry()
        mailbox = self.settings.mailboxes[0]
        if target is not None:
            if target.mailbox:
                mailbox = target.mailbox
            elif target.track in {track.value for track in registry.tracks()}:
                mailbox = registry.track_rules(target.track)[-1][1].mailbox
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
            move_pushes(
                session,
                ChatPushState.pending,
                ChatPushState.expired,
                col(ChatPush.channel) == chat.channel,
                col(ChatPush.chat_id) == chat.id,
                col(ChatPush.submission_id).in_([submission.id for submission in chosen]),
            )
            references = [submission.reference for submission in chosen]
            session.commit()
        return wording.unlinked(references)

    def _generation(self) -> tuple[int, int]:
        """Read on every answer, never kept for a while: an answer remembered under a generation read a moment
        before a status change would be served after the notice of that change.

        One indexed query on a pooled DBAPI connection, outside any transaction the engine would open: on SQLite
        the engine begins every transaction with ``BEGIN IMMEDIATE`` (zhengji.storage.db), which would make this
        read wait behind every writer (a code request, the code mail sender, the pipeline) and the busy handler's
        sleeps; a lone statement reads the newest committed state of the WAL without a lock (~0.03 ms)."""
        connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(self._generation_sql)
                events, pushes = cursor.fetchone() or (0, 0)
            finally:
                cursor.close()
        finally:
            connection.close()  # back to the pool, which rolls back the transaction PostgreSQL opened for it
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
        with Session(self.reader) as session:
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
        with Session(self.reader) as session:
            pushes = session.exec(
                select(ChatPush)
                .where(ChatPush.channel == chat.channel, ChatPush.chat_id == chat.id)
                .where(ChatPush.state == ChatPushState.pending)
                .order_by(col(ChatPush.id))
            ).all()
        texts = []
        if pushes:  # looked for without the write lock; only a chat with notices waiting takes it, to mark them
            with Session(self.engine) as session:
                moment = self._real()
                for push in pushes:
                    claimed = move_pushes(
                        session,
                        ChatPushState.pending,
                        ChatPushState.sent,
                        col(ChatPush.id) == push.id,
                        sent_at=moment,
                        attempts=push.attempts + 1,
                    )
                    if claimed == 1:  # another request of the same chat may have taken it a moment ago
                        texts.append(push.text)
                session.commit()
        # Pushes consumed do not move the generation; a new one does, and is then looked for again.
        self._remember(chat, _Known(generation, pending=False, day=known.day if known else None,
                                    status=known.status if known else None))  # fmt: skip
        return texts
