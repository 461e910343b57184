"""What a new version of a case changed, as the reply tells it: files received anew or replaced, problems now
corrected; and the one rule that pairs a version's files with the version before it, which the staff diff
(:mod:`zhengji.review.versions`) uses too, so that the reply and the reviewer never tell one resubmission two ways.

Files pair by form and format (the 建议书's Word copy with the 建议书's Word copy, its PDF with its PDF): the same
bytes are the same file whatever they are called; a file of the same form and format with other bytes replaces the
one before (已替换), the same name first; what is left is new or no longer sent. A resubmission that only adds the
PDF copies therefore tells "本次新收到" of the PDFs alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from sqlmodel import Session

from zhengji.parsers.model import ParsedDocument
from zhengji.parsers.submission import CheckedSubmission
from zhengji.parsers.twins import stem
from zhengji.storage.models import Document
from zhengji.storage.status import last_verdict
from zhengji.textsafe import clean_line

FindingKey = tuple[str, str, str, str]


def last_findings(session: Session, submission_id: int | None) -> list[dict[str, Any]]:
    """The submission-level findings of the case's last verdict (a mail's, a reprocess's or a re-check's)."""
    verdict = last_verdict(session, submission_id)
    return list(verdict.findings) if verdict is not None else []


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


B = TypeVar("B")
A = TypeVar("A")
FileChange = Literal["same", "replaced", "added", "removed"]


@dataclass(frozen=True)
class FilePair(Generic[B, A]):
    """A file of the version before and the file of this version that takes its place (either may be missing)."""

    before: B | None
    after: A | None
    change: FileChange


@dataclass(frozen=True)
class _File:
    name: str
    sha256: str
    form: str
    kind: str  # "pdf" or "editable": a form's two copies are never paired with each other


def _kind(format: str) -> str:
    return "pdf" if format == "pdf" else "editable"


def pair_files(
    before: Sequence[B],
    after: Sequence[A],
    describe_before: Callable[[B], tuple[str, str, str, str]],
    describe_after: Callable[[A], tuple[str, str, str, str]],
) -> list[FilePair[B, A]]:
    """Pair the files of two versions by form and format: same bytes, then same name, then the only one left.

    ``describe_before`` and ``describe_after`` give a file's name, sha256, form and format (stored documents and
    fresh readings name them differently). Returns the pairs in the order of ``after``, then the files no longer sent.
    """
    old = [(item, _File(*_fields(describe_before(item)))) for item in before]
    new = [(item, _File(*_fields(describe_after(item)))) for item in after]
    taken: set[int] = set()
    found: dict[int, FilePair[B, A]] = {}
    rules: list[Callable[[_File, _File], bool]] = [
        lambda one, other: one.sha256 == other.sha256 and bool(one.sha256),
        lambda one, other: stem(one.name) == stem(other.name),
    ]
    for rule in rules:
        for index, (item, file) in enumerate(new):
            if index in found:
                continue
            match = [
                number
                for number, (_, older) in enumerate(old)
                if number not in taken and (older.form, older.kind) == (file.form, file.kind) and rule(older, file)
            ]
            if match:
                taken.add(match[0])
                same = old[match[0]][1].sha256 == file.sha256 and bool(file.sha256)
                found[index] = FilePair(old[match[0]][0], item, "same" if same else "replaced")
    for index, (item, file) in enumerate(new):
        if index in found or file.form == "unknown":
            continue
        left = [
            number
            for number, (_, older) in enumerate(old)
            if number not in taken and (older.form, older.kind) == (file.form, file.kind)
        ]
        rivals = [
            number
            for number, (_, newer) in enumerate(new)
            if number not in found and (newer.form, newer.kind) == (file.form, file.kind)
        ]
        if len(left) == 1 and len(rivals) == 1:  # the one copy of this form and format: it replaces the one before
            taken.add(left[0])
            found[index] = FilePair(old[left[0]][0], item, "replaced")
    pairs = [found.get(index) or FilePair(None, item, "added") for index, (item, _) in enumerate(new)]
    return pairs + [FilePair(item, None, "removed") for number, (item, _) in enumerate(old) if number not in taken]


def _fields(values: tuple[str, str, str, str]) -> tuple[str, str, str, str]:
    name, sha256, form, format = values
    return name, sha256 or "", form, _kind(format)


def stored_file(document: Document) -> tuple[str, str, str, str]:
    """A stored document as :func:`pair_files` compares it."""
    return document.filename, document.sha256, document.form, document.format


def fresh_file(document: ParsedDocument) -> tuple[str, str, str, str]:
    """A document just read, as :func:`pair_files` compares it."""
    return document.file, document.sha256 or "", document.form, document.format


def _short(name: str) -> str:
    return clean_line(name.replace("\\", "/").split(" › ")[-1].split("/")[-1], 120)


def describe_changes(
    previous: Sequence[Document], previous_findings: list[dict[str, Any]], checked: CheckedSubmission
) -> list[str]:
    """The sentences of the reply's "与上次相比" list: files new, files replaced, problems corrected.

    A file sent again unchanged is not news; when every file is the same as before, the reply says so once.
    """
    pairs = pair_files(list(previous), checked.documents, stored_file, fresh_file)
    added = [pair.after.file for pair in pairs if pair.after is not None and pair.change == "added"]
    replaced = [
        (pair.before.filename, pair.after.file)
        for pair in pairs
        if pair.before is not None and pair.after is not None and pair.change == "replaced"
    ]
    changes = [f"本次新收到：{'、'.join(added)}。"] if added else []
    if replaced:
        changes.append(
            "已替换："
            + "、".join(
                _short(new) if stem(old) == stem(new) else f"{_short(new)}（替换上次的{_short(old)}）"
                for old, new in replaced
            )
            + "。"
        )
    if not added and not replaced and pairs and all(pair.change == "same" for pair in pairs):
        changes.append("本次发送的文件与上次相同，内容无变化。")
    new_errors = checked_errors(checked)
    old_errors = stored_errors(previous, previous_findings)
    changes += [f"已更正：{message}" for key, message in old_errors.items() if key not in new_errors]
    return changes
