"""The durable pipeline: received → checked → replied, each step recorded, idempotent, retried, resumable.

Work is claimed in the database, so that several workers (processes, or machines on PostgreSQL) never do a step
twice: a worker picks a candidate and claims it with a compare-and-set ``UPDATE … WHERE claimed_until < now``
(with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL to skip rows another worker is claiming); the claim is a lease,
so a worker that died leaves its mail to be claimed again when the lease runs out.

Steps:
1. **check** (state ``received``): read the raw mail from the blob store; an automatic mail (bounce,
   auto-reply, list) is marked ``ignored`` and never answered; otherwise every attachment is parsed in a
   worker process, the submission judged, the case found or opened, and — in ONE transaction — the documents,
   the status change (with its audit event), the reply row and the state ``checked`` are written. The reply
   row is unique per message: a crash before the commit leaves nothing, after it leaves one reply.
2. **reply** (state ``checked``): hand the reply to the outbound account or the Maildir outbox, then mark it
   ``sent`` and the mail ``replied``. The Maildir delivery is idempotent; an SMTP delivery that succeeded just
   before a crash may be repeated once (the Message-ID is the same, so the recipient's client shows one mail).
A failing step is retried with exponential backoff; after ``MAX_ATTEMPTS`` the mail is ``failed`` for staff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any

from sqlalchemy import func, or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from zhengji.clock import SHANGHAI, now, shanghai_date
from zhengji.mailbox.cases import find_case, open_case
from zhengji.mailbox.compose import compose_reply
from zhengji.mailbox.mime import IncomingMail, parse_mail
from zhengji.mailbox.outbox import deliver_to_maildir, send_smtp
from zhengji.parsers.document import PARSER_VERSION, ParseOptions, parse_attachments
from zhengji.parsers.model import ParsedDocument
from zhengji.parsers.submission import CheckedSubmission, Mail, judge
from zhengji.settings import Settings
from zhengji.storage.blobs import BlobStore
from zhengji.storage.models import AuditEvent, Document, Message, MessageState, Reply, ReplyState, Submission
from zhengji.storage.status import CHECK_RESULTS, SubmissionStatus, transition

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
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

    def _failed(self, message_id: int, error: BaseException) -> None:
        with Session(self.engine) as session:
            message = session.get(Message, message_id)
            if message is None:
                return
            message.attempts += 1
            message.last_error = f"{type(error).__name__}: {error}"[:4000]
            if message.attempts >= MAX_ATTEMPTS:
                message.state = MessageState.failed
                event = AuditEvent(
                    at=self.now(),
                    actor=ACTOR,
                    action="failed",
                    message_id=message.id,
                    submission_id=message.submission_id,
                    detail={"error": message.last_error},
                )
                session.add(event)
            else:
                message.next_attempt_at = self.now() + timedelta(seconds=30 * 2**message.attempts)
            self._release(session, message)
            session.commit()

    # --- the steps ------------------------------------------------------------------------------------

    def run_once(self) -> bool:
        """Do one step of one mail; False when no mail is waiting."""
        for state, step in ((MessageState.checked, self.reply), (MessageState.received, self.check)):
            message_id = self.claim(state)
            if message_id is not None:
                try:
                    step(message_id)
                except Exception as error:
                    log.exception("step %s failed for message %s", state.value, message_id)
                    self._failed(message_id, error)
                return True
        return False

    def check(self, message_id: int) -> None:
        incoming, checked = self._judge(message_id)
        if checked is None:
            self._ignore(message_id, incoming.auto_reason)
            return
        self._record(message_id, incoming, checked)

    def _judge(self, message_id: int) -> tuple[IncomingMail, CheckedSubmission | None]:
        """Parse and judge a stored mail from its raw bytes; None for an automatic mail."""
        with Session(self.engine) as session:
            message = session.get(Message, message_id)
            assert message is not None
            raw = self.blobs.get(message.sha256)
            received = message.received_at
            envelope_to = list(message.envelope_to)
        incoming = parse_mail(raw)
        if incoming.auto_submitted:
            return incoming, None
        mail = Mail(
            attachments=[(item.filename, item.data) for item in incoming.attachments],
            received=received,
            to=envelope_to or [*incoming.to, *incoming.cc],
            sender=incoming.from_address or None,
            sender_name=incoming.from_name or None,
            subject=incoming.subject or None,
            message_id=incoming.message_id or None,
        )
        options = ParseOptions(at=received, method="forkserver" if _threaded() else "fork")
        return incoming, judge(mail, parse_attachments(mail.attachments, options))

    def reprocess(self, submission_id: int) -> tuple[str, str]:
        """Parse the latest mail of a case again (after a parser upgrade); no new reply is sent.

        The old documents stay as history (superseded); a machine verdict is updated through ``transition``,
        but a case a reviewer already acts on keeps its status. Returns (old status, new status).
        """
        with Session(self.engine) as session:
            latest = session.exec(
                select(Message)
                .where(Message.submission_id == submission_id, Message.state == MessageState.replied)
                .order_by(col(Message.id).desc())
            ).first()
            if latest is None or latest.id is None:
                submission = session.get(Submission, submission_id)
                status = submission.status.value if submission else "unknown"
                return status, status
            message_id = latest.id
        _, checked = self._judge(message_id)
        moment = self.now()
        with Session(self.engine) as session:
            submission = session.get(Submission, submission_id)
            assert submission is not None
            before = submission.status
            for older in session.exec(select(Document).where(Document.message_id == message_id)).all():
                older.superseded = True
                session.add(older)
            if checked is not None:
                for document in checked.documents:
                    session.add(self._document_row(message_id, submission, document, moment))
                wanted = SubmissionStatus(checked.status)
                if before in CHECK_RESULTS and wanted is not before:
                    transition(session, submission, wanted, actor="reprocess", at=moment,
                               detail={"parser_version": PARSER_VERSION})  # fmt: skip
            session.add(AuditEvent(at=moment, actor="reprocess", action="reprocess", submission_id=submission_id,
                                   message_id=message_id, detail={"parser_version": PARSER_VERSION}))  # fmt: skip
            session.commit()
            return before.value, submission.status.value

    @staticmethod
    def _document_row(message_id: int, submission: Submission, document: ParsedDocument, at: datetime) -> Document:
        assert submission.id is not None
        return Document(
            message_id=message_id,
            submission_id=submission.id,
            version=submission.version,
            filename=document.file[:500],
            sha256=document.sha256 or "",
            size=document.size,
            format=document.format,
            form=document.form,
            fields=document.fields,
            findings=[finding.as_json() for finding in document.findings],
            parser_version=PARSER_VERSION,
            created_at=at,
        )

    def _ignore(self, message_id: int, reason: str) -> None:
        with Session(self.engine) as session:
            message = session.get(Message, message_id)
            assert message is not None
            message.state = MessageState.ignored
            self._release(session, message)
            session.add(AuditEvent(at=self.now(), actor=ACTOR, action="ignored", message_id=message_id,
                                   detail={"reason": reason}))  # fmt: skip
            session.commit()

    def _record(self, message_id: int, incoming: IncomingMail, checked: CheckedSubmission) -> None:
        moment = self.now()
        with Session(self.engine) as session:
            message = session.get(Message, message_id)
            assert message is not None
            if message.state != MessageState.received or message.claimed_by != self.worker:
                return  # another worker took over after our lease ran out; its result stands
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
                changes = describe_changes(previous, _last_findings(session, submission.id), checked)
                for older in previous:
                    older.superseded = True
                    session.add(older)
            assert submission.id is not None
            message.submission_id = submission.id
            message.version = submission.version
            for document in checked.documents:
                session.add(self._document_row(message_id, submission, document, moment))
            transition(session, submission, SubmissionStatus(checked.status), actor=ACTOR, at=moment,
                       detail={"message_id": message_id, "version": submission.version,
                               "findings": [finding.as_json() for finding in checked.findings]})  # fmt: skip
            composed = compose_reply(checked, submission.reference, shanghai_date(moment), changes=changes)
            to_address = incoming.from_address or message.envelope_from or ""
            state = self._reply_state(session, to_address, moment)
            session.add(
                Reply(
                    message_id=message_id, submission_id=submission.id, to_address=to_address,
                    subject=composed.subject, body=composed.body,
                    message_id_header=make_msgid(f"reply{message_id}", domain="zhengji.local"),
                    in_reply_to=incoming.message_id or None, state=state, created_at=moment,
                )
            )  # fmt: skip
            message.state = MessageState.checked
            message.next_attempt_at = None
            self._release(session, message)
            session.commit()

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
        with Session(self.engine) as session:
            message = session.get(Message, message_id)
            reply = session.exec(select(Reply).where(Reply.message_id == message_id)).one()
            assert message is not None
            if reply.state == ReplyState.pending:
                outgoing = self._outgoing(session, message, reply)
                if self.settings.outbound_smtp_url is None:
                    deliver_to_maildir(self.settings.outbox_dir, outgoing)
                else:
                    send_smtp(self.settings.outbound_smtp_url, outgoing)
                reply.state = ReplyState.sent
                reply.sent_at = self.now()
                reply.attempts += 1
                session.add(reply)
            message.state = MessageState.replied
            self._release(session, message)
            session.add(AuditEvent(at=self.now(), actor=ACTOR, action=f"reply_{reply.state.value}",
                                   message_id=message_id, submission_id=reply.submission_id))  # fmt: skip
            session.commit()

    def _outgoing(self, session: Session, message: Message, reply: Reply) -> EmailMessage:
        submission = session.get(Submission, reply.submission_id) if reply.submission_id else None
        sender_address = (message.envelope_to or self.settings.mailboxes)[0]
        outgoing = EmailMessage()
        outgoing["From"] = formataddr(("职业技能鉴定中心受理系统", sender_address))
        outgoing["To"] = reply.to_address
        outgoing["Subject"] = reply.subject
        outgoing["Message-ID"] = reply.message_id_header
        if reply.in_reply_to:
            outgoing["In-Reply-To"] = reply.in_reply_to
            outgoing["References"] = reply.in_reply_to
        outgoing["Auto-Submitted"] = "auto-replied"  # RFC 3834: never answered by a well-behaved responder
        outgoing["X-Auto-Response-Suppress"] = "All"
        if submission is not None:
            outgoing["X-Zhengji-Reference"] = submission.reference
        outgoing.set_content(reply.body, charset="utf-8")
        return outgoing


def _last_findings(session: Session, submission_id: int | None) -> list[dict[str, Any]]:
    """The submission-level findings of the case's last verdict (kept in its status audit event)."""
    event = session.exec(
        select(AuditEvent)
        .where(AuditEvent.submission_id == submission_id, AuditEvent.action == "status")
        .order_by(col(AuditEvent.id).desc())
    ).first()
    return list(event.detail.get("findings", [])) if event else []


def _key(where: str, finding: dict[str, Any]) -> tuple[str, str, str, str]:
    return (where, str(finding.get("code")), str(finding.get("field")), str(finding.get("row")))


def describe_changes(
    previous: Sequence[Document], previous_findings: list[dict[str, Any]], checked: CheckedSubmission
) -> list[str]:
    """What a new version changed, as the reply tells it: the files received anew, the problems now corrected."""
    old_files = {(document.filename, document.sha256) for document in previous}
    new_files = [document.file for document in checked.documents if (document.file, document.sha256) not in old_files]
    old_errors = {
        _key(document.form, finding): str(finding.get("message"))
        for document in previous
        for finding in document.findings
        if finding.get("severity") == "error"
    }
    old_errors |= {
        _key("", finding): str(finding.get("message"))
        for finding in previous_findings
        if finding.get("severity") == "error"
    }
    new_errors = {
        _key(document.form, finding.as_json())
        for document in checked.documents
        for finding in document.findings
        if finding.severity == "error"
    }
    new_errors |= {_key("", finding.as_json()) for finding in checked.findings if finding.severity == "error"}
    changes = [f"本次新收到：{'、'.join(new_files)}。"] if new_files else []
    changes += [f"已更正：{message}" for key, message in old_errors.items() if key not in new_errors]
    return changes


def _threaded() -> bool:
    import threading

    return threading.active_count() > 1


class PipelineComponent:
    """The mailbox workers inside ``zhengji serve``: one loop a core, each sleeping briefly when there is no work.

    The loops claim work through the database like separate processes would, so they never take the same step.
    """

    name = "pipeline"

    def __init__(
        self, engine: Engine, settings: Settings, idle_seconds: float = 0.2, workers: int | None = None
    ) -> None:
        count = workers or os.cpu_count() or 1
        base = Pipeline(engine, settings).worker
        self.pipelines = [Pipeline(engine, settings, worker=f"{base}/{index}") for index in range(count)]
        self.idle_seconds = idle_seconds

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.gather(*(self._loop(pipeline, stop) for pipeline in self.pipelines))

    async def _loop(self, pipeline: Pipeline, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                busy = await asyncio.to_thread(pipeline.run_once)
            except Exception:
                # A database that is briefly unavailable must not stop intake: log, pause, and go on.
                log.exception("pipeline step failed; retrying shortly")
                busy = False
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.idle_seconds)
