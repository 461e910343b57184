"""The durable pipeline: received → parsed → checked → replied, each step recorded, idempotent, retried, resumable.

Work is claimed in the database, so that several workers (processes, or machines on PostgreSQL) never do a step
twice: a worker picks a candidate and claims it with a compare-and-set ``UPDATE … WHERE claimed_until < now``
(with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL to skip rows another worker is claiming); the claim is a lease,
so a worker that died leaves its mail to be claimed again when the lease runs out. Each step ends with one
transaction that moves the mail to its next state with another compare-and-set (``WHERE state = … AND
claimed_by = me``), so a worker whose lease ran out while it worked cannot record its result over another's.

Steps:
1. **parse** (``received`` → ``parsed``): read the raw mail from the blob store; an automatic mail (bounce,
   auto-reply, list) is marked ``ignored`` and never answered; otherwise every attachment is parsed in a worker
   process and the documents are stored, not yet filed under a case. This is the slow step, done once.
2. **check** (``parsed`` → ``checked``): judge the stored documents as one submission, find or open the case,
   and write — in ONE transaction — the documents as judged, the status change (with its audit event), the
   reply row and the state. The reply row is unique per (message, sequence): a crash before the commit leaves
   nothing, after it leaves one reply.
3. **reply** (``checked`` → ``replied``): hand every pending reply of the mail to the outbound account or the
   Maildir outbox, then mark it ``sent`` and the mail ``replied``. The Maildir delivery is idempotent; an SMTP
   delivery that succeeded just before a crash may be repeated once (the Message-ID is the same, so the
   recipient's client shows one mail). A reply the outgoing server refuses for good (``5xx``) is ``refused``.

A failing step is retried with exponential backoff, each step with its own count. Parsing and checking give up
after ``MAX_ATTEMPTS`` (a fault that half an hour of retries did not clear is a bug for staff): the mail is then
``escalated``, a notice that staff took it over is queued for the sender, and the **notify** step sends it
like a reply (``escalated`` → ``failed``), so that no applicant is left without an answer. Sending gives up
after ``MAX_SEND_ATTEMPTS``, about a day, so that a mail provider's outage delays replies instead of losing them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import make_msgid

from sqlalchemy import func, or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from zhengji.clock import SHANGHAI, now, shanghai_date
from zhengji.mailbox.cases import find_case, open_case
from zhengji.mailbox.changes import describe_changes, last_findings
from zhengji.mailbox.compose import ComposedReply, compose_handed_to_staff, compose_reply
from zhengji.mailbox.documents import as_parsed, current_documents, document_row, file_documents
from zhengji.mailbox.doorbell import Doorbell
from zhengji.mailbox.mime import IncomingMail, parse_mail
from zhengji.mailbox.outbox import (
    DeliveryRefused,
    deliver_to_maildir,
    outgoing_message,
    send_smtp,
    thread_references,
)
from zhengji.parsers.document import ParseOptions, parse_attachments
from zhengji.parsers.isolation import start_forkserver
from zhengji.parsers.model import ParsedDocument
from zhengji.parsers.submission import CheckedSubmission, Mail, judge
from zhengji.settings import Settings
from zhengji.storage.blobs import BlobStore
from zhengji.storage.models import AuditEvent, Document, Message, MessageState, Reply, ReplyState, Submission
from zhengji.storage.status import SubmissionStatus, transition

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
LEASE = timedelta(minutes=10)
# A cap on replies per sender per day, so that a loop or a forged sender cannot make zhengji a spam cannon.
DAILY_REPLY_CAP = 10
ACTOR = "pipeline"


@dataclass
class Pipeline:
    """Everything a worker needs; ``worker`` names it in claims and logs."""

    engine: Engine
    settings: Settings
    worker: str = f"{socket.gethostname()}:{os.getpid()}"

    @property
    def blobs(self) -> BlobStore:
        return BlobStore(self.settings.blob_dir)

    def now(self) -> datetime:
        return now(self.settings.now)

    # --- claiming -------------------------------------------------------------------------------------

    def claim(self, state: MessageState) -> int | None:
        """Claim one mail waiting in ``state``; None when there is nothing to do."""
        moment = self.now()
        free = or_(col(Message.claimed_until).is_(None), col(Message.claimed_until) < moment)
        due = or_(col(Message.next_attempt_at).is_(None), col(Message.next_attempt_at) <= moment)
        with Session(self.engine) as session:
            query = select(Message.id).where(Message.state == state, free, due).order_by(col(Message.id)).limit(8)
            if self.engine.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            for message_id in session.exec(query).all():
                result = session.exec(
                    update(Message)
                    .where(col(Message.id) == message_id, free)
                    .values(claimed_by=self.worker, claimed_until=moment + LEASE)
                )
                if result.rowcount == 1:
                    session.commit()
                    return message_id
            session.commit()
        return None

    def _release(self, session: Session, message: Message) -> None:
        message.claimed_by = None
        message.claimed_until = None
        session.add(message)

    def _failed(self, message_id: int, state: MessageState, error: BaseException) -> None:
        """Count a failed step and plan its retry; when the step has had its tries, hand the mail to staff."""
        with Session(self.engine) as session:
            message = session.exec(select(Message).where(Message.id == message_id).with_for_update()).first()
            if message is None or message.state is not state or message.claimed_by != self.worker:
                return  # another worker took the mail over when our lease ran out; its record stands
            message.attempts += 1
            message.last_error = f"{type(error).__name__}: {error}"[:4000]
            limit = MAX_SEND_ATTEMPTS if state in SENDING else MAX_ATTEMPTS
            if message.attempts < limit:
                wait = min(timedelta(seconds=30 * 2**message.attempts), MAX_BACKOFF)
                message.next_attempt_at = self.now() + wait
            elif state in SENDING:
                self._give_up_sending(session, message, state)
            else:
                self._escalate(session, message, state)
            self._release(session, message)
            session.commit()

    def _give_up_sending(self, session: Session, message: Message, state: MessageState) -> None:
        """The outgoing server stayed unreachable for about a day: the mail and its replies wait for staff."""
        pending = session.exec(
            select(Reply).where(Reply.message_id == message.id, Reply.state == ReplyState.pending)
        ).all()
        for reply in pending:
            reply.state = ReplyState.failed
            reply.last_error = message.last_error
            session.add(reply)
        message.state = MessageState.failed
        session.add(self._event("failed", message, step=STEP[state], error=message.last_error))

    def _escalate(self, session: Session, message: Message, state: MessageState) -> None:
        """Parsing or checking gave up: queue the notice that staff took the mail over, unless none may go out."""
        notice = self._handed_to_staff_notice(session, message)
        message.state = MessageState.escalated if notice is not None else MessageState.failed
        message.attempts = 0  # the notify step gets its own tries
        message.next_attempt_at = None
        session.add(self._event("failed", message, step=STEP[state], error=message.last_error,
                                notice=notice.state.value if notice is not None else None))  # fmt: skip

    def _handed_to_staff_notice(self, session: Session, message: Message) -> Reply | None:
        try:
            incoming = parse_mail(self.blobs.get(message.sha256))
        except Exception:
            return None  # the raw mail itself is unreadable: who sent it, and whether it is automatic, is unknown
        to_address = incoming.from_address or message.envelope_from or ""
        if incoming.auto_submitted or not to_address:
            return None
        composed = compose_handed_to_staff(
            sender_name=incoming.from_name or None,
            subject=incoming.subject or None,
            to=list(message.envelope_to) or [*incoming.to, *incoming.cc],
            received=message.received_at,
            today=shanghai_date(self.now()),
        )
        return self.add_reply(session, message, None, composed, to_address=to_address, incoming=incoming,
                              moment=self.now())  # fmt: skip

    def _event(self, action: str, message: Message, **detail: object) -> AuditEvent:
        return AuditEvent(at=self.now(), actor=ACTOR, action=action, message_id=message.id,
                          submission_id=message.submission_id, detail=detail)  # fmt: skip

    # --- the steps ------------------------------------------------------------------------------------

    def run_once(self) -> bool:
        """Do one step of one mail, the furthest along first; False when no mail is waiting."""
        steps = (
            (MessageState.checked, self.reply),
            (MessageState.escalated, self.notify),
            (MessageState.parsed, self.check),
            (MessageState.received, self.parse),
        )
        for state, step in steps:
            message_id = self.claim(state)
            if message_id is not None:
                started = time.perf_counter()
                try:
                    step(message_id)
                except Exception as error:
                    log.exception("step %s failed for message %s", STEP[state], message_id)
                    self._failed(message_id, state, error)
                else:
                    log.info("message %s: %s took %.3f s", message_id, STEP[state], time.perf_counter() - started)
                return True
        return False

    def _advance(self, session: Session, message_id: int, before: MessageState, after: MessageState) -> bool:
        """Move a mail this worker holds to its next state and release it; False if the claim was lost."""
        result = session.exec(
            update(Message)
            .where(col(Message.id) == message_id, col(Message.state) == before, col(Message.claimed_by) == self.worker)
            .values(state=after, claimed_by=None, claimed_until=None, next_attempt_at=None, attempts=0)
        )
        if result.rowcount != 1:
            session.rollback()
            log.warning("message %s: claim lost before %s → %s; another worker's result stands", message_id,
                        before.value, after.value)  # fmt: skip
            return False
        return True

    def load(self, message_id: int) -> tuple[IncomingMail, Mail]:
        """A stored mail read back from its raw bytes, and the envelope facts the check uses."""
        with Session(self.engine) as session:
            message = session.get(Message, message_id)
            assert message is not None
            raw = self.blobs.get(message.sha256)
            received = message.received_at
            envelope_to = list(message.envelope_to)
        incoming = parse_mail(raw)
        mail = Mail(
            attachments=[(item.filename, item.data) for item in incoming.attachments],
            received=received,
            to=envelope_to or [*incoming.to, *incoming.cc],
            sender=incoming.from_address or None,
            sender_name=incoming.from_name or None,
            subject=incoming.subject or None,
            message_id=incoming.message_id or None,
        )
        return incoming, mail

    def parse_documents(self, mail: Mail) -> list[ParsedDocument]:
        options = ParseOptions(at=mail.received, method="forkserver" if _threaded() else "fork")
        return parse_attachments(mail.attachments, options)

    def parse(self, message_id: int) -> None:
        incoming, mail = self.load(message_id)
        if incoming.auto_submitted:
            self._ignore(message_id, incoming.auto_reason)
            return
        documents = self.parse_documents(mail)
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
        self._record(message_id, incoming, judge(mail, documents), row_ids)

    def _ignore(self, message_id: int, reason: str) -> None:
        with Session(self.engine) as session:
            if self._advance(session, message_id, MessageState.received, MessageState.ignored):
                session.add(AuditEvent(at=self.now(), actor=ACTOR, action="ignored", message_id=message_id,
                                       detail={"reason": reason}))  # fmt: skip
                session.commit()

    def _record(
        self, message_id: int, incoming: IncomingMail, checked: CheckedSubmission, row_ids: list[int | None]
    ) -> None:
        moment = self.now()
        with Session(self.engine) as session:
            if not self._advance(session, message_id, MessageState.parsed, MessageState.checked):
                return
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
                    session, track=checked.track, notice=checked.notice.number if checked.notice else None,
                    sender=sender or "unknown", name=incoming.from_name or None, subject=incoming.subject, at=moment,
                )  # fmt: skip
            else:
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
            transition(session, submission, SubmissionStatus(checked.status), actor=ACTOR, at=moment,
                       detail={"message_id": message_id, "version": submission.version,
                               "findings": [finding.as_json() for finding in checked.findings]})  # fmt: skip
            composed = compose_reply(checked, submission.reference, shanghai_date(moment), changes=changes)
            to_address = incoming.from_address or message.envelope_from or ""
            self.add_reply(session, message, submission, composed, to_address=to_address, incoming=incoming,
                           moment=moment)  # fmt: skip
            session.commit()

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
        writes it in the same transaction that moves the mail on, so a crash can never queue it twice.
        """
        assert message.id is not None
        sequence = (
            1
            + session.exec(
                select(func.coalesce(func.max(Reply.sequence), 0)).where(Reply.message_id == message.id)
            ).one()
        )
        state = self._reply_state(session, to_address, moment) if message.reply_wanted else ReplyState.suppressed
        suffix = f".{sequence}" if sequence > 1 else ""
        reply = Reply(
            message_id=message.id, sequence=sequence, submission_id=submission.id if submission else None,
            to_address=to_address, subject=composed.subject, body=composed.body,
            message_id_header=make_msgid(f"reply{message.id}{suffix}", domain="zhengji.local"),
            in_reply_to=incoming.message_id or None,
            references_header=thread_references(incoming.references, incoming.message_id),
            state=state, created_at=moment,
        )  # fmt: skip
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
        """Hand the mail's pending replies over in order, each recorded as sent (or refused) in its own commit."""
        with Session(self.engine) as session:
            message = session.get(Message, message_id)
            assert message is not None
            pending = session.exec(
                select(Reply)
                .where(Reply.message_id == message_id, Reply.state == ReplyState.pending)
                .order_by(col(Reply.sequence))
            ).all()
            for reply in pending:
                submission = session.get(Submission, reply.submission_id) if reply.submission_id else None
                sender_address = (message.envelope_to or self.settings.mailboxes)[0]
                outgoing = outgoing_message(reply, sender_address, submission.reference if submission else None)
                reply.attempts += 1
                try:
                    if self.settings.outbound_smtp_url is None:
                        deliver_to_maildir(self.settings.outbox_dir, outgoing)
                    else:
                        send_smtp(self.settings.outbound_smtp_url, outgoing)
                except DeliveryRefused as refusal:
                    log.warning("reply %s to %s refused for good: %s", reply.message_id_header, reply.to_address,
                                refusal)  # fmt: skip
                    reply.state = ReplyState.refused
                    reply.last_error = str(refusal)[:4000]
                    session.add(reply)
                    session.add(self._event("reply_refused", message, sequence=reply.sequence, error=str(refusal)))
                    session.commit()
                    continue
                reply.state = ReplyState.sent
                reply.sent_at = self.now()
                session.add(reply)
                session.add(self._event("reply_sent", message, sequence=reply.sequence))
                session.commit()
            if self._advance(session, message_id, before, after):
                session.commit()


def _threaded() -> bool:
    import threading

    return threading.active_count() > 1


class PipelineComponent:
    """The mailbox workers inside ``zhengji serve``: one loop a core, each sleeping briefly when there is no work
    (until intake in this process rings the doorbell, or the next poll).

    The loops claim work through the database like separate processes would, so they never take the same step.
    """

    name = "pipeline"

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        idle_seconds: float = 0.2,
        workers: int | None = None,
        doorbell: Doorbell | None = None,
    ) -> None:
        count = workers or os.cpu_count() or 1
        base = Pipeline(engine, settings).worker
        self.pipelines = [Pipeline(engine, settings, worker=f"{base}/{index}") for index in range(count)]
        self.idle_seconds = idle_seconds
        self.doorbell = doorbell or Doorbell()

    async def run(self, stop: asyncio.Event) -> None:
        self.doorbell.attach()
        try:
            await asyncio.to_thread(start_forkserver)
        except Exception:  # the first mail starts it then; only that mail waits longer
            log.warning("could not start the parsers' forkserver ahead of the first mail", exc_info=True)

        async def wake_on_stop() -> None:
            await stop.wait()
            self.doorbell.ring()

        waking = asyncio.create_task(wake_on_stop())
        try:
            await asyncio.gather(*(self._loop(pipeline, stop) for pipeline in self.pipelines))
        finally:
            waking.cancel()

    async def _loop(self, pipeline: Pipeline, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                busy = await asyncio.to_thread(pipeline.run_once)
            except Exception:
                # A database that is briefly unavailable must not stop intake: log, pause, and go on.
                log.exception("pipeline step failed; retrying shortly")
                busy = False
            if not busy and not stop.is_set():
                await self.doorbell.wait(self.idle_seconds)
