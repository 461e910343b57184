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
1. **parse** (``received`` → ``parsed``): read the raw mail from the blob store and decode it, the one
   decoding of it: its envelope (:class:`zhengji.mailbox.envelope.Envelope`) is kept on the message at once; an
   automatic mail (bounce, auto-reply, list) is marked ``ignored`` and never answered; otherwise every attachment
   is parsed in a worker process and the documents are stored, not yet filed under a case. This is the slow
   step, done once.
2. **check** (``parsed`` → ``checked``): judge the stored documents with the stored envelope as one submission,
   find or open the case, and write — in ONE transaction — the documents as judged, the verdict (its row and its
   audit event), the reply row (:mod:`zhengji.mailbox.replies`) and the state. The reply row is unique per
   (message, sequence): a crash before the commit leaves nothing, after it leaves one reply.
3. **reply** (``checked`` → ``replied``): hand every pending reply of the mail to the outbound account or the
   Maildir outbox outside any transaction, then record it ``sent`` and the mail ``replied``. The Maildir
   delivery is idempotent; an SMTP delivery that succeeded just before a crash may be repeated once (the
   Message-ID is the same, so the recipient's client shows one mail). A reply the outgoing server refuses for
   good (``5xx``) is ``refused``.

Each step is a small class with the same signature over the claimed mail (:class:`Step`, as Mailman's handlers
are; :data:`STEPS` by the state they take a mail out of); :class:`Pipeline` only claims, renews and releases, runs
the step of the mail's state, and records how it ended.

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
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Protocol

from sqlalchemy import or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from zhengji.clock import SHANGHAI, Clock, shanghai_date
from zhengji.mailbox.allowances import allowances
from zhengji.mailbox.answer import compose_question, is_question, question_text
from zhengji.mailbox.cases import find_case, open_case, threaded_case
from zhengji.mailbox.changes import describe_changes, last_findings
from zhengji.mailbox.compose import ComposedReply, compose_handed_to_staff, compose_reply
from zhengji.mailbox.documents import as_parsed, current_documents, document_row, file_documents
from zhengji.mailbox.envelope import Envelope, read_mail, stored_envelope
from zhengji.mailbox.outbox import DeliveryRefused, deliver_to_maildir, outgoing_message, send_smtp
from zhengji.mailbox.replies import queue_reply
from zhengji.parsers.document import PARSER_VERSION, ParseOptions, parse_attachments
from zhengji.parsers.model import ParsedDocument
from zhengji.parsers.submission import CheckedSubmission, Mail, judge
from zhengji.settings import Settings
from zhengji.storage.blobs import BlobStore, blob_store
from zhengji.storage.claims import worker_name
from zhengji.storage.models import AuditEvent, Document, Message, MessageState, Reply, ReplyState, Submission
from zhengji.storage.status import STANDING, Verdict, move_mail, move_replies, record_verdict, reopen_for_review

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
ACTOR = "pipeline"


class StepInterrupted(Exception):
    """The service is stopping: the step's result, if any, is not recorded, and the mail is left to be taken up
    again (a parse whose workers were killed by the shutdown would otherwise be stored as unreadable files)."""


class ClaimLost(Exception):
    """Another worker took the mail over (this worker's lease ran out): nothing more may be done or recorded."""


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
    # How the heartbeat waits a third of the lease (True when told to stop); a test steps it with the clock.
    beat: Callable[[threading.Event, float], bool] = field(default=lambda done, seconds: done.wait(seconds))
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
        started = time.perf_counter()
        try:
            with self._heartbeat(message_id):
                STEPS[state](self, message_id)
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
                move_replies(session, ReplyState.pending, ReplyState.failed, col(Reply.message_id) == message_id,
                             last_error=error)  # fmt: skip
            else:
                queued = None
                if notice is not None:
                    composed, envelope = notice
                    queued = self.add_reply(session, message, None, composed, to_address=envelope.reply_to,
                                            envelope=envelope, moment=self.now())  # fmt: skip
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

    def _handed_to_staff_notice(self, message_id: int) -> tuple[ComposedReply, Envelope] | None:
        """The notice for the sender of a mail given up on, or None where none may go out.

        The parse step stores the envelope before the slow work, so a mail whose parsing keeps failing is answered
        from it; only a mail that could not even be decoded is read here again, and gets no notice if that fails.
        """
        with Session(self.engine) as session:
            message = session.get(Message, message_id)
            assert message is not None
            session.expunge(message)
        try:
            envelope = stored_envelope(message, self.blobs, missing_ok=False)
        except Exception as error:
            log.warning("message %s: the stored mail cannot be read (%s: %s); its sender gets no notice", message_id,
                        type(error).__name__, error)  # fmt: skip
            return None  # who sent it, and whether it is automatic, is unknown
        if envelope.auto_submitted or not envelope.reply_to:
            log.info("message %s: automatic or without an address to answer; its sender gets no notice", message_id)
            return None
        composed = compose_handed_to_staff(
            sender_name=envelope.from_name or None,
            subject=envelope.subject or None,
            to=list(message.envelope_to) or envelope.recipients(),
            received=message.received_at,
            today=shanghai_date(self.now()),
        )
        return composed, envelope

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

    def facts(self, message: Message, envelope: Envelope, attachments: list[tuple[str, bytes]]) -> Mail:
        """The facts the check judges a mail by: its stored envelope, its row, the sender's late exceptions."""
        mail = Mail(
            attachments=attachments,
            received=message.received_at,
            to=list(message.envelope_to) or envelope.recipients(),
            sender=envelope.from_address or None,
            sender_name=envelope.from_name or None,
            subject=envelope.subject or None,
            message_id=envelope.message_id or None,
        )
        # A reviewer's late exception for this sender is honoured by the window check (zhengji.review.late).
        mail.late_allowances = allowances(self.engine, mail.sender, message.received_at)
        return mail

    def stored_message(self, message_id: int) -> Message:
        """The mail's row, detached: read in a short transaction, used outside it."""
        with Session(self.engine) as session:
            message = session.get(Message, message_id)
            assert message is not None
            session.expunge(message)
        return message

    def parse_documents(self, mail: Mail) -> list[ParsedDocument]:
        # The mail's budget (time and documents) is the operator's; the time runs on the real clock.
        options = ParseOptions.from_settings(
            self.settings, mail.received, method="forkserver" if _threaded() else "fork"
        )
        return parse_attachments(mail.attachments, options)

    def add_reply(
        self,
        session: Session,
        message: Message,
        submission: Submission | None,
        composed: ComposedReply,
        *,
        to_address: str,
        envelope: Envelope,
        moment: datetime,
    ) -> Reply:
        """Queue the next reply to ``message`` through the reply queue (:func:`zhengji.mailbox.replies.queue_reply`),
        in the transaction that moves the mail on, so a crash can never queue it twice; the daily cap per sender
        counts in real time."""
        return queue_reply(session, message, submission, composed, to_address=to_address, envelope=envelope,
                           at=moment, queued_at=self.machine_now(), actor=ACTOR)  # fmt: skip

    def parse(self, message_id: int) -> None:
        """Run the parse step on a mail this worker claimed."""
        STEPS[MessageState.received](self, message_id)

    def check(self, message_id: int) -> None:
        """Run the check step (and the filing of its case) on a mail this worker claimed."""
        STEPS[MessageState.parsed](self, message_id)

    def reply(self, message_id: int) -> None:
        """Send the mail's pending replies; the mail is then ``replied``."""
        STEPS[MessageState.checked](self, message_id)

    def notify(self, message_id: int) -> None:
        """Send the notice that staff took the mail over; the mail then waits for staff as ``failed``."""
        STEPS[MessageState.escalated](self, message_id)

    def _event(self, action: str, message: Message, **detail: object) -> AuditEvent:
        return AuditEvent(at=self.now(), actor=ACTOR, action=action, message_id=message.id,
                          submission_id=message.submission_id, detail=detail)  # fmt: skip


# --- the steps ---------------------------------------------------------------------------------------------------
# Each step is a small class with one signature over the claimed mail, as Mailman's handlers are: ``step(pipeline,
# message_id)`` takes the mail out of ``waits_in`` and ends in one commit that moves it to ``moves_to`` with what the
# step produced. The pipeline only claims, renews, runs the step of the mail's state (:data:`STEPS`) and records
# how it ended (a retry, or staff).


class Step(Protocol):
    """One named step of a mail's path."""

    name: str
    waits_in: MessageState
    moves_to: MessageState

    def __call__(self, pipeline: Pipeline, message_id: int) -> None: ...


class ParseStep:
    """``received`` → ``parsed``: decode the raw mail (its one decoding), keep its envelope, parse its files."""

    name = "parse"
    waits_in = MessageState.received
    moves_to = MessageState.parsed

    def __call__(self, pipeline: Pipeline, message_id: int) -> None:
        """Decode the raw mail (the one decoding of it), keep its envelope, and parse its files."""
        message = pipeline.stored_message(message_id)
        incoming = read_mail(pipeline.blobs.get(message.sha256))
        envelope = Envelope.of(incoming, message.envelope_from)
        # Kept at once, before the slow work: a parse that keeps failing is then handed to staff with the notice
        # addressed from it, and the check step reads it instead of the raw mail.
        if not self._keep_envelope(pipeline, message_id, envelope):
            return
        if envelope.auto_submitted:
            self._ignore(pipeline, message_id, envelope.auto_reason)
            return
        mail = pipeline.facts(message, envelope, [(item.filename, item.data) for item in incoming.attachments])
        documents = pipeline.parse_documents(mail)
        if pipeline.stopping.is_set():
            raise StepInterrupted()  # the shutdown may have killed the workers these documents came from
        moment = pipeline.now()
        with Session(pipeline.engine) as session:
            if pipeline._advance(session, message_id, MessageState.received, MessageState.parsed):
                for document in documents:
                    session.add(document_row(message_id, document, moment))
                session.commit()

    def _keep_envelope(self, pipeline: Pipeline, message_id: int, envelope: Envelope) -> bool:
        """Store the envelope on the mail this worker holds; False (nothing written) when the claim was lost."""
        with Session(pipeline.engine) as session:
            result = session.exec(
                update(Message)
                .where(col(Message.id) == message_id, col(Message.claimed_by) == pipeline.worker)
                .values(envelope=envelope.as_json())
            )
            session.commit()
        if result.rowcount != 1:
            log.warning(
                "message %s: claim lost before its envelope was kept; another worker's parse stands", message_id
            )
            return False
        return True

    def _ignore(self, pipeline: Pipeline, message_id: int, reason: str) -> None:
        with Session(pipeline.engine) as session:
            moved = move_mail(
                session,
                message_id,
                MessageState.received,
                MessageState.ignored,
                actor=ACTOR,
                at=pipeline.now(),
                action="ignored",
                holder=pipeline.worker,
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


class CheckStep:
    """``parsed`` → ``checked``: judge the stored documents with the stored envelope, then file the case."""

    name = "check"
    waits_in = MessageState.parsed
    moves_to = MessageState.checked

    def __call__(self, pipeline: Pipeline, message_id: int) -> None:
        """Judge the stored documents with the stored envelope: the raw mail is not read again."""
        message = pipeline.stored_message(message_id)
        envelope = stored_envelope(message, pipeline.blobs)
        mail = pipeline.facts(message, envelope, [])
        with Session(pipeline.engine) as session:
            rows = current_documents(session, message_id)
            row_ids = [row.id for row in rows]
            documents = [as_parsed(row) for row in rows]
            # The version that read them (the parse step's, which a service upgraded in between may not share).
            parser = max((row.parser_version for row in rows), default=PARSER_VERSION)
        if is_question(envelope):
            recorded = FileCase().question(pipeline, message_id, envelope, mail, documents, row_ids)
        else:
            recorded = FileCase().submission(pipeline, message_id, envelope, judge(mail, documents), row_ids, parser)
        if recorded and pipeline.on_checked is not None:
            pipeline.on_checked()  # the senders take the reply up at once


class FileCase:
    """The second half of the check's one transaction: find or open the case, file the documents as judged, record
    the verdict and queue the reply (for a submission, or a question answered by the bot's core)."""

    def submission(
        self,
        pipeline: Pipeline,
        message_id: int,
        envelope: Envelope,
        checked: CheckedSubmission,
        row_ids: list[int | None],
        parser_version: str = PARSER_VERSION,
    ) -> bool:
        """File a judged submission under its case (a new one, or the next version of the case it continues) and
        queue its reply, in the transaction that makes the mail ``checked``; False when the claim was lost."""
        moment = pipeline.now()
        with Session(pipeline.engine) as session:
            if not pipeline._advance(session, message_id, MessageState.parsed, MessageState.checked):
                return False
            message = session.get(Message, message_id)
            assert message is not None
            sender = (envelope.from_address or message.envelope_from or "").lower()
            window = checked.position.window if checked.position else None
            window_start = datetime.combine(window.start, datetime.min.time(), tzinfo=SHANGHAI) if window else None
            submission = find_case(
                session,
                subject=envelope.subject,
                answered_ids=envelope.thread(),
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
                    name=envelope.from_name or None,
                    subject=envelope.subject,
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
                           message_id=message_id, version=submission.version, parser_version=parser_version,
                           findings=[finding.as_json() for finding in checked.findings])  # fmt: skip
            composed = compose_reply(checked, submission.reference, shanghai_date(moment), changes=changes,
                                     decided=decided.value if decided else None)  # fmt: skip
            pipeline.add_reply(session, message, submission, composed, to_address=envelope.reply_to, envelope=envelope,
                           moment=moment)  # fmt: skip
            session.commit()
        return True

    def question(
        self,
        pipeline: Pipeline,
        message_id: int,
        envelope: Envelope,
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
        moment = pipeline.now()
        question = question_text(envelope)
        with Session(pipeline.engine) as session:
            if not pipeline._advance(session, message_id, MessageState.parsed, MessageState.checked):
                return False
            message = session.get(Message, message_id)
            assert message is not None
            sender = (envelope.from_address or message.envelope_from or "").lower()
            submission = threaded_case(
                session, subject=envelope.subject, answered_ids=envelope.thread(), open_only=False
            )
            follow_up = submission is not None
            if submission is None:
                submission = open_case(session, track="unknown", notice=None, sender=sender or "unknown",
                                       name=envelope.from_name or None, subject=envelope.subject,
                                       at=moment)  # fmt: skip
                assert submission.id is not None
                file_documents(session, row_ids, documents, submission)  # pictures pasted into the mail
                record_verdict(session, submission, Verdict.unknown, actor=ACTOR, at=moment, message_id=message_id,
                               version=submission.version, findings=[], detail={"question": True})  # fmt: skip
            assert submission.id is not None
            message.submission_id = submission.id
            message.version = submission.version
            session.add(message)
            if follow_up:
                # Its pictures stay with the mail, outside the case's documents: a re-check of the case judges
                # the files of its versions, never a question's.
                session.add(pipeline._event("question_filed", message, reference=submission.reference))
            composed = compose_question(
                mail, question, shanghai_date(moment), reference=submission.reference if follow_up else None,
                track=submission.track if follow_up else None, follow_up=follow_up,
            )  # fmt: skip
            pipeline.add_reply(session, message, submission, composed, to_address=envelope.reply_to, envelope=envelope,
                           moment=moment)  # fmt: skip
            session.commit()
        return True


class SendStep:
    """Hand a mail's pending replies to the outgoing account or the Maildir outbox, then move the mail on."""

    def __init__(self, name: str, waits_in: MessageState, moves_to: MessageState) -> None:
        self.name, self.waits_in, self.moves_to = name, waits_in, moves_to

    def __call__(self, pipeline: Pipeline, message_id: int) -> None:
        """Hand the mail's pending replies over in order, each between two transactions, each recorded as sent
        (or refused) in its own commit; then move the mail on."""
        for reply_id, sequence, outgoing in self._pending(pipeline, message_id):
            pipeline._still_holding()
            if pipeline.stopping.is_set():
                raise StepInterrupted()
            try:
                if pipeline.settings.outbound_smtp_url is None:
                    deliver_to_maildir(pipeline.settings.outbox_dir, outgoing)
                else:
                    send_smtp(pipeline.settings.outbound_smtp_url, outgoing)
            except DeliveryRefused as refusal:
                log.warning("reply %s to %s refused for good: %s", outgoing["Message-ID"], outgoing["To"], refusal)
                self._delivered(pipeline, message_id, reply_id, sequence, refusal)
                continue
            self._delivered(pipeline, message_id, reply_id, sequence, None)
        with Session(pipeline.engine) as session:
            if pipeline._advance(session, message_id, self.waits_in, self.moves_to):
                session.commit()

    def _pending(self, pipeline: Pipeline, message_id: int) -> list[tuple[int, int, EmailMessage]]:
        """The mail's pending replies as mails to hand over, read in a short transaction and built outside it."""
        with Session(pipeline.engine) as session:
            message = session.get(Message, message_id)
            assert message is not None
            sender_address = (message.envelope_to or pipeline.settings.mailboxes)[0]
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

    def _delivered(
        self, pipeline: Pipeline, message_id: int, reply_id: int, sequence: int, refusal: DeliveryRefused | None
    ) -> None:
        """Record the outcome of one hand-over (sent, or refused for good) in its own short transaction."""
        with Session(pipeline.engine) as session:
            values: dict[str, object] = {"attempts": col(Reply.attempts) + 1}
            if refusal is None:
                after, values["sent_at"] = ReplyState.sent, pipeline.machine_now()
            else:
                after, values["last_error"] = ReplyState.refused, str(refusal)[:4000]
            if move_replies(session, ReplyState.pending, after, col(Reply.id) == reply_id, **values) == 1:
                message = session.get(Message, message_id)
                assert message is not None
                if refusal is None:
                    session.add(pipeline._event("reply_sent", message, sequence=sequence))
                else:
                    session.add(pipeline._event("reply_refused", message, sequence=sequence, error=str(refusal)))
            session.commit()


STEPS: dict[MessageState, Step] = {
    MessageState.received: ParseStep(),
    MessageState.parsed: CheckStep(),
    # reply: the mail is then ``replied``; notify: the notice that staff took it over, then ``failed`` for staff
    MessageState.checked: SendStep("reply", MessageState.checked, MessageState.replied),
    MessageState.escalated: SendStep("notify", MessageState.escalated, MessageState.failed),
}
"""The step that takes a mail out of each waiting state."""


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
        while not self.pipeline.beat(self._done, interval):
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
