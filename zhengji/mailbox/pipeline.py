"""The durable pipeline: received → parsed → checked → replied, each step recorded, idempotent, retried, resumable.

Work is claimed in the database, so that several workers (threads, processes, or machines on PostgreSQL) never
do a step twice: a worker picks a candidate and claims it with a compare-and-set ``UPDATE … WHERE claimed_until <
now`` (with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL to skip rows another worker is claiming). The claim is a
lease that the working worker renews every third of its length while the step runs (:class:`Heartbeat`), however
long the step takes; so it runs out only under a worker that died. The next worker to claim such a mail counts
the lost step as a try, so that a mail that kills its worker every time is handed to staff after its tries,
instead of being taken up again forever. A service that starts frees at once the claims of its own host's
workers whose process is gone (:func:`zhengji.storage.claims.free_dead_claims`): a claim names the host, the
process and its start time.

Each step follows one rule: claim (commit), work, commit. Nothing slow happens inside a write transaction —
not the parse, not the check, not reading the raw mail, and never the network: a reply is handed to the
outgoing server between two transactions, so that a provider that accepts TCP and never answers holds one
sender, not the database (on SQLite a held write lock would stop intake and every other worker). Each step ends
with one transaction that moves the mail to its next state through :func:`zhengji.storage.status.move_mail`
(``WHERE state = … AND claimed_by = me``), together with what the step produced, so a worker whose claim was
lost cannot record its result over another's.

Steps:
1. **parse** (``received`` → ``parsed``): read the raw mail from the blob store; an automatic mail (bounce,
   auto-reply, list) is marked ``ignored`` and never answered; otherwise every attachment is parsed in a worker
   process and the documents are stored, not yet filed under a case. This is the slow step, done once.
2. **check** (``parsed`` → ``checked``): judge the stored documents as one submission, find or open the case,
   and write — in ONE transaction — the documents as judged, the status change (with its audit event), the
   reply row and the state. The reply row is unique per (message, sequence): a crash before the commit leaves
   nothing, after it leaves one reply.
3. **reply** (``checked`` → ``replied``): hand every pending reply of the mail to the outbound account or the
   Maildir outbox outside any transaction, then record it ``sent`` and the mail ``replied``. The Maildir
   delivery is idempotent; an SMTP delivery that succeeded just before a crash may be repeated once (the
   Message-ID is the same, so the recipient's client shows one mail). A reply the outgoing server refuses for
   good (``5xx``) is ``refused``.

A failing step is retried with exponential backoff, each step with its own count. Parsing and checking give up
after ``MAX_ATTEMPTS`` (a fault that half an hour of retries did not clear is a bug for staff): the mail is then
``escalated``, a notice that staff took it over is queued for the sender, and the **notify** step sends it
like a reply (``escalated`` → ``failed``), so that no applicant is left without an answer. Sending gives up
after ``MAX_SEND_ATTEMPTS``, about a day, so that a mail provider's outage delays replies instead of losing them.

Leases, retries and the daily reply cap run on the real clock; ``ZHENGJI_NOW`` moves only the business clock
(received times, windows, the date a reply is signed), see :mod:`zhengji.clock`.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid

from sqlalchemy import func, or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from zhengji.clock import SHANGHAI, Clock, shanghai_date
from zhengji.mailbox.answer import compose_question, is_question, question_text
from zhengji.mailbox.cases import find_case, open_case, threaded_case
from zhengji.mailbox.changes import describe_changes, last_findings
from zhengji.mailbox.compose import ComposedReply, compose_handed_to_staff, compose_reply
from zhengji.mailbox.documents import as_parsed, current_documents, document_row, file_documents
from zhengji.mailbox.mime import IncomingMail, parse_mail
from zhengji.mailbox.outbox import (
    DeliveryRefused,
    deliver_to_maildir,
    outgoing_message,
    send_smtp,
    thread_references,
)
from zhengji.parsers.document import ParseOptions, parse_attachments
from zhengji.parsers.model import ParsedDocument
from zhengji.parsers.submission import CheckedSubmission, Mail, judge
from zhengji.settings import Settings
from zhengji.storage.blobs import BlobStore, blob_store
from zhengji.storage.claims import worker_name
from zhengji.storage.models import AuditEvent, Document, Message, MessageState, Reply, ReplyState, Submission
from zhengji.storage.status import STANDING, Verdict, move_mail, record_verdict, reopen_for_review

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6  # parse and check: 1 + 2 + 4 + 8 + 16 minutes of retries
MAX_SEND_ATTEMPTS = 28  # reply and notify: about a day, the waits growing to an hour
MAX_BACKOFF = timedelta(hours=1)
SENDING = frozenset({MessageState.checked, MessageState.escalated})
STEP = {
    MessageState.received: "parse",
    MessageState.parsed: "check",
    MessageState.checked: "reply",
    MessageState.escalated: "notify",
}
"""The step that takes a mail out of each waiting state, by the name logs and audit events give it."""
ORDER = (MessageState.checked, MessageState.escalated, MessageState.parsed, MessageState.received)
"""Every step, the furthest along first, so that a mail started is finished before another is begun."""
PROCESSING = (MessageState.parsed, MessageState.received)
SENDING_ORDER = (MessageState.checked, MessageState.escalated)
LEASE = timedelta(seconds=120)
"""The default lease (``ZHENGJI_LEASE_SECONDS``); it only has to outlast a few missed renewals."""
# A cap on replies per sender per day, so that a loop or a forged sender cannot make zhengji a spam cannon.
DAILY_REPLY_CAP = 10
ACTOR = "pipeline"
MAX_HEADER_BYTES = 8 * 1024
"""How much of one header field of a stored mail is decoded for the reply; the raw mail keeps it all.

A 20 MB Subject of encoded-words would otherwise be decoded, quoted and folded into the reply for minutes.
Postfix keeps at most ``header_size_limit`` (100 KB) of a header; what a reply repeats is far less than 8 KB."""
MAX_ADDRESS = 254
"""The longest address a reply goes to (RFC 5321 4.5.3.1.3: a path of 256 octets with its angle brackets)."""
_ADDRESS = re.compile(r"[^\s@<>()\[\],;:\"\\]+@[^\s@<>()\[\],;:\"\\]+")
_HEADER_END = re.compile(rb"\r?\n\r?\n")


class StepInterrupted(Exception):
    """The service is stopping: the step's result, if any, is not recorded, and the mail is left to be taken up
    again (a parse whose workers were killed by the shutdown would otherwise be stored as unreadable files)."""


class ClaimLost(Exception):
    """Another worker took the mail over (this worker's lease ran out): nothing more may be done or recorded."""


# --- reading a stored mail ---------------------------------------------------------------------------------------


def capped_headers(raw: bytes, limit: int = MAX_HEADER_BYTES) -> bytes:
    """``raw`` with each field of its top header block cut to about ``limit`` bytes; the body is left whole.

    A field is cut after its last whole folded line that fits, or, when its first line alone is too long, at
    the last space before ``limit``, so that the encoded-words kept are whole.
    """
    end = _HEADER_END.search(raw)
    head, rest = (raw[: end.start()], raw[end.start() :]) if end else (raw, b"")
    if len(head) <= limit:
        return raw
    fields: list[list[bytes]] = []
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1].append(line)
        else:
            fields.append([line])
    kept: list[bytes] = []
    for lines in fields:
        size = 0
        for number, line in enumerate(lines):
            size += len(line) + 1
            if size <= limit:
                kept.append(line)
                continue
            if number == 0:
                cut = line.rfind(b" ", 0, limit)
                kept.append(line[: cut if cut > 0 else limit] + (b"\r" if line.endswith(b"\r") else b""))
            break
    return b"\n".join(kept) + rest


def read_mail(raw: bytes) -> IncomingMail:
    """A stored mail decoded for the pipeline, its header fields capped (:data:`MAX_HEADER_BYTES`)."""
    return parse_mail(capped_headers(raw))


def deliverable(address: str | None) -> str:
    """``address`` when a reply may go to it; "" for what no mail server would take (too long, spaces, CR/LF,
    no single @): a trimmed or mangled address could belong to someone else."""
    address = (address or "").strip()
    if len(address) > MAX_ADDRESS or not _ADDRESS.fullmatch(address):
        return ""
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in address):
        return ""
    return address


def reply_address(from_address: str | None, envelope_from: str | None) -> str:
    """Where an answer goes: the From address, else the envelope sender (RFC 3834 §4 prefers it for automatic
    replies, and the SMTP server has already accepted it) when From is unusable; "" when neither is."""
    return deliverable(from_address) or deliverable(envelope_from)


# --- the pipeline ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """A mail this worker holds; ``lost_by`` names the worker whose lease ran out on it, if it was taken over."""

    message_id: int
    state: MessageState
    attempts: int
    lost_by: str | None = None


@dataclass
class Pipeline:
    """Everything a worker needs; ``worker`` names it in claims and logs, ``states`` are the steps it takes."""

    engine: Engine
    settings: Settings
    worker: str = field(default_factory=worker_name)
    clock: Clock | None = None
    states: tuple[MessageState, ...] = ORDER
    stopping: threading.Event = field(default_factory=threading.Event)
    on_checked: Callable[[], None] | None = None
    holding: int | None = field(default=None, init=False, repr=False)  # the mail this worker is on, if any
    _lost: threading.Event = field(default_factory=threading.Event, init=False, repr=False)

    @property
    def blobs(self) -> BlobStore:
        return blob_store(self.settings)

    @property
    def clocks(self) -> Clock:
        return self.clock or Clock(self.settings.now)

    def now(self) -> datetime:
        """The business clock: received times, windows, the date a reply is signed, audit records."""
        return self.clocks.business()

    def machine_now(self) -> datetime:
        """The real clock: leases, retries, the daily reply cap."""
        return self.clocks.machine()

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.settings.lease_seconds)

    # --- claiming -------------------------------------------------------------------------------------

    def claim(self, state: MessageState) -> int | None:
        """Claim one mail waiting in ``state``; None when there is nothing to do."""
        claimed = self.claim_next(state)
        return claimed.message_id if claimed is not None else None

    def claim_next(self, state: MessageState) -> Claim | None:
        """Claim one mail waiting in ``state``; a mail whose holder's lease ran out counts that step as a try."""
        moment = self.machine_now()
        free = or_(col(Message.claimed_until).is_(None), col(Message.claimed_until) < moment)
        due = or_(col(Message.next_attempt_at).is_(None), col(Message.next_attempt_at) <= moment)
        with Session(self.engine) as session:
            query = (
                select(Message.id, Message.claimed_by, Message.attempts)
                .where(Message.state == state, free, due)
                .order_by(col(Message.id))
                .limit(8)
            )
            if self.engine.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            for message_id, holder, attempts in session.exec(query).all():
                assert message_id is not None
                values: dict[str, object] = {"claimed_by": self.worker, "claimed_until": moment + self.lease}
                if holder is not None:  # its worker died (or hung) during the step: that was a try
                    attempts += 1
                    values["attempts"] = attempts
                    values["last_error"] = f"the worker {holder} stopped during the {STEP[state]} step"
                same_holder = col(Message.claimed_by).is_(None) if holder is None else col(Message.claimed_by) == holder
                result = session.exec(
                    update(Message).where(col(Message.id) == message_id, free, same_holder).values(**values)
                )
                if result.rowcount == 1:
                    session.commit()
                    self.holding = message_id
                    self._lost.clear()
                    if holder is not None:
                        log.warning("message %s: %s took over the %s step from %s, whose claim ran out (try %d)",
                                    message_id, self.worker, STEP[state], holder, attempts)  # fmt: skip
                    return Claim(message_id, state, attempts, holder)
            session.commit()
        return None

    def renew(self, message_id: int) -> bool:
        """Extend this worker's claim on the mail by a lease from now; False when the claim is no longer ours."""
        with Session(self.engine) as session:
            result = session.exec(
                update(Message)
                .where(col(Message.id) == message_id, col(Message.claimed_by) == self.worker)
                .values(claimed_until=self.machine_now() + self.lease)
            )
            session.commit()
        return bool(result.rowcount == 1)

    def release(self, message_id: int) -> None:
        """Give the mail back untouched and without counting a try (the service is stopping)."""
        with Session(self.engine) as session:
            session.exec(
                update(Message)
                .where(col(Message.id) == message_id, col(Message.claimed_by) == self.worker)
                .values(claimed_by=None, claimed_until=None)
            )
            session.commit()
        self.holding = None

    def _limit(self, state: MessageState) -> int:
        return MAX_SEND_ATTEMPTS if state in SENDING else MAX_ATTEMPTS

    # --- running a step -------------------------------------------------------------------------------

    def run_once(self) -> bool:
        """Do one step of one mail, the furthest along first; False when no mail is waiting."""
        for state in self.states:
            if self.stopping.is_set():
                return False
            claimed = self.claim_next(state)
            if claimed is not None:
                self.work(claimed)
                return True
        return False

    def work(self, claimed: Claim) -> None:
        """Run the step of a claimed mail under a renewed lease, and record how it ended."""
        message_id, state = claimed.message_id, claimed.state
        name = STEP[state]
        if claimed.lost_by is not None and claimed.attempts >= self._limit(state):
            log.error("message %s: the %s step was cut off %d times; handing the mail to staff", message_id, name,
                      claimed.attempts)  # fmt: skip
            self._give_up(message_id, state, f"the {name} step was cut off {claimed.attempts} times", claimed.attempts)
            return
        steps: dict[MessageState, Callable[[int], None]] = {
            MessageState.received: self.parse,
            MessageState.parsed: self.check,
            MessageState.checked: self.reply,
            MessageState.escalated: self.notify,
        }
        started = time.perf_counter()
        try:
            with self._heartbeat(message_id):
                steps[state](message_id)
        except StepInterrupted:
            log.info("message %s: %s interrupted by the shutdown; left to be taken up again", message_id, name)
            self.release(message_id)
        except ClaimLost:
            log.warning("message %s: %s stopped, another worker took the mail over", message_id, name)
        except Exception as error:
            if self.stopping.is_set():
                log.info("message %s: %s interrupted by the shutdown (%s: %s); left to be taken up again",
                         message_id, name, type(error).__name__, error)  # fmt: skip
                self.release(message_id)
                return
            log.exception("step %s failed for message %s", name, message_id)
            self._failed(message_id, state, error)
        else:
            log.info("message %s: %s took %.3f s", message_id, name, time.perf_counter() - started)
        finally:
            self.holding = None

    @contextmanager
    def _heartbeat(self, message_id: int) -> Iterator[None]:
        beat = Heartbeat(self, message_id)
        beat.start()
        try:
            yield
        finally:
            beat.stop()

    def _still_holding(self) -> None:
        if self._lost.is_set():
            raise ClaimLost()

    # --- failures ---------------------------------------------------------------------------------------

    def _failed(self, message_id: int, state: MessageState, error: BaseException) -> None:
        """Count a failed step and plan its retry; when the step has had its tries, hand the mail to staff."""
        text = f"{type(error).__name__}: {error}"[:4000]
        with Session(self.engine) as session:
            row = session.exec(
                select(Message.state, Message.claimed_by, Message.attempts).where(Message.id == message_id)
            ).first()
        if row is None or row[0] is not state or row[1] != self.worker:
            log.warning("message %s: the failure of its %s step is not recorded: another worker holds it now",
                        message_id, STEP[state])  # fmt: skip
            return
        attempts = row[2] + 1
        if attempts >= self._limit(state):
            self._give_up(message_id, state, text, attempts)
            return
        wait = min(timedelta(seconds=30 * 2**attempts), MAX_BACKOFF)
        with Session(self.engine) as session:
            result = session.exec(
                update(Message)
                .where(
                    col(Message.id) == message_id, col(Message.state) == state, col(Message.claimed_by) == self.worker
                )
                .values(
                    attempts=attempts,
                    last_error=text,
                    next_attempt_at=self.machine_now() + wait,
                    claimed_by=None,
                    claimed_until=None,
                )
            )
            session.commit()
        if result.rowcount == 1:
            log.info("message %s: %s will be tried again in %s (try %d of %d failed)", message_id, STEP[state], wait,
                     attempts, self._limit(state))  # fmt: skip
        else:
            log.warning("message %s: the failure of its %s step is not recorded: another worker holds it now",
                        message_id, STEP[state])  # fmt: skip

    def _give_up(self, message_id: int, state: MessageState, error: str, attempts: int) -> None:
        """The step had its tries: the mail goes to staff, with a notice to its sender where one may go out.

        The notice is prepared before the transaction (reading and decoding the raw mail is no work for a lock).
        When even that was cut off (the step was lost more often than it may be tried, so the mail itself may be
        what kills its worker), the mail goes to staff without one.
        """
        wanted = state not in SENDING and attempts <= self._limit(state)
        notice = self._handed_to_staff_notice(message_id) if wanted else None
        with Session(self.engine) as session:
            message = session.get(Message, message_id)
            if message is None or message.state is not state or message.claimed_by != self.worker:
                log.warning("message %s: not handed to staff: another worker holds it now", message_id)
                return
            detail: dict[str, object] = {"step": STEP[state], "error": error}
            if state in SENDING:
                after = MessageState.failed
                for reply in session.exec(
                    select(Reply).where(Reply.message_id == message_id, Reply.state == ReplyState.pending)
                ).all():
                    reply.state = ReplyState.failed
                    reply.last_error = error
                    session.add(reply)
            else:
                queued = None
                if notice is not None:
                    composed, to_address, incoming = notice
                    queued = self.add_reply(session, message, None, composed, to_address=to_address,
                                            incoming=incoming, moment=self.now())  # fmt: skip
                after = MessageState.escalated if queued is not None else MessageState.failed
                detail["notice"] = queued.state.value if queued is not None else None
            moved = move_mail(
                session,
                message_id,
                state,
                after,
                actor=ACTOR,
                at=self.now(),
                action="failed",
                holder=self.worker,
                submission_id=message.submission_id,
                detail=detail,
                attempts=0 if after is MessageState.escalated else attempts,  # the notify step gets its own tries
                last_error=error,
                next_attempt_at=None,
                claimed_by=None,
                claimed_until=None,
            )
            if not moved:
                session.rollback()
                log.warning("message %s: not handed to staff: another worker holds it now", message_id)
                return
            session.commit()
        log.error("message %s: %s gave up after %d tries (%s); the mail is %s, for staff", message_id, STEP[state],
                  attempts, error, after.value)  # fmt: skip

    def _handed_to_staff_notice(self, message_id: int) -> tuple[ComposedReply, str, IncomingMail] | None:
        """The notice for the sender of a mail given up on, or None where none may go out."""
        with Session(self.engine) as session:
            message = session.get(Message, message_id)
            assert message is not None
            sha256, envelope_from = message.sha256, message.envelope_from
            envelope_to, received = list(message.envelope_to), message.received_at
        try:
            incoming = read_mail(self.blobs.get(sha256))
        except Exception as error:
            log.warning("message %s: the stored mail cannot be read (%s: %s); its sender gets no notice", message_id,
                        type(error).__name__, error)  # fmt: skip
            return None  # who sent it, and whether it is automatic, is unknown
        to_address = reply_address(incoming.from_address, envelope_from)
        if incoming.auto_submitted or not to_address:
            log.info("message %s: automatic or without an address to answer; its sender gets no notice", message_id)
            return None
        composed = compose_handed_to_staff(
            sender_name=incoming.from_name or None,
            subject=incoming.subject or None,
            to=envelope_to or [*incoming.to, *incoming.cc],
            received=received,
            today=shanghai_date(self.now()),
        )
        return composed, to_address, incoming

    # --- the steps ------------------------------------------------------------------------------------

    def _advance(self, session: Session, message_id: int, before: MessageState, after: MessageState) -> bool:
        """Move a mail this worker holds to its next state and release it; False if the claim was lost."""
        moved = move_mail(
            session,
            message_id,
            before,
            after,
            actor=ACTOR,
            at=self.now(),
            holder=self.worker,
            detail={"step": STEP[before]},
            claimed_by=None,
            claimed_until=None,
            next_attempt_at=None,
            attempts=0,
        )
        if not moved:
            session.rollback()
            log.warning("message %s: claim lost before %s → %s; another worker's result stands", message_id,
                        before.value, after.value)  # fmt: skip
            return False
        self.holding = None  # the renewals stop quietly: the claim ends with this commit
        return True

    def load(self, message_id: int) -> tuple[IncomingMail, Mail]:
        """A stored mail read back from its raw bytes, and the envelope facts the check uses."""
        with Session(self.engine) as session:
            message = session.get(Message, message_id)
            assert message is not None
            sha256 = message.sha256
            received = message.received_at
            envelope_to = list(message.envelope_to)
        incoming = read_mail(self.blobs.get(sha256))
        mail = Mail(
            attachments=[(item.filename, item.data) for item in incoming.attachments],
            received=received,
            to=envelope_to or [*incoming.to, *incoming.cc],
            sender=incoming.from_address or None,
            sender_name=incoming.from_name or None,
            subject=incoming.subject or None,
            message_id=incoming.message_id or None,
        )
        # A reviewer's late exception for this sender is honoured by the window check (zhengji.review.late).
        from zhengji.review.late import allowances

        mail.late_allowances = allowances(self.engine, mail.sender, received)
        return incoming, mail

    def parse_documents(self, mail: Mail) -> list[ParsedDocument]:
        # The mail's budget (time and documents) is the operator's; the time runs on the real clock.
        options = ParseOptions.from_settings(
            self.settings, mail.received, method="forkserver" if _threaded() else "fork"
        )
        return parse_attachments(mail.attachments, options)

    def parse(self, message_id: int) -> None:
        incoming, mail = self.load(message_id)
        if incoming.auto_submitted:
            self._ignore(message_id, incoming.auto_reason)
            return
        documents = self.parse_documents(mail)
        if self.stopping.is_set():
            raise StepInterrupted()  # the shutdown may have killed the workers these documents came from
        moment = self.now()
        with Session(self.engine) as session:
            if self._advance(session, message_id, MessageState.received, MessageState.parsed):
                for document in documents:
                    session.add(document_row(message_id, document, moment))
                session.commit()

    def check(self, message_id: int) -> None:
        incoming, mail = self.load(message_id)
        with Session(self.engine) as session:
            rows = current_documents(session, message_id)
            row_ids = [row.id for row in rows]
            documents = [as_parsed(row) for row in rows]
        if is_question(incoming):
            recorded = self._record_question(message_id, incoming, mail, documents, row_ids)
        else:
            recorded = self._record(message_id, incoming, judge(mail, documents), row_ids)
        if recorded and self.on_checked is not None:
            self.on_checked()  # the senders take the reply up at once

    def _ignore(self, message_id: int, reason: str) -> None:
        with Session(self.engine) as session:
            moved = move_mail(
                session,
                message_id,
                MessageState.received,
                MessageState.ignored,
                actor=ACTOR,
                at=self.now(),
                action="ignored",
                holder=self.worker,
                detail={"reason": reason},
                claimed_by=None,
                claimed_until=None,
                next_attempt_at=None,
                attempts=0,
            )
            if not moved:
                session.rollback()
                log.warning("message %s: claim lost before it was marked ignored", message_id)
                return
            session.commit()

    def _record(
        self, message_id: int, incoming: IncomingMail, checked: CheckedSubmission, row_ids: list[int | None]
    ) -> bool:
        moment = self.now()
        with Session(self.engine) as session:
            if not self._advance(session, message_id, MessageState.parsed, MessageState.checked):
                return False
            message = session.get(Message, message_id)
            assert message is not None
            sender = (incoming.from_address or message.envelope_from or "").lower()
            window = checked.position.window if checked.position else None
            window_start = datetime.combine(window.start, datetime.min.time(), tzinfo=SHANGHAI) if window else None
            submission = find_case(
                session,
                subject=incoming.subject,
                answered_ids=[incoming.in_reply_to, *incoming.references],
                sender=sender,
                track=checked.track,
                window_start=window_start,
            )
            changes: list[str] = []
            if submission is None:
                submission = open_case(
                    session,
                    track=checked.track,
                    notice=checked.notice.number if checked.notice else None,
                    sender=sender or "unknown",
                    name=incoming.from_name or None,
                    subject=incoming.subject,
                    at=moment,
                )
            else:
                if submission.track == "unknown" and checked.track != "unknown":  # a question's case, now a submission
                    submission.track = checked.track
                    submission.notice = checked.notice.number if checked.notice else None
                submission.version += 1
                previous = session.exec(
                    select(Document).where(Document.submission_id == submission.id, col(Document.superseded).is_(False))
                ).all()
                changes = describe_changes(previous, last_findings(session, submission.id), checked)
                for older in previous:
                    older.superseded = True
                    session.add(older)
            assert submission.id is not None
            message.submission_id = submission.id
            message.version = submission.version
            session.add(message)
            file_documents(session, row_ids, checked.documents, submission)
            # A decision that stands is not reopened by the applicant's mail; a return is: the new version is the
            # reviewer's to decide (the contract's "Submission statuses"). The verdict is the new version's either way.
            decided = submission.decision if submission.decision in STANDING else None
            reopen_for_review(session, submission, actor=ACTOR, at=moment,
                              detail={"message_id": message_id, "version": submission.version})  # fmt: skip
            record_verdict(session, submission, Verdict(checked.status), actor=ACTOR, at=moment,
                           detail={"message_id": message_id, "version": submission.version,
                                   "findings": [finding.as_json() for finding in checked.findings]})  # fmt: skip
            composed = compose_reply(checked, submission.reference, shanghai_date(moment), changes=changes,
                                     decided=decided.value if decided else None)  # fmt: skip
            to_address = reply_address(incoming.from_address, message.envelope_from)
            self.add_reply(session, message, submission, composed, to_address=to_address, incoming=incoming,
                           moment=moment)  # fmt: skip
            session.commit()
        return True

    def _record_question(
        self,
        message_id: int,
        incoming: IncomingMail,
        mail: Mail,
        documents: list[ParsedDocument],
        row_ids: list[int | None],
    ) -> bool:
        """File a mail with no file of its own and answer it as a question (:mod:`zhengji.mailbox.answer`).

        A mail that names a case (reference, thread) is filed to that case as it stands: no new version, its
        documents and verdict untouched, an audit event for the trail. Any other opens a case of track and
        status ``unknown`` without findings, so that a clerk sees the mail in the queue (待人工确认) and nothing
        is demanded of its sender.
        """
        moment = self.now()
        question = question_text(incoming)
        with Session(self.engine) as session:
            if not self._advance(session, message_id, MessageState.parsed, MessageState.checked):
                return False
            message = session.get(Message, message_id)
            assert message is not None
            sender = (incoming.from_address or message.envelope_from or "").lower()
            submission = threaded_case(
                session, subject=incoming.subject, answered_ids=[incoming.in_reply_to, *incoming.references],
                open_only=False,
            )  # fmt: skip
            follow_up = submission is not None
            if submission is None:
                submission = open_case(session, track="unknown", notice=None, sender=sender or "unknown",
                                       name=incoming.from_name or None, subject=incoming.subject,
                                       at=moment)  # fmt: skip
                assert submission.id is not None
                file_documents(session, row_ids, documents, submission)  # pictures pasted into the mail
                record_verdict(session, submission, Verdict.unknown, actor=ACTOR, at=moment,
                               detail={"message_id": message_id, "version": submission.version, "question": True,
                                       "findings": []})  # fmt: skip
            assert submission.id is not None
            message.submission_id = submission.id
            message.version = submission.version
            session.add(message)
            if follow_up:
                # Its pictures stay with the mail, outside the case's documents: a re-check of the case judges
                # the files of its versions, never a question's.
                session.add(self._event("question_filed", message, reference=submission.reference))
            composed = compose_question(
                mail, question, shanghai_date(moment), reference=submission.reference if follow_up else None,
                track=submission.track if follow_up else None, follow_up=follow_up,
            )  # fmt: skip
            to_address = reply_address(incoming.from_address, message.envelope_from)
            self.add_reply(session, message, submission, composed, to_address=to_address, incoming=incoming,
                           moment=moment)  # fmt: skip
            session.commit()
        return True

    def add_reply(
        self,
        session: Session,
        message: Message,
        submission: Submission | None,
        composed: ComposedReply,
        *,
        to_address: str,
        incoming: IncomingMail,
        moment: datetime,
    ) -> Reply:
        """Queue the next reply to ``message``: pending, or suppressed (the reason audited) when it must not go out.

        It is numbered after the mail's earlier replies (a staff notice, a clerk's corrected answer); the pipeline
        writes it in the same transaction that moves the mail on, so a crash can never queue it twice. Its
        ``created_at`` is the real time, which the daily cap per sender counts in.
        """
        assert message.id is not None
        to_address = deliverable(to_address)
        sequence = (
            1
            + session.exec(
                select(func.coalesce(func.max(Reply.sequence), 0)).where(Reply.message_id == message.id)
            ).one()
        )
        queued_at = self.machine_now()
        state = self._reply_state(session, to_address, queued_at) if message.reply_wanted else ReplyState.suppressed
        suffix = f".{sequence}" if sequence > 1 else ""
        reply = Reply(
            message_id=message.id,
            sequence=sequence,
            submission_id=submission.id if submission else None,
            to_address=to_address,
            subject=composed.subject,
            body=composed.body,
            message_id_header=make_msgid(f"reply{message.id}{suffix}", domain="zhengji.local"),
            in_reply_to=incoming.message_id or None,
            references_header=thread_references(incoming.references, incoming.message_id),
            state=state,
            created_at=queued_at,
        )
        session.add(reply)
        if state is ReplyState.suppressed:
            reason = "backfill" if not message.reply_wanted else "no_address" if not to_address else "daily_cap"
            session.add(
                AuditEvent(
                    at=moment,
                    actor=ACTOR,
                    action="reply_suppressed",
                    message_id=message.id,
                    submission_id=submission.id if submission else None,
                    detail={"sequence": sequence, "reason": reason},
                )
            )
        return reply

    def _reply_state(self, session: Session, to_address: str, moment: datetime) -> ReplyState:
        if not to_address:
            return ReplyState.suppressed
        recent = session.exec(
            select(func.count())
            .select_from(Reply)
            .where(
                func.lower(Reply.to_address) == to_address.lower(), col(Reply.created_at) >= moment - timedelta(days=1)
            )
            .where(col(Reply.state).in_([ReplyState.sent, ReplyState.pending]))
        ).one()
        return ReplyState.suppressed if recent >= DAILY_REPLY_CAP else ReplyState.pending

    def reply(self, message_id: int) -> None:
        """Send the mail's pending replies; the mail is then ``replied``."""
        self._send(message_id, MessageState.checked, MessageState.replied)

    def notify(self, message_id: int) -> None:
        """Send the notice that staff took the mail over; the mail then waits for staff as ``failed``."""
        self._send(message_id, MessageState.escalated, MessageState.failed)

    def _send(self, message_id: int, before: MessageState, after: MessageState) -> None:
        """Hand the mail's pending replies over in order, each between two transactions, each recorded as sent
        (or refused) in its own commit; then move the mail on."""
        for reply_id, sequence, outgoing in self._pending(message_id):
            self._still_holding()
            if self.stopping.is_set():
                raise StepInterrupted()
            try:
                if self.settings.outbound_smtp_url is None:
                    deliver_to_maildir(self.settings.outbox_dir, outgoing)
                else:
                    send_smtp(self.settings.outbound_smtp_url, outgoing)
            except DeliveryRefused as refusal:
                log.warning("reply %s to %s refused for good: %s", outgoing["Message-ID"], outgoing["To"], refusal)
                self._delivered(message_id, reply_id, sequence, refusal)
                continue
            self._delivered(message_id, reply_id, sequence, None)
        with Session(self.engine) as session:
            if self._advance(session, message_id, before, after):
                session.commit()

    def _pending(self, message_id: int) -> list[tuple[int, int, EmailMessage]]:
        """The mail's pending replies as mails to hand over, read in a short transaction and built outside it."""
        with Session(self.engine) as session:
            message = session.get(Message, message_id)
            assert message is not None
            sender_address = (message.envelope_to or self.settings.mailboxes)[0]
            pending = session.exec(
                select(Reply)
                .where(Reply.message_id == message_id, Reply.state == ReplyState.pending)
                .order_by(col(Reply.sequence))
            ).all()
            work: list[tuple[Reply, str | None]] = []
            for reply in pending:
                submission = session.get(Submission, reply.submission_id) if reply.submission_id else None
                work.append((reply, submission.reference if submission else None))
        messages: list[tuple[int, int, EmailMessage]] = []
        for reply, reference in work:
            assert reply.id is not None
            messages.append((reply.id, reply.sequence, outgoing_message(reply, sender_address, reference)))
        return messages

    def _delivered(self, message_id: int, reply_id: int, sequence: int, refusal: DeliveryRefused | None) -> None:
        """Record the outcome of one hand-over (sent, or refused for good) in its own short transaction."""
        with Session(self.engine) as session:
            values: dict[str, object] = {"attempts": col(Reply.attempts) + 1}
            if refusal is None:
                values.update(state=ReplyState.sent, sent_at=self.machine_now())
            else:
                values.update(state=ReplyState.refused, last_error=str(refusal)[:4000])
            result = session.exec(
                update(Reply).where(col(Reply.id) == reply_id, col(Reply.state) == ReplyState.pending).values(**values)
            )
            if result.rowcount == 1:
                message = session.get(Message, message_id)
                assert message is not None
                if refusal is None:
                    session.add(self._event("reply_sent", message, sequence=sequence))
                else:
                    session.add(self._event("reply_refused", message, sequence=sequence, error=str(refusal)))
            session.commit()

    def _event(self, action: str, message: Message, **detail: object) -> AuditEvent:
        return AuditEvent(at=self.now(), actor=ACTOR, action=action, message_id=message.id,
                          submission_id=message.submission_id, detail=detail)  # fmt: skip


class Heartbeat:
    """Renews a worker's claim every third of the lease while its step runs, so that the lease never runs out
    under a live worker however long the step takes (a zip of many legacy Word files, a slow provider).

    When a renewal finds the claim gone (another worker took the mail over after a renewal failed for a whole
    lease), the step is told through the pipeline, and stops before it records or sends anything more.
    """

    def __init__(self, pipeline: Pipeline, message_id: int) -> None:
        self.pipeline = pipeline
        self.message_id = message_id
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{message_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join(timeout=1)

    def _run(self) -> None:
        interval = self.pipeline.lease.total_seconds() / 3
        while not self._done.wait(interval):
            try:
                renewed = self.pipeline.renew(self.message_id)
            except Exception:
                log.warning("message %s: could not renew the claim; trying again", self.message_id, exc_info=True)
                continue
            if not renewed:
                if not self._done.is_set() and self.pipeline.holding == self.message_id:
                    log.warning("message %s: %s lost its claim", self.message_id, self.pipeline.worker)
                    self.pipeline._lost.set()
                return


def _threaded() -> bool:
    return threading.active_count() > 1
