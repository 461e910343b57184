"""Re-checking a case after a parser upgrade: the latest mail is parsed again, the verdict updated, and — only
when a clerk asks and the verdict changed — a corrected reply queued.

Only the verdict changes (:func:`zhengji.storage.status.record_verdict`): a reviewer's decision stands, and a case
with a decision gets no automatic reply, since the reviewer owns it now.
The old documents stay as history (superseded). The mail is locked while it is re-checked, and a mail the
pipeline is still working on is left alone, so a reprocess never races a worker into a lost or double reply.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlmodel import Session, col, select

from zhengji.clock import shanghai_date
from zhengji.mailbox.changes import checked_errors, last_findings, stored_errors
from zhengji.mailbox.compose import compose_reply
from zhengji.mailbox.documents import current_documents, document_row
from zhengji.mailbox.envelope import Envelope, read_mail
from zhengji.mailbox.pipeline import Pipeline
from zhengji.parsers.document import PARSER_VERSION
from zhengji.parsers.submission import judge
from zhengji.storage.models import Document, Message, MessageState, ReplyState, Submission
from zhengji.storage.status import SubmissionStatus, Verdict, move_mail, record_verdict

ACTOR = "reprocess"


class ReplyOutcome(StrEnum):
    """What happened to the reply of a reprocessed case, as the clerk's table shows it."""

    not_asked = "not_asked"
    queued = "queued"
    suppressed = "suppressed"  # the daily cap per sender, no address to answer, or back-filled old mail
    unchanged = "unchanged"  # the verdict is the same: the applicant already has it
    reviewer = "reviewer"  # a reviewer acts on the case; no automatic reply
    busy = "busy"  # the pipeline is still working on the mail; nothing was changed
    no_mail = "no_mail"  # the case has no processed mail


OUTCOME_LABELS = {
    ReplyOutcome.not_asked: "未发送（未要求）",
    ReplyOutcome.queued: "已重新发送",
    ReplyOutcome.suppressed: "未发送（已达每日回复上限、无回复地址或为导入的历史邮件）",
    ReplyOutcome.unchanged: "结果未变，未重复发送",
    ReplyOutcome.reviewer: "已由工作人员审核，未自动发送",
    ReplyOutcome.busy: "邮件正在处理中，未作改动，请稍后重试",
    ReplyOutcome.no_mail: "无已处理的邮件",
}


@dataclass(frozen=True)
class Reprocessed:
    before: SubmissionStatus
    after: SubmissionStatus
    changed: bool  # the new verdict differs from the stored one (status or errors)
    reply: ReplyOutcome


def reprocess(pipeline: Pipeline, submission_id: int, *, reply: bool = False) -> Reprocessed:
    """Parse and check the case's latest mail again; queue a corrected reply when asked and the verdict changed."""
    with Session(pipeline.engine) as session:
        submission = session.get(Submission, submission_id)
        if submission is None:
            raise LookupError(f"no submission {submission_id}")
        # The latest mail that brought the case files: a question filed to the case since brought none.
        filed = select(Document.message_id).where(Document.submission_id == submission_id)
        latest = session.exec(
            select(Message.id)
            .where(Message.submission_id == submission_id, col(Message.id).in_(filed))
            .order_by(col(Message.id).desc())
        ).first()
        if latest is None:
            return Reprocessed(submission.status, submission.status, False, ReplyOutcome.no_mail)
    # Parsing again after a parser upgrade is the one step that decodes a parsed mail again (the MIME decoder
    # may have improved too): its envelope is stored anew with the verdict.
    message = pipeline.stored_message(latest)
    incoming = read_mail(pipeline.blobs.get(message.sha256))
    envelope = Envelope.of(incoming, message.envelope_from)
    mail = pipeline.facts(message, envelope, [(item.filename, item.data) for item in incoming.attachments])
    checked = judge(mail, pipeline.parse_documents(mail))
    moment = pipeline.now()
    with Session(pipeline.engine) as session:
        message = session.exec(select(Message).where(Message.id == latest).with_for_update()).one()
        submission = session.get(Submission, submission_id)
        assert submission is not None and message.id is not None
        before = submission.status
        if message.state not in {MessageState.replied, MessageState.failed} or (
            message.claimed_until is not None and message.claimed_until > pipeline.machine_now()
        ):
            return Reprocessed(before, before, False, ReplyOutcome.busy)
        old_rows = current_documents(session, message.id)
        old_errors = stored_errors(old_rows, last_findings(session, submission_id))
        verdict_changed = Verdict(checked.status) is not Verdict(submission.verdict)
        changed = verdict_changed or set(old_errors) != checked_errors(checked)
        for row in old_rows:
            row.superseded = True
            session.add(row)
        for document in checked.documents:
            row = document_row(message.id, document, moment)
            row.submission_id, row.version = submission_id, message.version or submission.version
            session.add(row)
        message.envelope = envelope.as_json()
        session.add(message)
        machine_verdict = submission.decision is None
        event = record_verdict(
            session,
            submission,
            Verdict(checked.status),
            actor=ACTOR,
            action="reprocess",
            at=moment,
            message_id=message.id,
            version=message.version or submission.version,
            parser_version=PARSER_VERSION,
            findings=[finding.as_json() for finding in checked.findings],
            detail={"parser_version": PARSER_VERSION, "changed": changed},
        )
        outcome = ReplyOutcome.not_asked
        if reply:
            if not machine_verdict:
                outcome = ReplyOutcome.reviewer
            elif not changed:
                outcome = ReplyOutcome.unchanged
            else:
                composed = compose_reply(checked, submission.reference, shanghai_date(moment), reissued=True)
                queued = pipeline.add_reply(
                    session,
                    message,
                    submission,
                    composed,
                    to_address=envelope.reply_to,
                    envelope=envelope,
                    moment=moment,
                )
                outcome = ReplyOutcome.queued if queued.state is ReplyState.pending else ReplyOutcome.suppressed
                if queued.state is ReplyState.pending:
                    moved = move_mail(  # the pipeline's reply step sends it
                        session, message.id, message.state, MessageState.checked, actor=ACTOR, at=moment,
                        submission_id=submission_id, detail={"step": "reprocess"},
                        next_attempt_at=None, attempts=0,  # a failed mail gets its full retries for the new reply
                    )  # fmt: skip
                    if not moved:  # cannot happen while the row is locked; never queue a reply nobody sends
                        raise RuntimeError(f"message {message.id} changed while it was reprocessed")
        event.detail = {**event.detail, "reply": outcome.value}
        session.commit()
        return Reprocessed(before, submission.status, changed, outcome)
