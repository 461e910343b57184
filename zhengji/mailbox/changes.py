"""What a new version of a case changed, as the reply tells it: files received anew, problems now corrected."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlmodel import Session, col, select

from zhengji.parsers.submission import CheckedSubmission
from zhengji.storage.models import AuditEvent, Document

# The audit actions whose detail holds the case's submission-level findings as last judged.
VERDICT_ACTIONS = ("status", "reprocess")

FindingKey = tuple[str, str, str, str]


def last_findings(session: Session, submission_id: int | None) -> list[dict[str, Any]]:
    """The submission-level findings of the case's last verdict (kept in the audit event that recorded it)."""
    event = session.exec(
        select(AuditEvent)
        .where(AuditEvent.submission_id == submission_id, col(AuditEvent.action).in_(VERDICT_ACTIONS))
        .order_by(col(AuditEvent.id).desc())
    ).first()
    return list(event.detail.get("findings", [])) if event else []


def _key(where: str, finding: dict[str, Any]) -> FindingKey:
    return (where, str(finding.get("code")), str(finding.get("field")), str(finding.get("row")))


def stored_errors(documents: Sequence[Document], findings: Iterable[dict[str, Any]]) -> dict[FindingKey, str]:
    """The errors of a stored verdict: each document's, and the submission's own, keyed by where and what."""
    errors = {
        _key(document.form, finding): str(finding.get("message"))
        for document in documents
        for finding in document.findings
        if finding.get("severity") == "error"
    }
    errors |= {
        _key("", finding): str(finding.get("message")) for finding in findings if finding.get("severity") == "error"
    }
    return errors


def checked_errors(checked: CheckedSubmission) -> set[FindingKey]:
    """The errors of a fresh verdict, keyed like :func:`stored_errors`."""
    errors = {
        _key(document.form, finding.as_json())
        for document in checked.documents
        for finding in document.findings
        if finding.severity == "error"
    }
    return errors | {_key("", finding.as_json()) for finding in checked.findings if finding.severity == "error"}


def describe_changes(
    previous: Sequence[Document], previous_findings: list[dict[str, Any]], checked: CheckedSubmission
) -> list[str]:
    """The sentences of the reply's "与上次相比" list."""
    old_files = {(document.filename, document.sha256) for document in previous}
    new_files = [document.file for document in checked.documents if (document.file, document.sha256) not in old_files]
    new_errors = checked_errors(checked)
    changes = [f"本次新收到：{'、'.join(new_files)}。"] if new_files else []
    old_errors = stored_errors(previous, previous_findings)
    changes += [f"已更正：{message}" for key, message in old_errors.items() if key not in new_errors]
    return changes
