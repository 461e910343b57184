"""A case's versions, and a field-by-field diff between each version and the one before it.

A version is what one mail of the case brought (``Document.version``). A reprocessed mail keeps its version and
gets new document rows; the version shows the rows of its latest parse. Documents of two versions are paired by
form, the editable copy before the PDF, so that the diff compares a 建议书 with the 建议书 it replaces.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from zhengji.notices.forms import form_spec
from zhengji.parsers.titles import form_title
from zhengji.review.fields import flatten, parse_cell, show
from zhengji.storage.models import Document, Message


@dataclass(frozen=True)
class Change:
    form: str  # the form's title
    path: str  # the field's label as the form prints it
    before: str
    after: str


def path_label(form: str, path: str, province: str | None = None) -> str:
    """A field path in the form's own words: ``contact.phone`` → 联系电话, ``rows.2.code`` → 第 2 行 职业编码."""
    spec = form_spec(form) if form != "unknown" else None
    labels = dict(spec.labels(province)) if spec is not None else {}
    cell = parse_cell(path)
    if cell is not None:
        column = labels.get(f"{cell.list_key}.{cell.column}", cell.column)
        table = labels.get(cell.list_key, "") if cell.list_key != "rows" else ""
        return f"{table}第 {cell.row} 行 {column}".strip()
    return labels.get(path, path)


@dataclass
class Version:
    number: int
    received: datetime | None
    subject_files: list[str]
    documents: list[Document]
    changes: list[Change] = field(default_factory=list)
    added: list[str] = field(default_factory=list)  # files in this version and not the one before
    removed: list[str] = field(default_factory=list)


def _latest_parse(rows: list[Document]) -> list[Document]:
    current = [row for row in rows if not row.superseded]
    if current:
        return current
    newest = max(row.created_at for row in rows)
    return [row for row in rows if row.created_at == newest]


def _paired(before: list[Document], after: list[Document]) -> list[tuple[Document | None, Document | None]]:
    def order(rows: list[Document]) -> dict[tuple[str, int], Document]:
        keyed: dict[tuple[str, int], Document] = {}
        counts: dict[str, int] = {}
        for row in sorted(rows, key=lambda row: (row.form, row.format == "pdf", row.id or 0)):
            if row.form == "unknown":
                continue
            index = counts.get(row.form, 0)
            counts[row.form] = index + 1
            keyed[(row.form, index)] = row
        return keyed

    old, new = order(before), order(after)
    return [(old.get(key), new.get(key)) for key in sorted(set(old) | set(new))]


def _diff(before: Document | None, after: Document | None) -> list[Change]:
    either = after or before
    if either is None:
        return []
    province = either.fields.get("province") if isinstance(either.fields.get("province"), str) else None
    title = form_title(either.form, province)
    old: dict[str, Any] = flatten(before.fields) if before else {}
    new: dict[str, Any] = flatten(after.fields) if after else {}
    return [
        Change(title, path_label(either.form, path, province), show(old.get(path), path), show(new.get(path), path))
        for path in sorted(set(old) | set(new), key=lambda path: (path.count("."), path))
        if show(old.get(path), path) != show(new.get(path), path) and path != "province"
    ]


def versions(session: Session, submission_id: int) -> list[Version]:
    """The case's versions, oldest first, each with its changes against the one before."""
    rows = session.exec(
        select(Document).where(Document.submission_id == submission_id).order_by(col(Document.id))
    ).all()
    by_version: dict[int, list[Document]] = {}
    for row in rows:
        by_version.setdefault(row.version, []).append(row)
    received = {
        version: moment
        for version, moment in session.exec(
            select(Message.version, Message.received_at).where(Message.submission_id == submission_id)
        ).all()
        if version is not None
    }
    found: list[Version] = []
    previous: list[Document] = []
    for number in sorted(by_version):
        documents = _latest_parse(by_version[number])
        version = Version(number, received.get(number), [row.filename for row in documents], documents)
        if found:
            for old, new in _paired(previous, documents):
                version.changes.extend(_diff(old, new))
            old_files = {(row.filename, row.sha256) for row in previous}
            new_files = {(row.filename, row.sha256) for row in documents}
            version.added = sorted(name for name, digest in new_files - old_files)
            version.removed = sorted(name for name, digest in old_files - new_files)
        found.append(version)
        previous = documents
    return found
