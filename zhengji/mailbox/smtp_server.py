"""The built-in inbound SMTP server: it takes mail for our mailboxes, keeps it, and only then says ``250``.

It stores and enqueues, nothing more: parsing and replying happen in the pipeline, so that a slow parser never
holds a sender's connection open and a crash mid-parse never loses a mail that was already acknowledged. Every
refusal says in English (for the sending server's log) and in Chinese (for the applicant who reads the bounce)
what went wrong and whether sending again will help: ``5xx`` is final, ``4xx`` asks the sender to retry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import re
import socket
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy.engine import Engine

from zhengji import clock
from zhengji.mailbox.intake import MAX_BATCH, GroupCommit, Outcome, Receipt, Row, row_values
from zhengji.mailbox.smtp_data import Refusal, read_data
from zhengji.settings import Settings
from zhengji.storage.blobs import BlobStore, LocalBlobStore, blob_store
from zhengji.storage.db import make_engine
from zhengji.storage.models import MessageSource

log = logging.getLogger("zhengji.smtp")

DEFAULT_MAX_SIZE = 50 * 1024 * 1024
"""50 MB: a submission is a few Word/PDF forms and scans; base64 adds a third, and NetEase sends up to 50 MB."""

DEFAULT_WORKERS = 1
"""Threads that write blobs to a local store. The thread takes every mail waiting when it is free, writes and
fsyncs their blobs one after the other (a fsync costs the CPU little) and hands their rows to the group commit
together, while the committing thread commits the group before. More threads measured slower on two cores: each
hand-off between threads costs a lock and a wake-up, and sixteen threads with a mail each spent more CPU on those
than on the mails (``benchmarks/smtp.py``: 1.0–1.3 ms of CPU a mail with one thread, 1.7–2.5 ms with two)."""

S3_WORKERS = 8
"""Threads that write blobs to an S3 store: a ``PutObject`` waits a network round trip, not a local disk, so the
blobs of the mails that arrive together are sent several at a time."""

DEFAULT_MAX_RECIPIENTS = 100
"""RCPT commands a transaction may give (Postfix's ``smtpd_recipient_limit`` is 1,000 for a relay): zhengji
receives for a handful of addresses, so a hundred is far beyond any applicant and still bounds the work."""

STREAM_LIMIT = 64 * 1024
"""How much of a mail the stream reader hands over at a time (aiosmtpd's line limit, 1,001, made it 1 KB)."""

MAX_ADDRESS = 320
STORE_FAILED = "451 4.3.0 Temporary storage failure, please retry later; 暂时无法保存邮件，请稍后重新发送"
SHUTTING_DOWN = "421 4.3.2 Service shutting down, please retry later; 服务正在停止，请稍后重新发送"
LINE_TOO_LONG = "500 5.5.2 Line too long (RFC 5321 4.5.3.1.6); 邮件中有过长的行，请将内容作为附件发送"
TOO_MANY_RECIPIENTS = "452 4.5.3 Too many recipients; 收件人过多，请分批发送"
_ACCEPTED = "250 2.0.0 OK: message stored; 邮件已收到"

_ATOM = r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+"
_PLAIN_ADDRESS = re.compile(rf"[ \t]*<({_ATOM}(?:\.{_ATOM})*@{_ATOM}(?:\.{_ATOM})*)>")
"""``<local@domain>`` with both halves plain ASCII dot-atoms (RFC 5321 4.1.2): what nearly every sender gives at
``MAIL FROM`` and ``RCPT TO``, and read the same by this pattern as by the email package's address parser."""


def describe_size(limit: int) -> str:
    """A size the way an applicant reads it on a bounce: ``50 MB``, ``1.5 MB`` or ``100 KB``."""
    if limit >= 1024 * 1024:
        return f"{round(limit / (1024 * 1024), 1):g} MB"
    return f"{max(1, round(limit / 1024)):g} KB"


def too_large_reply(limit: int) -> str:
    return f"552 5.3.4 Message too large; 邮件超过 {describe_size(limit)}，请压缩附件或分封发送"


def no_such_mailbox_reply(address: str) -> str:
    return f"550 5.1.1 <{address}>: 本邮箱不受理该地址 (no such mailbox here)"


class IntakeHandler:
    """aiosmtpd hooks: refuse strangers at ``RCPT``, keep the mail at ``DATA``, answer ``250`` only once it is kept.

    Keeping a mail has two halves that block: its blob is written and fsynced by a :class:`Keeper` thread, with
    the blobs of the mails that arrived meanwhile, and its row is committed by :class:`GroupCommit` together with
    theirs. The event loop goes on talking to every other sender in between and is woken once for the group.
    """

    def __init__(
        self,
        engine: Engine,
        blobs: BlobStore,
        mailboxes: Iterable[str],
        *,
        max_size: int = DEFAULT_MAX_SIZE,
        max_recipients: int = DEFAULT_MAX_RECIPIENTS,
        fixed_now: datetime | None = None,
        workers: int = DEFAULT_WORKERS,
        on_stored: Callable[[], None] | None = None,
    ) -> None:
        self.engine = engine
        self.blobs = blobs
        self.mailboxes = {address.strip().lower() for address in mailboxes}
        if not self.mailboxes:
            raise ValueError("no mailbox to receive mail for")
        if max_size <= 0:
            raise ValueError(f"max_size must be positive, not {max_size}")
        self.max_size = max_size
        if max_recipients < 1:
            raise ValueError(f"max_recipients must be at least 1, not {max_recipients}")
        self.max_recipients = max_recipients
        self.fixed_now = fixed_now
        self.committer = GroupCommit(engine)
        self.keeper = Keeper(blobs, self.committer, workers)
        self.on_stored = on_stored  # the workers' doorbell, so that they take the mail up at once
        self._storing: set[asyncio.Future[Any]] = set()

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        # The column holds 320 characters (RFC 5321 allows 256); refusing here beats a 451 the sender retries forever.
        if len(address) > MAX_ADDRESS:
            return "553 5.1.7 Sender address too long; 发件地址过长"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        # Counted before anything else, as Postfix does: a 4xx asks the client to send the rest in a new transaction.
        if isinstance(envelope, IntakeEnvelope):
            envelope.rcpt_commands += 1
            if envelope.rcpt_commands > self.max_recipients:
                if envelope.rcpt_commands == self.max_recipients + 1:
                    log.info("too many recipients from %s: more than %d", session.peer, self.max_recipients)
                return TOO_MANY_RECIPIENTS
        # No relay: only our own addresses, compared without case as every mail provider does.
        if address.lower() not in self.mailboxes:
            log.info("refused recipient %s from %s", address, session.peer)
            return no_such_mailbox_reply(address)
        if address.lower() not in (known.lower() for known in envelope.rcpt_tos):
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content
        if raw is None:  # always set before this hook; a guard, not a path
            return STORE_FAILED
        if len(raw) > self.max_size:  # the reader counts the wire bytes; a last word on the stored ones
            return too_large_reply(self.max_size)
        mail_from = envelope.mail_from or ""
        receipt = Receipt(
            source=MessageSource.smtp,
            mailbox=envelope.rcpt_tos[0].lower(),
            received_at=clock.now(self.fixed_now),
            envelope_from="" if mail_from == "<>" else mail_from,  # "" is the null sender of a bounce
            envelope_to=list(envelope.rcpt_tos),
        )
        storing: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.keeper.put(bytes(raw), receipt, storing)
        self._storing.add(storing)
        storing.add_done_callback(self._stored)
        try:
            row_id = await asyncio.shield(storing)  # a sender who hangs up does not stop the mail being kept
        except Exception:
            log.exception("could not store a mail from %s for %s", mail_from, ", ".join(envelope.rcpt_tos))
            return STORE_FAILED
        log.info("stored mail %s (%d bytes) from %s for %s", row_id, len(raw), mail_from, receipt.mailbox)
        if self.on_stored is not None:
            self.on_stored()
        return _ACCEPTED

    def _stored(self, storing: asyncio.Future[Any]) -> None:
        self._storing.discard(storing)
        if not storing.cancelled():
            storing.exception()  # retrieved here too, for the sender who hung up while we stored

    async def drain(self, timeout: float) -> bool:
        """Wait until the mails being stored are stored (or ``timeout`` passes); True when none is left."""
        pending = set(self._storing)
        if pending:
            await asyncio.wait(pending, timeout=timeout)
        return not self._storing

    def close(self, timeout: float) -> None:
        """Write the blobs and commit the rows already handed over, then stop the keeping threads."""
        if not self.keeper.close(timeout):
            log.warning("the blobs of the last mails were not written within %g s", timeout)
        if not self.committer.close(timeout):
            log.warning("the database did not take the last mails' rows within %g s", timeout)


_Waiting = tuple[bytes, Receipt, "asyncio.Future[int]"]


class Keeper:
    """Threads that write the blobs of the mails waiting, hand their rows to the group commit as one group, and
    answer the event loop once for the whole group (the loop then resumes each sender with its row's id).

    The blob is fsynced before its row is handed over, and a sender's future resolves only after the transaction
    that holds its row committed: ``250`` means this very mail is durable, as before.
    """

    def __init__(self, blobs: BlobStore, committer: GroupCommit, threads: int) -> None:
        if threads < 1:
            raise ValueError(f"threads must be at least 1, not {threads}")
        self.blobs = blobs
        self.committer = committer
        self._queue: queue.SimpleQueue[_Waiting | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._run, name=f"smtp-keep-{number}", daemon=True) for number in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    def put(self, raw: bytes, receipt: Receipt, storing: asyncio.Future[int]) -> None:
        """Keep ``raw``; ``storing`` (of the running loop) gets the row's id, or the reason it was not kept."""
        self._queue.put((raw, receipt, storing))

    def close(self, timeout: float) -> bool:
        """Write what was handed over, then stop; True when every thread ended within ``timeout``."""
        for _ in self._threads:
            self._queue.put(None)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in self._threads)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            last = False
            while len(batch) < MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    last = True
                    break
                batch.append(item)
            self._keep(batch)
            if last:
                return

    def _keep(self, batch: list[_Waiting]) -> None:
        rows: list[Row] = []
        written: list[asyncio.Future[int]] = []
        failed: list[tuple[asyncio.Future[int], Outcome]] = []
        for raw, receipt, storing in batch:
            try:
                rows.append(row_values(self.blobs.put(raw), raw, receipt))
            except Exception as error:
                failed.append((storing, error))
            else:
                written.append(storing)
        if failed:
            _answer(failed)
        if rows:

            def committed(outcomes: list[Outcome]) -> None:
                _answer(list(zip(written, outcomes, strict=True)))

            try:
                self.committer.submit_group(rows, committed)
            except Exception as error:  # closed: the server is stopping
                _answer([(storing, error) for storing in written])


def _answer(outcomes: list[tuple[asyncio.Future[int], Outcome]]) -> None:
    """Hand the outcomes to the event loop of their futures in one wake-up (they all share the server's loop)."""
    loop = outcomes[0][0].get_loop()
    with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits for an answer any more
        loop.call_soon_threadsafe(_resolve, outcomes)


def _resolve(outcomes: list[tuple[asyncio.Future[int], Outcome]]) -> None:
    for storing, outcome in outcomes:
        if storing.done():
            continue
        if isinstance(outcome, BaseException):
            storing.set_exception(outcome)
        elif isinstance(outcome, dict):
            storing.set_result(int(outcome["id"]))
        else:
            storing.set_result(int(outcome.id or 0))


class IntakeEnvelope(Envelope):
    """aiosmtpd's envelope, with the RCPT commands of this transaction counted (accepted or not)."""

    def __init__(self) -> None:
        super().__init__()
        self.rcpt_commands = 0


class IntakeSMTP(SMTP):
    """aiosmtpd's server, with its own reading of ``DATA``, refusals worded for people, and live sessions tracked.

    ``DATA`` is read by :mod:`zhengji.mailbox.smtp_data` (bare LF accepted as Postfix does, the mail read in
    pieces, an oversize one discarded as it arrives). aiosmtpd still writes the size refusal at ``MAIL FROM …
    SIZE=`` itself, in words no applicant understands; it is rewritten on its way out.
    """

    # aiosmtpd gives this to the stream reader as its limit, and checks DATA lines against it in its own DATA
    # reader, which is not used here: lines are checked (at 1,001 octets) by smtp_data, and the stream may hand
    # over 64 KB at a time. A command line is still held to its 512 octets after it is read.
    line_length_limit = STREAM_LIMIT

    def __init__(self, handler: IntakeHandler, sessions: weakref.WeakSet[IntakeSMTP], **options: Any) -> None:
        super().__init__(handler, data_size_limit=handler.max_size, enable_SMTPUTF8=True, **options)
        self._too_large = too_large_reply(handler.max_size)
        self._sessions = sessions

    def _create_envelope(self) -> IntakeEnvelope:
        return IntakeEnvelope()

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        """A plain ``<local@domain>`` read by a pattern; anything else (``<>``, quoted or non-ASCII local parts,
        address literals, source routes, comments) by aiosmtpd's own parser, with the same result.

        aiosmtpd parses every ``MAIL FROM`` and ``RCPT TO`` address with the email package's header parser (and
        defines a class on each call): a sixth of the SMTP server's interpreter time on a burst of mail.
        """
        match = _PLAIN_ADDRESS.match(arg)
        if match is not None:
            address = match.group(1)
            rest = arg[match.end() :].lstrip(" \t")  # the parser takes the blanks after ">" with the address
            local_part = address.rpartition("@")[0]
            if not rest.startswith("(") and not (self.local_part_limit and len(local_part) > self.local_part_limit):
                return address, rest
        found: tuple[str | None, str | None] = super()._getaddr(arg)
        return found

    async def smtp_DATA(self, arg: str) -> None:
        """RFC 5321 4.1.1.4, as aiosmtpd answers it, with the data read by :func:`read_data`."""
        if await self.check_helo_needed():
            return
        if await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        try:
            data = await read_data(self._reader, max_size=self.data_size_limit, on_progress=self._reset_timeout)
        except asyncio.IncompleteReadError:  # the client closed mid-mail: nothing to answer, nothing kept
            log.info("%r connection closed during DATA", self.session.peer if self.session else None)
            self._writer.close()
            return
        if data.refusal is not None:
            self._set_post_data_state()
            await self.push(self._too_large if data.refusal is Refusal.too_large else LINE_TOO_LONG)
            return
        if data.bare_lf:
            log.info("%r sent a mail with bare LF line ends; stored with CRLF", self.session and self.session.peer)
        self.envelope.content = data.content
        self.envelope.original_content = data.content
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()
        await self.push(status)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._sessions.add(self)

    def connection_lost(self, error: Exception | None) -> None:
        self._sessions.discard(self)
        super().connection_lost(error)

    async def push(self, status: Any) -> None:
        if isinstance(status, str) and status.startswith("552 Error:"):
            status = self._too_large
        await super().push(status)

    def say_goodbye(self) -> None:
        """Tell the client we are stopping and close; the sender's server will try again later."""
        transport = self.transport
        if transport is not None and not transport.is_closing():
            assert isinstance(transport, asyncio.WriteTransport)
            transport.write(SHUTTING_DOWN.encode() + b"\r\n")
            transport.close()


class SMTPComponent:
    """The SMTP server as a part of ``zhengji serve``: listens on ``ZHENGJI_SMTP_LISTEN`` until told to stop.

    On stop it closes the listening socket, lets the mails being stored finish (so that each sender who is about
    to hear ``250`` hears it), then says ``421`` to the connections that are left and closes them.
    """

    name = "smtp"

    def __init__(
        self,
        settings: Settings,
        *,
        engine: Engine | None = None,
        blobs: BlobStore | None = None,
        max_size: int = DEFAULT_MAX_SIZE,
        workers: int | None = None,
        grace: float = 1.0,
        on_stored: Callable[[], None] | None = None,
    ) -> None:
        if settings.smtp_listen is None:
            raise ValueError("ZHENGJI_SMTP_LISTEN is not set")
        self.listen = settings.smtp_listen
        self._own_engine = engine is None
        self.engine = engine if engine is not None else make_engine(settings.resolved_database_url)
        store = blobs if blobs is not None else blob_store(settings)
        if workers is None:
            workers = DEFAULT_WORKERS if isinstance(store, LocalBlobStore) else S3_WORKERS
        self.handler = IntakeHandler(
            self.engine,
            store,
            settings.mailboxes,
            max_size=max_size,
            max_recipients=settings.smtp_max_recipients,
            fixed_now=settings.now,
            workers=workers,
            on_stored=on_stored,
        )
        # The fan-out directories, before the first mail; here, not in run(), so that the server listens as soon
        # as the service's other parts do.
        self.handler.blobs.prepare()
        self.grace = grace
        self.hostname = socket.gethostname()  # once: aiosmtpd would look the FQDN up in DNS on every connection
        self.address: tuple[str, int] | None = None  # where it listens once started (the real port for port 0)
        self.started = asyncio.Event()
        self._sessions: weakref.WeakSet[IntakeSMTP] = weakref.WeakSet()

    def _protocol(self) -> IntakeSMTP:
        return IntakeSMTP(
            self.handler,
            self._sessions,
            hostname=self.hostname,
            ident="zhengji ESMTP",
            timeout=300,
            loop=asyncio.get_running_loop(),
        )

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        try:
            server = await loop.create_server(self._protocol, host=self.listen.host, port=self.listen.port)
        except OSError as error:
            self._close()
            raise OSError(f"邮件接收服务未能在 {self.listen} 启动（端口可能已被占用）：{error}") from error
        sockname = server.sockets[0].getsockname()
        self.address = (str(sockname[0]), int(sockname[1]))
        log.info("SMTP server listening on %s for %s", self.listen, ", ".join(sorted(self.handler.mailboxes)))
        self.started.set()
        try:
            await stop.wait()
        finally:
            server.close()
            if not await self.handler.drain(self.grace):
                log.warning("stopping while a mail is still being stored; its sender will retry")
            for session in list(self._sessions):
                session.say_goodbye()
            try:
                await asyncio.wait_for(server.wait_closed(), timeout=self.grace)
            except TimeoutError:
                log.warning("SMTP connections still open at shutdown")
            self._close()
            log.info("SMTP server stopped")

    def _close(self) -> None:
        self.handler.close(timeout=max(self.grace, 5.0))
        if self._own_engine:
            self.engine.dispose()
