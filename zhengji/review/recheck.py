"""The case as it stands after review: each document with its reviewers' corrections applied and checked again.

The stored documents keep the machine's reading; a reviewer's corrections are rows of their own
(:class:`zhengji.storage.models.Correction`). What the queue, the submission page and the exports show is the
reading with the corrections laid over it, checked again by the same rules the pipeline ran — the document's
rules (``check_document``) and then the submission's (``judge``), so that a corrected 汇总表 row that now
matches its 建议书 loses its ``mismatch`` too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from zhengji.mailbox.allowances import sender_allowances
from zhengji.mailbox.envelope import stored_envelope
from zhengji.notices.registry import FormId, Registry, load_registry
from zhengji.parsers.checks import check_document
from zhengji.parsers.checks.context import CheckContext
from zhengji.parsers.model import Finding, ParsedDocument
from zhengji.parsers.submission import CheckedSubmission, Mail, judge
from zhengji.parsers.tracks import governing_notice, track_of_form
from zhengji.review.fields import set_path
from zhengji.storage.blobs import BlobStore
from zhengji.storage.models import Correction, Document, Message, Submission
from zhengji.storage.status import Verdict, last_verdict, record_verdict

UNLOCATED = "unlocated_field"
VERDICT_ACTIONS = ("verdict", "status", "reprocess", "recheck")
"""Audit actions that record a verdict (the queue clears a clerk's "not a submission" after one); the findings
they judged are read from the verdict's own row (:func:`zhengji.storage.status.last_verdict`)."""


@dataclass
class Reviewed:
    """One stored document as the reviewer sees it: corrected fields, findings after the corrections."""

    row: Document
    fields: dict[str, Any]
    findings: list[dict[str, Any]]
    corrections: dict[str, Correction] = field(default_factory=dict)

    @property
    def document_id(self) -> int:
        assert self.row.id is not None
        return self.row.id


@dataclass
class Case:
    """A submission's current documents after review, and its own findings."""

    submission: Submission
    documents: list[Reviewed]
    findings: list[dict[str, Any]]
    status: str | None = None  # the verdict a re-check gives (complete, incomplete, rejected, unknown)

    def all_findings(self) -> list[dict[str, Any]]:
        return [finding for document in self.documents for finding in document.findings] + self.findings


def current_rows(session: Session, submission_id: int) -> list[Document]:
    return list(
        session.exec(
            select(Document)
            .where(Document.submission_id == submission_id, col(Document.superseded).is_(False))
            .order_by(col(Document.id))
        ).all()
    )


def corrections_of(session: Session, document_ids: Sequence[int]) -> dict[int, dict[str, Correction]]:
    """The correction in force for each corrected path of each document (the latest one)."""
    found: dict[int, dict[str, Correction]] = {}
    if not document_ids:
        return found
    rows = session.exec(
        select(Correction).where(col(Correction.document_id).in_(list(document_ids))).order_by(col(Correction.id))
    ).all()
    for row in rows:
        found.setdefault(row.document_id, {})[row.path] = row
    return found


def corrected(
    row: Document, corrections: dict[str, Correction], received: datetime, registry: Registry | None = None
) -> Reviewed:
    """The document with its corrections applied and its own rules run again (unchanged when uncorrected)."""
    if not corrections:
        return Reviewed(row, dict(row.fields), list(row.findings))
    fields = dict(row.fields)
    for path, correction in sorted(corrections.items(), key=lambda item: item[1].id or 0):
        fields = set_path(fields, path, correction.corrected)
    findings = list(row.findings)
    track = track_of_form(row.form, fields.get("province")) if row.form != FormId.unknown else None
    if track is not None:
        registry = registry or load_registry()
        notice = governing_notice(track, received, registry)
        form = FormId(row.form)
        context = CheckContext.for_notice(notice, form, registry, signed_elsewhere=row.red_seals > 0)
        unlocated = {str(finding.get("field")) for finding in row.findings if finding.get("code") == UNLOCATED} - set(
            corrections
        )
        checked = check_document(form, fields, context, file=row.filename, unlocated=unlocated)
        # A document-level finding the rules do not make (unreadable, scanned) stays as the pipeline found it.
        kept = [finding for finding in row.findings if finding.get("code") in {"unreadable", "scanned", "unknown_form"}]
        findings = kept + [finding.as_json() for finding in checked]
    return Reviewed(row, fields, findings, corrections)


def latest_message(session: Session, submission_id: int) -> Message | None:
    return session.exec(
        select(Message).where(Message.submission_id == submission_id).order_by(col(Message.id).desc())
    ).first()


def load_case(session: Session, submission: Submission) -> Case:
    """The case as stored, corrections applied to each document; its findings as last judged.

    A corrected document's findings are those its last re-check recorded (judged with the whole submission,
    as the pipeline judges: a seal on the PDF copy signs the WORD file too).
    """
    assert submission.id is not None
    rows = current_rows(session, submission.id)
    corrections = corrections_of(session, [row.id for row in rows if row.id is not None])
    message = latest_message(session, submission.id)
    received = message.received_at if message else submission.created_at
    documents = [corrected(row, corrections.get(row.id or 0, {}), received) for row in rows]
    verdict = last_verdict(session, submission.id)
    if corrections and verdict is not None:
        rechecked = verdict.documents  # a re-check's findings of each corrected document
        for document in documents:
            if document.corrections and str(document.row.id) in rechecked:
                document.findings = list(rechecked[str(document.row.id)])
    return Case(submission, documents, list(verdict.findings) if verdict is not None else [])


def _recipients(message: Message, blobs: BlobStore | None) -> list[str]:
    """Where the mail was sent: the SMTP envelope, else the To and Cc of its stored envelope."""
    return list(message.envelope_to) or stored_envelope(message, blobs).recipients()


def judge_case(
    session: Session, case: Case, blobs: BlobStore | None, *, track: str | None = None
) -> CheckedSubmission | None:
    """Judge the corrected documents as the pipeline judged the mail (None for a case without mail); under
    ``track`` when a clerk set it (:mod:`zhengji.review.triage`)."""
    submission = case.submission
    assert submission.id is not None
    message = latest_message(session, submission.id)
    if message is None:
        return None
    documents = [
        ParsedDocument(
            file=document.row.filename,
            format=document.row.format,
            form=document.row.form,
            fields=document.fields,
            findings=[Finding.model_validate(finding) for finding in document.findings],
            red_seals=document.row.red_seals,
            text_layer=document.row.text_layer,
            sha256=document.row.sha256 or None,
            size=document.row.size,
        )
        for document in case.documents
    ]
    mail = Mail(
        attachments=[],
        received=message.received_at,
        to=_recipients(message, blobs),
        sender=submission.sender,
        sender_name=submission.sender_name,
        subject=submission.subject,
        late_allowances=sender_allowances(session, submission.sender, message.received_at),
        track=track,
    )
    return judge(mail, documents)


def recheck(
    session: Session,
    submission: Submission,
    *,
    actor: str,
    at: datetime,
    blobs: BlobStore | None,
    reason: str,
    track: str | None = None,
) -> Case:
    """Run the checks again on the corrected case and record the verdict in the caller's transaction.

    The verdict only (:func:`zhengji.storage.status.record_verdict`, audited as ``recheck`` by the correcting
    reviewer): a decision another reviewer made stands, whatever the corrected case now looks like. The event keeps
    the submission's findings and each document's, so that the queue and the next mail's "已更正" list see them.
    """
    case = load_case(session, submission)
    checked = judge_case(session, case, blobs, track=track)
    if checked is None:
        return case
    latest = latest_message(session, submission.id) if submission.id is not None else None
    for document, judged in zip(case.documents, checked.documents, strict=True):
        document.findings = [finding.as_json() for finding in judged.findings]
    case.findings = [finding.as_json() for finding in checked.findings]
    case.status = checked.status
    record_verdict(
        session,
        submission,
        Verdict(checked.status),
        actor=actor,
        action="recheck",
        at=at,
        reason=reason,
        detail={
            "status": checked.status,  # the verdict, as the audit trail has always read it
        },
        findings=case.findings,
        documents={str(document.row.id): document.findings for document in case.documents},
        message_id=latest.id if latest is not None else None,
        version=submission.version,
    )
    return case
