"""A mail's documents in the database: stored by the parse step as parsed, filed under a case by the check step.

Storing the parse result lets the slow step (every attachment in a worker process) happen once: a crash in
the check or reply step resumes from these rows instead of parsing again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from zhengji.parsers.document import PARSER_VERSION
from zhengji.parsers.model import Finding, ParsedDocument
from zhengji.storage.models import Document, Submission


def document_row(message_id: int, document: ParsedDocument, at: datetime) -> Document:
    """The row of one parsed document, not yet filed under a case."""
    return Document(
        message_id=message_id,
        filename=document.file[:500],
        sha256=document.sha256 or "",
        size=document.size,
        format=document.format,
        form=document.form,
        fields=document.fields,
        findings=[finding.as_json() for finding in document.findings],
        red_seals=document.red_seals,
        text_layer=document.text_layer,
        parser_version=PARSER_VERSION,
        created_at=at,
    )


def current_documents(session: Session, message_id: int) -> list[Document]:
    """The documents of the mail's latest parse, in attachment order."""
    return list(
        session.exec(
            select(Document)
            .where(Document.message_id == message_id, col(Document.superseded).is_(False))
            .order_by(col(Document.id))
        ).all()
    )


def as_parsed(row: Document) -> ParsedDocument:
    """A stored document as the submission check takes it."""
    return ParsedDocument(
        file=row.filename,
        format=row.format,
        form=row.form,
        fields=row.fields,
        findings=[Finding.model_validate(finding) for finding in row.findings],
        red_seals=row.red_seals,
        text_layer=row.text_layer,
        sha256=row.sha256 or None,
        size=row.size,
    )


def file_documents(
    session: Session, row_ids: Sequence[int | None], judged: Sequence[ParsedDocument], submission: Submission
) -> None:
    """File the mail's documents under its case, as judged (a scan takes its twin's form; a seal signs both).

    ``judged`` comes from the rows ``row_ids`` in the same order: the check never adds or drops a document.
    """
    if len(row_ids) != len(judged):
        raise ValueError(f"{len(judged)} judged documents for {len(row_ids)} stored ones")
    for row_id, document in zip(row_ids, judged, strict=True):
        row = session.get(Document, row_id)
        assert row is not None
        row.submission_id = submission.id
        row.version = submission.version
        row.form = document.form
        row.fields = document.fields
        row.findings = [finding.as_json() for finding in document.findings]
        session.add(row)
