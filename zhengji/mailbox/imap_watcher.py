"""The IMAP watcher: every mail that reaches a watched folder (such as yanfa312@126.com's INBOX) is kept once.

Where it stands is the database itself: the highest ``imap_uid`` kept for the folder under its current
UIDVALIDITY. Because each mail is kept (blob fsynced, row committed) before the next one is fetched, and in UID
order, that number is exact after any crash, so a restart neither misses nor repeats a mail. When the server
gives the folder a new UIDVALIDITY (it was recreated, or the account moved), UIDs mean nothing any more and the
watcher reads the folder again from the start; a mail whose Message-ID or content hash is already stored for
this folder is then skipped, so that nothing is kept twice.

NetEase (126.com, 163.com) refuses ``SELECT`` with "Unsafe Login" until the client names itself with an RFC 2971
``ID`` command, so the watcher logs in without selecting, sends ``ID``, then selects. It waits with IDLE (RFC
2177) and falls back to polling where the server lacks it, and reconnects with backoff when the connection drops.

Once the pipeline has processed every attachment of a mail (its row is ``replied`` or ``ignored``), the watcher
settles the mail in the account: it adds the configured flag (``ZHENGJI_IMAP_DONE_FLAG``) and, when a done folder
is configured (``ZHENGJI_IMAP_DONE_FOLDER``), then moves it there, so that the clerks' inbox holds only what is
still open. A move is RFC 6851 ``UID MOVE``, or ``UID COPY`` followed by ``\\Deleted`` and RFC 4315 ``UID
EXPUNGE`` of exactly those UIDs; a server with neither gets the copy and the ``\\Deleted`` flag but no expunge at
all, because a plain ``EXPUNGE`` would also remove mails the clerks themselves marked deleted. Moving a mail away
does not disturb where the watcher stands: UIDs are never reused under one UIDVALIDITY, so the highest UID kept
stays exact whether or not the mails below it are still in the folder. No mail ever leaves the account: at
worst, after a crash between a copy and its expunge, it is in both folders.

One folder has one watcher, however many instances of ``zhengji serve`` share the database: the watching
instance holds a lock named after the folder (:mod:`zhengji.storage.locks`: a PostgreSQL advisory lock, or a file
lock in the data directory on SQLite), the others try again every ``ZHENGJI_IMAP_LOCK_RETRY_SECONDS`` and take
over when its holder dies. A holder checks as often that it still holds the lock, and stops watching at once when
it lost it (its database connection was cut), so that two watchers never work side by side for longer than
that; should they overlap for a moment, the unique (mailbox, UIDVALIDITY, UID) of ``messages`` keeps each mail
once.

imaplib is blocking, so the watcher runs in a thread; :class:`IMAPComponent` is its face in ``zhengji serve``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import imaplib
import logging
import re
import select
import socket
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from imap_tools import BaseMailBox, MailBox, MailBoxStartTls, MailBoxUnencrypted
from imap_tools.errors import ImapToolsError
from imap_tools.utils import encode_folder
from sqlalchemy import func, or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col
from sqlmodel import select as sql_select

from zhengji import __version__
from zhengji.mailbox.intake import Receipt, keep, message_id_of
from zhengji.settings import DEFAULT_IMAP_DONE_FLAG, ServerURL, Settings, parse_imap_flag, parse_imap_folder
from zhengji.storage.blobs import BlobStore, blob_store
from zhengji.storage.db import make_engine
from zhengji.storage.locks import InstanceLock, instance_lock
from zhengji.storage.models import Message, MessageSource, MessageState

log = logging.getLogger("zhengji.imap")

# imaplib only sends commands it knows; RFC 2971 ID is valid in every state.
imaplib.Commands.setdefault("ID", ("NONAUTH", "AUTH", "SELECTED"))

CLIENT_ID = f'("name" "zhengji" "version" "{__version__}" "vendor" "zhengji")'
DEFAULT_FLAG = DEFAULT_IMAP_DONE_FLAG
# Bodies fetched in one command stay under this many bytes, so that a folder full of large attachments is read
# in several round trips instead of held in memory at once.
FETCH_BYTES = 16 * 1024 * 1024
HEADER_BATCH = 200
# After losing its lock, an instance waits this many retry periods before trying to take it again, so that a
# healthy instance (which tries every period) takes over first: the one that lost it may be the one in trouble.
LOST_LOCK_ROUNDS = 5
IMAP_ERRORS: tuple[type[BaseException], ...] = (imaplib.IMAP4.error, OSError, ImapToolsError, EOFError)

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
_INTERNALDATE = re.compile(
    rb'INTERNALDATE "\s?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})"'
)
_UID = re.compile(rb"\bUID (\d+)")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")
_RECORD_START = re.compile(rb"^\d+ \(")


class IMAPProtocolError(RuntimeError):
    """The server answered something the watcher cannot use (no UIDVALIDITY, a FETCH without its UID)."""


class LockLost(RuntimeError):
    """This instance no longer holds the folder's lock: another instance may be watching it now."""


@dataclass(frozen=True)
class IMAPAccount:
    """The watched account and folder, as ``ZHENGJI_IMAP_URL`` gives them (the password is the 授权码)."""

    host: str
    port: int
    username: str
    password: str
    folder: str = "INBOX"
    tls: bool = True
    starttls: bool = False

    @classmethod
    def from_url(cls, url: ServerURL) -> IMAPAccount:
        if not url.username or url.password is None:
            raise ValueError("the IMAP URL has no user name or authorisation code")
        return cls(
            host=url.host,
            port=url.port,
            username=url.username,
            password=url.password.get_secret_value(),
            folder=url.path or "INBOX",
            tls=url.uses_tls,
            starttls=url.starttls,
        )

    @property
    def mailbox(self) -> str:
        """The name the ``messages`` rows carry: the account and the folder, e.g. ``yanfa312@126.com/INBOX``."""
        return f"{self.username}/{self.folder}"


@dataclass(frozen=True)
class _Envelope:
    """What a cheap first FETCH tells about a mail before its body is read."""

    uid: int
    size: int
    message_id: str | None


@dataclass(frozen=True)
class FetchedMail:
    uid: int
    received_at: datetime
    raw: bytes


def parse_internaldate(text: bytes) -> datetime | None:
    """INTERNALDATE as an aware UTC datetime; parsed by hand because ``%b`` in strptime follows the locale."""
    match = _INTERNALDATE.search(text)
    if match is None:
        return None
    day, month, year, hour, minute, second, sign, off_h, off_m = (part.decode() for part in match.groups())
    offset = timedelta(hours=int(off_h), minutes=int(off_m)) * (-1 if sign == "-" else 1)
    local = datetime(int(year), _MONTHS[month.title()], int(day), int(hour), int(minute), int(second))
    return local.replace(tzinfo=timezone(offset)).astimezone(UTC)


def _fetch_records(data: list[object]) -> Iterator[tuple[bytes, bytes | None]]:
    """Group imaplib's FETCH answer into (metadata, literal) per mail.

    imaplib hands back ``(b'1 (UID 5 INTERNALDATE ... BODY[] {n}', literal)`` tuples followed by the rest of the
    line (``b')'``, or ``b' UID 5)'`` when the server put UID after the body); unsolicited FETCH answers (flag
    changes by another client) arrive as plain lines and carry no literal.
    """
    meta: bytes | None = None
    literal: bytes | None = None
    for item in data:
        if isinstance(item, tuple):
            head, body = bytes(item[0]), bytes(item[1])
            if meta is None or _RECORD_START.match(head):
                if meta is not None:
                    yield meta, literal
                meta = head
            else:  # a second literal of the same mail
                meta += head
            literal = body
        elif isinstance(item, bytes):
            if _RECORD_START.match(item):
                if meta is not None:
                    yield meta, literal
                meta, literal = item, None
            elif meta is not None:
                meta += item
    if meta is not None:
        yield meta, literal


def _uid_of(meta: bytes) -> int | None:
    match = _UID.search(meta)
    return int(match.group(1)) if match else None


class IMAPWatcher:
    """Keeps every mail of one IMAP folder, in UID order, exactly once; see the module docstring."""

    def __init__(
        self,
        account: IMAPAccount,
        engine: Engine,
        blobs: BlobStore,
        *,
        use_idle: bool = True,
        poll_interval: float = 60.0,
        idle_refresh: float = 300.0,
        tick: float = 1.0,
        timeout: float = 30.0,
        backoff: float = 1.0,
        max_backoff: float = 300.0,
        done_flag: str = DEFAULT_FLAG,
        done_folder: str | None = None,
        client_id: str = CLIENT_ID,
        on_stored: Callable[[], None] | None = None,
        lock: InstanceLock | None = None,
        lock_retry: float = 5.0,
    ) -> None:
        self.account = account
        self.engine = engine
        self.blobs = blobs
        self.use_idle = use_idle
        self.poll_interval = poll_interval
        # RFC 2177 asks to renew IDLE within 29 minutes; renewing sooner also notices a connection that a NAT
        # box dropped without telling either side.
        self.idle_refresh = idle_refresh
        self.tick = tick
        self.timeout = timeout
        self.backoff = backoff
        self.max_backoff = max_backoff
        # The same checks as the settings, so that a watcher built in code cannot send a malformed STORE either.
        self.done_flag = parse_imap_flag(done_flag)
        self.done_folder = parse_imap_folder(done_folder or "", watched=account.folder)
        self.client_id = client_id
        self.on_stored = on_stored  # the workers' doorbell, so that they take the mail up at once
        self.connected = threading.Event()  # set while a session is logged in and watching
        # The lock that makes this the folder's only watcher among instances (None: watch unconditionally), and
        # how often a waiting instance tries to take it and a holder checks that it still has it.
        self.lock = lock
        self.lock_retry = lock_retry
        self.holding = threading.Event()  # set while this instance holds the lock (or needs none)
        self._held: InstanceLock | None = None  # the lock :meth:`run` holds now; a one-off sync() takes none
        self._current: BaseMailBox | None = None
        self._lock = threading.Lock()
        # Per connection: how a move is done there (None: the done folder could not be made ready).
        self._movers: weakref.WeakKeyDictionary[BaseMailBox, str | None] = weakref.WeakKeyDictionary()
        self._warned_no_expunge = False

    # -- connection ---------------------------------------------------------------------------------------

    def _mailbox_client(self) -> BaseMailBox:
        account = self.account
        if account.tls:
            return MailBox(account.host, account.port, timeout=self.timeout)
        if account.starttls:
            return MailBoxStartTls(account.host, account.port, timeout=self.timeout)
        return MailBoxUnencrypted(account.host, account.port, timeout=self.timeout)

    def open(self) -> tuple[BaseMailBox, int]:
        """Log in, send ``ID``, select the folder; returns the session and the folder's UIDVALIDITY."""
        mailbox = self._mailbox_client()
        with self._lock:
            self._current = mailbox
        try:
            mailbox.login(self.account.username, self.account.password, initial_folder=None)
            self._send_id(mailbox)
            mailbox.folder.set(self.account.folder)
            uidvalidity = self._uidvalidity(mailbox)
        except BaseException:
            self._close(mailbox, graceful=False)
            raise
        return mailbox, uidvalidity

    def _send_id(self, mailbox: BaseMailBox) -> None:
        try:
            typ, data = mailbox.client._simple_command("ID", self.client_id)
        except imaplib.IMAP4.abort:
            raise
        except imaplib.IMAP4.error as error:  # BAD from a server without RFC 2971: not needed there
            log.info("server did not take the ID command: %s", error)
            return
        if typ != "OK":
            log.info("server did not take the ID command: %s %r", typ, data)

    def _uidvalidity(self, mailbox: BaseMailBox) -> int:
        values = mailbox.client.untagged_responses.get("UIDVALIDITY")
        if values and isinstance(values[-1], bytes):
            return int(values[-1])
        status = mailbox.folder.status(self.account.folder, ["UIDVALIDITY"])
        if "UIDVALIDITY" not in status:
            raise IMAPProtocolError(f"the server gave no UIDVALIDITY for {self.account.folder!r}")
        return int(status["UIDVALIDITY"])

    def _capabilities(self, mailbox: BaseMailBox) -> set[str]:
        # The greeting's list may predate login; ask again now that the session is authenticated.
        typ, data = mailbox.client.capability()
        if typ == "OK" and data and isinstance(data[0], bytes):
            return {word.upper() for word in data[0].decode(errors="replace").split()}
        return {str(word).upper() for word in mailbox.client.capabilities}

    def _close(self, mailbox: BaseMailBox, *, graceful: bool = True) -> None:
        """LOGOUT after a clean session; after a failure just drop the socket, whose state is unknown (a LOGOUT
        sent while the server still thinks we idle would wait for the full timeout)."""
        with self._lock:
            if self._current is mailbox:
                self._current = None
        if graceful:
            try:
                mailbox.client.logout()
                return
            except Exception:  # the connection is often already gone; closing is best effort
                pass
        with contextlib.suppress(Exception):
            mailbox.client.shutdown()

    @contextlib.contextmanager
    def connection(self) -> Iterator[tuple[BaseMailBox, int]]:
        """An open session (see :meth:`open`) and the folder's UIDVALIDITY, closed afterwards."""
        mailbox, uidvalidity = self.open()
        try:
            yield mailbox, uidvalidity
        except BaseException:
            self._close(mailbox, graceful=False)
            raise
        self._close(mailbox)

    def interrupt(self) -> None:
        """Cut the current connection from another thread, so that a blocked read ends at once."""
        with self._lock:
            mailbox = self._current
        if mailbox is None:
            return
        with contextlib.suppress(OSError):
            mailbox.client.sock.shutdown(socket.SHUT_RDWR)

    # -- where we stand --------------------------------------------------------------------------------------

    def last_uid(self, uidvalidity: int) -> int:
        """The highest UID kept for this folder under ``uidvalidity`` (0 when none)."""
        with Session(self.engine) as session:
            found = session.exec(
                sql_select(func.max(Message.imap_uid)).where(
                    Message.mailbox == self.account.mailbox, Message.imap_uidvalidity == uidvalidity
                )
            ).one()
        return int(found or 0)

    def _already_stored(self, *, sha256: str | None = None, message_id: str | None = None) -> bool:
        """Whether this folder already has a mail with this content hash or Message-ID, under any UIDVALIDITY."""
        conditions: list[ColumnElement[bool]] = []
        if sha256:
            conditions.append(col(Message.sha256) == sha256)
        if message_id:
            conditions.append(col(Message.message_id) == message_id)
        if not conditions:
            return False
        with Session(self.engine) as session:
            found = session.exec(
                sql_select(Message.id).where(Message.mailbox == self.account.mailbox, or_(*conditions)).limit(1)
            ).first()
        return found is not None

    # -- reading the folder ---------------------------------------------------------------------------------

    def catch_up(self, mailbox: BaseMailBox, uidvalidity: int, after: int) -> int:
        """Keep every mail with a UID above ``after``, in UID order; returns the new position."""
        mailbox.client.noop()  # lets servers that only report new mail at a command boundary show it
        self._check_uidvalidity(mailbox, uidvalidity)
        found = mailbox.uids(f"UID {after + 1}:*", charset=None)
        # "n:*" always matches the highest mail, even when it is below n.
        uids = sorted(uid for uid in (int(text) for text in found) if uid > after)
        for start in range(0, len(uids), HEADER_BATCH):
            after = self._keep_batch(mailbox, uidvalidity, uids[start : start + HEADER_BATCH], after)
        return after

    @staticmethod
    def _check_uidvalidity(mailbox: BaseMailBox, uidvalidity: int) -> None:
        """Stop the session when the server announces a new UIDVALIDITY for the selected folder (RFC 3501 2.3.1.1).

        imaplib also piles up every untagged answer (EXISTS, RECENT, FETCH) that no command asked for; they are
        dropped here, between commands, so that a session of several months does not grow without end.
        """
        responses = mailbox.client.untagged_responses
        announced = [value for value in responses.get("UIDVALIDITY", []) if isinstance(value, bytes)]
        responses.clear()
        if any(int(value) != uidvalidity for value in announced):
            raise IMAPProtocolError(f"the folder's UIDVALIDITY changed from {uidvalidity} to {announced[-1]!r}")

    def _keep_batch(self, mailbox: BaseMailBox, uidvalidity: int, uids: list[int], after: int) -> int:
        for group in self._by_size(self._envelopes(mailbox, uids)):
            # A Message-ID already stored means the body need not even be downloaded.
            wanted = [e for e in group if not self._already_stored(message_id=e.message_id)]
            if wanted and self._held is not None and not self._held.still_held():
                # Checked before every download, not only by the guard between waits: a mail that arrives just
                # after the lock was lost is the new watcher's, and must not be fetched here as well.
                raise LockLost(f"the lock on {self.account.mailbox} was lost")
            bodies = {mail.uid: mail for mail in self._fetch_bodies(mailbox, wanted)}
            for envelope in group:
                mail = bodies.get(envelope.uid)
                if mail is not None:
                    self._keep(mail, uidvalidity)
                elif envelope in wanted:
                    log.warning("UID %d of %s vanished before it was read", envelope.uid, self.account.mailbox)
                else:
                    log.info("UID %d of %s: Message-ID already stored; skipped", envelope.uid, self.account.mailbox)
                after = max(after, envelope.uid)
        # A UID that the SEARCH found but the FETCH did not was expunged meanwhile by another client.
        return max([after, *uids])

    def _envelopes(self, mailbox: BaseMailBox, uids: list[int]) -> list[_Envelope]:
        if not uids:
            return []
        typ, data = mailbox.client.uid(
            "FETCH", ",".join(map(str, uids)), "(UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])"
        )
        if typ != "OK":
            raise IMAPProtocolError(f"FETCH of headers failed: {data!r}")
        envelopes: dict[int, _Envelope] = {}
        for meta, literal in _fetch_records(list(data)):
            uid = _uid_of(meta)
            if uid is None or uid not in uids:
                continue
            size = _SIZE.search(meta)
            envelopes[uid] = _Envelope(uid, int(size.group(1)) if size else 0, message_id_of(literal or b""))
        return [envelopes[uid] for uid in sorted(envelopes)]

    @staticmethod
    def _by_size(envelopes: list[_Envelope]) -> Iterator[list[_Envelope]]:
        group: list[_Envelope] = []
        total = 0
        for envelope in envelopes:
            if group and total + envelope.size > FETCH_BYTES:
                yield group
                group, total = [], 0
            group.append(envelope)
            total += envelope.size
        if group:
            yield group

    def _fetch_bodies(self, mailbox: BaseMailBox, envelopes: list[_Envelope]) -> list[FetchedMail]:
        # BODY.PEEK[] is the message exactly as the server holds it, and does not set \Seen.
        if not envelopes:
            return []
        wanted = {e.uid for e in envelopes}
        typ, data = mailbox.client.uid(
            "FETCH", ",".join(str(e.uid) for e in envelopes), "(UID INTERNALDATE BODY.PEEK[])"
        )
        if typ != "OK":
            raise IMAPProtocolError(f"FETCH failed: {data!r}")
        mails = []
        for meta, literal in _fetch_records(list(data)):
            uid = _uid_of(meta)
            if uid is None or uid not in wanted or literal is None:
                continue
            received = parse_internaldate(meta) or datetime.now(UTC)
            mails.append(FetchedMail(uid, received, literal))
        return sorted(mails, key=lambda mail: mail.uid)

    def _keep(self, mail: FetchedMail, uidvalidity: int) -> Message | None:
        digest = hashlib.sha256(mail.raw).hexdigest()
        if self._already_stored(sha256=digest, message_id=message_id_of(mail.raw)):
            log.info("UID %d of %s is already stored; skipped", mail.uid, self.account.mailbox)
            return None
        receipt = Receipt(
            source=MessageSource.imap,
            mailbox=self.account.mailbox,
            received_at=mail.received_at,
            imap_uidvalidity=uidvalidity,
            imap_uid=mail.uid,
        )
        row = keep(self.engine, self.blobs, mail.raw, receipt)
        log.info("kept UID %d of %s as message %s", mail.uid, self.account.mailbox, row.id)
        if self.on_stored is not None:
            self.on_stored()
        return row

    # -- waiting -------------------------------------------------------------------------------------------

    def _wait_idle(self, mailbox: BaseMailBox, stop: threading.Event) -> None:
        """IDLE until the server says anything, the refresh time passes, or ``stop`` is set."""
        client = mailbox.client
        if any(client.untagged_responses.get(kind) for kind in ("EXISTS", "RECENT")):
            # The server announced a new mail during the last catch-up; it will not announce it again in IDLE.
            client.untagged_responses.pop("EXISTS", None)
            client.untagged_responses.pop("RECENT", None)
            return
        mailbox.idle.start()
        deadline = time.monotonic() + self.idle_refresh
        while not stop.is_set() and time.monotonic() < deadline:
            if self._readable(client, self.tick):
                # Any untagged line (EXISTS, RECENT, a keep-alive "OK Still here") ends the wait: a catch-up is
                # one cheap SEARCH, and deciding which lines matter is not worth a missed mail.
                line = client._get_line()
                log.debug("IDLE: %r", line)
                if line.startswith((b"* NO", b"* BAD", b"* BYE")):
                    # Dovecot answers so when the folder was deleted under us; idling on would spin. A new
                    # session selects the folder afresh and sees its new UIDVALIDITY.
                    raise IMAPProtocolError(f"the server interrupted IDLE: {line.decode(errors='replace')}")
                break
        mailbox.idle.stop()

    @staticmethod
    def _readable(client: imaplib.IMAP4, timeout: float) -> bool:
        sock = client.sock
        # A line may already sit in imaplib's buffer (or the TLS layer's), where select() cannot see it.
        if getattr(sock, "pending", lambda: 0)():
            return True
        old = sock.gettimeout()
        sock.settimeout(0)
        try:
            buffered = client.file.peek(1)  # type: ignore[union-attr]
        except (BlockingIOError, OSError):
            buffered = b""
        finally:
            sock.settimeout(old)
        if buffered:
            return True
        ready, _, _ = select.select([sock], [], [], timeout)
        return bool(ready)

    def _wait_poll(self, stop: threading.Event) -> None:
        stop.wait(self.poll_interval)

    # -- the loop --------------------------------------------------------------------------------------------

    def session(self, stop: threading.Event) -> None:
        """One connection: catch up, then wait for news and catch up again, until ``stop`` or an error."""
        with self.connection() as (mailbox, uidvalidity):
            try:
                idle = self.use_idle and "IDLE" in self._capabilities(mailbox)
                after = self.last_uid(uidvalidity)
                log.info(
                    "watching %s (UIDVALIDITY %d, after UID %d, %s)",
                    self.account.mailbox,
                    uidvalidity,
                    after,
                    "IDLE" if idle else f"polling every {self.poll_interval:g} s",
                )
                after = self.catch_up(mailbox, uidvalidity, after)
                self.settle_finished(mailbox, uidvalidity)
                self.connected.set()
                while not stop.is_set():
                    if idle:
                        self._wait_idle(mailbox, stop)
                    else:
                        self._wait_poll(stop)
                    if not stop.is_set():
                        after = self.catch_up(mailbox, uidvalidity, after)
                        self.settle_finished(mailbox, uidvalidity)
            finally:
                self.connected.clear()

    def run(self, stop: threading.Event) -> None:
        """Watch until ``stop`` is set; with a lock, only while this instance holds it (see the module docstring)."""
        if self.lock is None:
            self.holding.set()
            try:
                self._watch(stop)
            finally:
                self.holding.clear()
            return
        lock, reported = self.lock, ""
        while not stop.is_set():
            if not lock.try_acquire():
                holder = lock.holder() or "another instance"
                if holder != reported:  # once per holder, not at every retry
                    reported = holder
                    log.info(
                        "%s is watched by %s; this instance (%s) takes over when it stops (trying every %g s)",
                        self.account.mailbox, holder, lock.owner, self.lock_retry,
                    )  # fmt: skip
                stop.wait(self.lock_retry)
                continue
            reported = ""
            log.info("this instance (%s) watches %s", lock.owner, self.account.mailbox)
            self.holding.set()
            self._held = lock
            halt = threading.Event()
            guard = threading.Thread(target=self._guard, args=(stop, halt), name="imap lock guard", daemon=True)
            guard.start()
            try:
                self._watch(halt)
            finally:
                self.holding.clear()
                self._held = None
                halt.set()
                guard.join()
                lock.release()
            if not stop.is_set():
                log.warning(
                    "%s: this instance (%s) lost its lock (its database connection ended) and stopped watching; "
                    "it tries to take it again in %g s", self.account.mailbox, lock.owner,
                    self.lock_retry * LOST_LOCK_ROUNDS,
                )  # fmt: skip
                stop.wait(self.lock_retry * LOST_LOCK_ROUNDS)

    def _guard(self, stop: threading.Event, halt: threading.Event) -> None:
        """While watching: pass ``stop`` on to ``halt``, and set ``halt`` (cutting the IMAP session short) as soon
        as the lock turns out to be lost, so that this instance never watches beside the lock's new holder."""
        assert self.lock is not None
        while not halt.is_set():
            if stop.wait(self.lock_retry):
                halt.set()
                return
            if not halt.is_set() and not self.lock.still_held():
                halt.set()
                self.interrupt()
                return

    def _watch(self, stop: threading.Event) -> None:
        """Watch until ``stop`` is set, reconnecting after failures with a growing pause (never giving up)."""
        delay = self.backoff
        while not stop.is_set():
            started = time.monotonic()
            try:
                self.session(stop)
            except LockLost:
                break
            except Exception as error:
                if stop.is_set():
                    break
                if time.monotonic() - started > 60:
                    delay = self.backoff  # the session had been working; this is a fresh failure
                if isinstance(error, (*IMAP_ERRORS, IMAPProtocolError, SQLAlchemyError)):
                    log.warning("IMAP %s: %s; reconnecting in %.1f s", self.account.mailbox, error, delay)
                else:  # a bug, not the network: say where, and keep watching rather than lose the inbox
                    log.exception("IMAP %s failed; reconnecting in %.1f s", self.account.mailbox, delay)
                stop.wait(delay)
                delay = min(delay * 2, self.max_backoff)
            else:
                delay = self.backoff

    def sync(self) -> int:
        """Connect once, keep whatever is new, and disconnect; returns the position reached (the last UID)."""
        with self.connection() as (mailbox, uidvalidity):
            return self.catch_up(mailbox, uidvalidity, self.last_uid(uidvalidity))

    # -- after processing ------------------------------------------------------------------------------------

    def settle_finished(self, mailbox: BaseMailBox, uidvalidity: int) -> int:
        """Flag, and move to the done folder if one is set, the mails the pipeline has finished; returns how many.

        Runs on the watcher's own connection between waits, so a mail is settled only after every attachment of
        it was processed, and never before. ``Message.imap_flagged`` means "settled": flagged and, when a done
        folder is set, moved. It is committed only after the server confirmed both, so a crash in between sends
        the same commands again, which is harmless: a UID that left the folder matches nothing.
        """
        done = (MessageState.replied, MessageState.ignored)
        # Read, then let go of the database before talking to the server: on SQLite every transaction holds the
        # write lock, and the SMTP server and the pipeline must not wait for IMAP round trips.
        with Session(self.engine) as session:
            found = session.exec(
                sql_select(Message.id, Message.imap_uid).where(
                    Message.source == MessageSource.imap,
                    Message.mailbox == self.account.mailbox,
                    Message.imap_uidvalidity == uidvalidity,
                    col(Message.state).in_(done),
                    col(Message.imap_flagged).is_(False),
                )
            ).all()
        ids = [row_id for row_id, _ in found]
        uids = sorted({uid for _, uid in found if uid is not None})
        if not uids:
            return 0
        self._store_flag(mailbox, uids)
        if self.done_folder is not None:
            try:
                self._move(mailbox, uids)
            except IMAPProtocolError as error:
                # The mails stay flagged in the folder and are tried again at the next catch-up (or the next
                # connection); intake must not stop because a folder cannot be written.
                log.warning("IMAP %s: not moved to %r: %s", self.account.mailbox, self.done_folder, error)
                return 0
        with Session(self.engine) as session:
            session.exec(update(Message).where(col(Message.id).in_(ids)).values(imap_flagged=True))
            session.commit()
        return len(uids)

    def mark_processed(self, uid: int, uidvalidity: int) -> bool:
        """Settle one mail (flag it, and move it when a done folder is set) once every attachment was processed.

        Uses its own short connection (the watcher's is busy idling, and imaplib is not thread-safe). Returns
        False, and touches nothing, when the folder's UIDVALIDITY is no longer the one the mail was kept under:
        the UID would then name another mail. ``UID STORE`` is sent directly because imap-tools' ``flag()``
        and ``move()`` send a plain ``EXPUNGE``, which would also remove mails that someone else marked deleted.
        """
        with self.connection() as (mailbox, current):
            if current != uidvalidity:
                log.warning(
                    "UIDVALIDITY of %s changed (%d → %d); UID %d not flagged", self.account.mailbox, uidvalidity,
                    current, uid,
                )  # fmt: skip
                return False
            self._store_flag(mailbox, [uid])
            if self.done_folder is not None:
                self._move(mailbox, [uid])
            return True

    def _store_flag(self, mailbox: BaseMailBox, uids: list[int]) -> None:
        typ, data = mailbox.client.uid("STORE", uid_set(uids), "+FLAGS.SILENT", f"({self.done_flag})")
        if typ != "OK":
            raise IMAPProtocolError(f"STORE failed: {data!r}")

    def _move(self, mailbox: BaseMailBox, uids: list[int]) -> None:
        """Move these UIDs of the selected folder to the done folder, removing nothing else from it."""
        assert self.done_folder is not None
        if mailbox not in self._movers:
            self._movers[mailbox] = self._prepare_move(mailbox)
        how = self._movers[mailbox]
        if how is None:
            raise IMAPProtocolError(f"the folder {self.done_folder!r} could not be created")
        client, target, uidset = mailbox.client, encode_folder(self.done_folder).decode("ascii"), uid_set(uids)
        try:
            if how == "MOVE":
                self._check("MOVE", client.uid("MOVE", uidset, target))
                return
            self._check("COPY", client.uid("COPY", uidset, target))
            # The copy is safe in the done folder; only now is the original marked, and only it is expunged.
            self._check("STORE", client.uid("STORE", uidset, "+FLAGS.SILENT", r"(\Deleted)"))
            if how == "UIDPLUS":
                self._check("UID EXPUNGE", client.uid("EXPUNGE", uidset))
        except IMAPProtocolError:
            # Perhaps someone deleted the done folder meanwhile (NO [TRYCREATE]): look for it again next time.
            self._movers.pop(mailbox, None)
            raise

    @staticmethod
    def _check(command: str, answer: tuple[str, list[object]]) -> None:
        typ, data = answer
        if typ != "OK":
            raise IMAPProtocolError(f"{command} failed: {data!r}")

    def _prepare_move(self, mailbox: BaseMailBox) -> str | None:
        """Create the done folder when it is missing, and choose how to move: ``MOVE``, ``UIDPLUS`` or ``COPY``.

        Done once per connection; returns None (and logs why) when the folder can neither be found nor created.
        """
        assert self.done_folder is not None
        folder = self.done_folder
        try:
            if not mailbox.folder.exists(folder):
                try:
                    mailbox.folder.create(folder)
                    log.info("created the folder %r in %s", folder, self.account.username)
                except ImapToolsError:
                    if not mailbox.folder.exists(folder):  # another client may have created it meanwhile
                        raise
                # Web mail (126.com) and most clients show only subscribed folders.
                with contextlib.suppress(ImapToolsError):
                    mailbox.folder.subscribe(folder, True)
        except ImapToolsError as error:
            log.warning("IMAP %s: cannot create the folder %r: %s", self.account.mailbox, folder, error)
            return None
        capabilities = self._capabilities(mailbox)
        if "MOVE" in capabilities:
            return "MOVE"
        if "UIDPLUS" in capabilities:
            return "UIDPLUS"
        if not self._warned_no_expunge:
            self._warned_no_expunge = True
            log.warning(
                "IMAP %s: the server has neither MOVE nor UIDPLUS; processed mails are copied to %r and marked "
                "\\Deleted, but not expunged (a plain EXPUNGE would remove other deleted mails too)",
                self.account.mailbox,
                folder,
            )
        return "COPY"


def uid_set(uids: list[int]) -> str:
    """An IMAP sequence set of exactly these UIDs, runs written ``a:b`` (``1:3,7``), to keep commands short."""
    ordered = sorted(set(uids))
    parts: list[str] = []
    start = previous = ordered[0]
    for uid in [*ordered[1:], None]:
        if uid is not None and uid == previous + 1:
            previous = uid
            continue
        parts.append(str(start) if start == previous else f"{start}:{previous}")
        if uid is not None:
            start = previous = uid
    return ",".join(parts)


class IMAPComponent:
    """The IMAP watcher as a part of ``zhengji serve``: a thread that stops within a few seconds of ``stop``."""

    name = "imap"

    def __init__(
        self,
        settings: Settings,
        *,
        engine: Engine | None = None,
        blobs: BlobStore | None = None,
        grace: float = 5.0,
        **watcher_options: object,
    ) -> None:
        if settings.imap_url is None:
            raise ValueError("ZHENGJI_IMAP_URL is not set")
        self._own_engine = engine is None
        self.engine = engine if engine is not None else make_engine(settings.resolved_database_url)
        account = IMAPAccount.from_url(settings.imap_url)
        # One watcher per folder across every instance on this database (see the module docstring).
        self.lock = instance_lock(self.engine, settings.data_dir / "locks", f"imap:{account.mailbox.lower()}")
        options = {
            "done_flag": settings.imap_done_flag,
            "done_folder": settings.imap_done_folder,
            "lock": self.lock,
            "lock_retry": settings.imap_lock_retry_seconds,
            **watcher_options,
        }
        self.watcher = IMAPWatcher(
            account,
            self.engine,
            blobs if blobs is not None else blob_store(settings),
            **options,  # type: ignore[arg-type]
        )
        self.grace = grace

    async def run(self, stop: asyncio.Event) -> None:
        halt = threading.Event()
        watching = asyncio.create_task(asyncio.to_thread(self.watcher.run, halt))
        stopping = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({watching, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            halt.set()
            stopping.cancel()
            try:
                await asyncio.wait_for(asyncio.shield(watching), timeout=self.grace)
            except TimeoutError:
                self.watcher.interrupt()  # blocked in a read or a connect: cut it short
                await watching
            finally:
                self.lock.dispose()
                if self._own_engine:
                    self.engine.dispose()
        log.info("IMAP watcher stopped")
