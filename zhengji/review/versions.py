"""A case's versions, and what each changed against the one before: its files, then its forms field by field.

A version is what one mail of the case brought (``Document.version``). A reprocessed mail keeps its version and
gets new document rows; the version shows the rows of its latest parse.

Two things are compared, each once:

- **Files**, paired by form and format with :func:`zhengji.mailbox.changes.pair_files`, the rule the reply's
  "与上次相比" list uses: a file sent again is not news, a file of the same form and format with other bytes is
  已替换, the rest is 新增 or 不再包含.
- **Forms**, each by its text of record (the editable copy where there is one, as the checks judge it:
  :func:`zhengji.parsers.twins.text_of_record`), so that a resubmission that only adds the PDF copy changes no
  field, and a changed field is listed once, not once per copy.

Fields are named by the form's own labels (:func:`zhengji.parsers.checks.labels.label`), as the case page and the
reply name them; the parser's working keys (``category_ticks``) are not fields of the form and are never listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from zhengji.mailbox.changes import FilePair, pair_files, stored_file
from zhengji.notices.registry import FormId
from zhengji.parsers.checks.labels import label
from zhengji.parsers.titles import form_title
from zhengji.parsers.twins import stem
from zhengji.review.fields import flatten, parse_cell, show
from zhengji.storage.models import Document, Message

# Keys the parsers keep for their own use beside the form's fields (the ticks read for 类别, the province).
_INTERNAL_SUFFIXES = ("_ticks",)
_INTERNAL_KEYS = frozenset({"province"})


@dataclass(frozen=True)
class Change:
    form: str  # the form's title
    path: str  # the field's label as the form prints it
    before: str
    after: str


@dataclass(frozen=True)
class FileChange:
    """A file this version added, replaced or no longer holds, for the reviewer."""

    kind: str  # 新增, 已替换, 不再包含
    name: str
    replaces: str = ""  # the earlier file a replacement takes the place of, when named otherwise


def internal(path: str) -> bool:
    """A parser's working key, not a field of the form: never shown to a person as a field."""
    top = path.split(".")[0]
    return top in _INTERNAL_KEYS or any(part.endswith(_INTERNAL_SUFFIXES) for part in path.split("."))


def path_label(form: str, path: str, province: str | None = None) -> str:
    """A field path in the form's own words: ``contact.phone`` → 联系电话, ``rows.2.code`` → 第 2 行 职业编码."""
    try:
        known = FormId(form)
    except ValueError:
        return path
    if known is FormId.unknown:
        return path
    where = province or "shanghai"
    cell = parse_cell(path)
    if cell is not None:
        column = label(known, f"{cell.list_key}.{cell.column}", where)
        table = label(known, cell.list_key, where) if cell.list_key != "rows" else ""
        return f"{table}第 {cell.row} 行 {column}".strip()
    return label(known, path, where)


@dataclass
class Version:
    number: int
    received: datetime | None
    subject_files: list[str]
    documents: list[Document]
    changes: list[Change] = field(default_factory=list)
    files: list[FileChange] = field(default_factory=list)

    @property
    def added(self) -> list[str]:
        return [item.name for item in self.files if item.kind == "新增"]

    @property
    def removed(self) -> list[str]:
        return [item.name for item in self.files if item.kind == "不再包含"]

    @property
    def replaced(self) -> list[FileChange]:
        return [item for item in self.files if item.kind == "已替换"]

    @property
    def unchanged(self) -> bool:
        """Nothing a form says changed (files may have been added or sent again): 内容无变化."""
        return not self.changes


def _latest_parse(rows: list[Document]) -> list[Document]:
    current = [row for row in rows if not row.superseded]
    if current:
        return current
    newest = max(row.created_at for row in rows)
    return [row for row in rows if row.created_at == newest]


def _province(row: Document) -> str | None:
    value = row.fields.get("province")
    return value if isinstance(value, str) else None


def _records(rows: list[Document]) -> list[Document]:
    """Each form's text of record in a version: its editable copy, or its PDF when no editable copy came."""
    editable = [row for row in rows if row.form != FormId.unknown and row.format != "pdf"]
    kept = list(editable)
    for row in rows:
        if row.form == FormId.unknown or row.format != "pdf":
            continue
        twins = [other for other in editable if other.form == row.form]
        if not twins:
            kept.append(row)
    return sorted(kept, key=lambda row: row.id or 0)


def _paired_forms(before: list[Document], after: list[Document]) -> list[tuple[Document | None, Document | None]]:
    """The forms of two versions matched by form: the same file stem first, then in the order they came."""
    old = _records(before)
    pairs: list[tuple[Document | None, Document | None]] = []
    taken: set[int] = set()
    rest: list[Document] = []
    for row in _records(after):
        match = next(
            (
                index
                for index, other in enumerate(old)
                if index not in taken and other.form == row.form and stem(other.filename) == stem(row.filename)
            ),
            None,
        )
        if match is None:
            rest.append(row)
            continue
        taken.add(match)
        pairs.append((old[match], row))
    for row in rest:
        match = next((index for index, other in enumerate(old) if index not in taken and other.form == row.form), None)
        if match is not None:
            taken.add(match)
        pairs.append((old[match] if match is not None else None, row))
    pairs += [(row, None) for index, row in enumerate(old) if index not in taken]
    return pairs


def _fields_of(row: Document | None) -> dict[str, Any]:
    if row is None:
        return {}
    return {path: value for path, value in flatten(row.fields).items() if not internal(path)}


def _diff(before: Document | None, after: Document | None) -> list[Change]:
    either = after or before
    if either is None:
        return []
    province = _province(either)
    title = form_title(either.form, province)
    old = _fields_of(before)
    new = _fields_of(after)
    return [
        Change(title, path_label(either.form, path, province), show(old.get(path), path), show(new.get(path), path))
        for path in sorted(set(old) | set(new), key=lambda path: (path.count("."), path))
        if show(old.get(path), path) != show(new.get(path), path)
    ]


def _file_changes(pairs: list[FilePair[Document, Document]]) -> list[FileChange]:
    found: list[FileChange] = []
    for pair in pairs:
        if pair.change == "added" and pair.after is not None:
            found.append(FileChange("新增", pair.after.filename))
        elif pair.change == "removed" and pair.before is not None:
            found.append(FileChange("不再包含", pair.before.filename))
        elif pair.change == "replaced" and pair.before is not None and pair.after is not None:
            earlier = "" if stem(pair.before.filename) == stem(pair.after.filename) else pair.before.filename
            found.append(FileChange("已替换", pair.after.filename, earlier))
    return found


def versions(session: Session, submission_id: int) -> list[Version]:
    """The case's versions, oldest first, each with its file and field changes against the one before."""
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
            for old, new in _paired_forms(previous, documents):
                version.changes.extend(_diff(old, new))
            version.files = _file_changes(pair_files(previous, documents, stored_file, stored_file))
        found.append(version)
        previous = documents
    return found
