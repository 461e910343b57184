"""Corrections: a reviewer fixes a field zhengji read wrong; every fix can become a regression test.

The machine's reading stays in the document row; the correction is a row of its own with the original value,
the corrected one, who and when. The case is then checked again (:func:`zhengji.review.recheck.recheck`).
``zhengji corrections export`` writes each corrected document with the fields a person confirmed, the shape
of the parser tests' golden files: the file beside the JSON of what it must read as.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from sqlmodel import Session, col, select

from zhengji.review.fields import coerce, get_path, valid_path
from zhengji.review.originals import OriginalMissing, document_bytes
from zhengji.review.recheck import Case, corrections_of, recheck
from zhengji.review.versions import path_label
from zhengji.storage.blobs import BlobStore
from zhengji.storage.models import AuditEvent, Correction, Document, Submission
from zhengji.textsafe import clean_line


class CorrectionError(ValueError):
    """A correction cannot be made as asked; ``str()`` is a sentence for the reviewer."""


def correct(
    session: Session,
    submission: Submission,
    document_id: int,
    path: str,
    text: str,
    *,
    actor: str,
    at: datetime,
    blobs: BlobStore | None,
) -> Case:
    """Record the correction of ``path`` in one current document of the case and check the case again."""
    document = session.get(Document, document_id)
    if document is None or document.submission_id != submission.id or document.superseded:
        raise CorrectionError("该文件不属于本申报的当前版本，请刷新页面后再更正。")
    if not valid_path(path):
        raise CorrectionError("无法识别要更正的栏目。")
    if len(text) > 20000:
        raise CorrectionError("更正内容过长（不超过 20000 字）。")
    original = get_path(document.fields, path)
    earlier = corrections_of(session, [document_id]).get(document_id, {}).get(path)
    current = earlier.corrected if earlier is not None else original
    value = coerce(document.form, path, text, current if current is not None else original)
    if value == current:
        raise CorrectionError("更正后的内容与现有内容相同，未作更改。")
    session.add(
        Correction(
            submission_id=submission.id or 0,
            document_id=document_id,
            path=path,
            original=original,
            corrected=value,
            staff=actor,
            at=at,
        )
    )
    session.add(
        AuditEvent(
            at=at,
            actor=actor,
            action="correction",
            submission_id=submission.id,
            detail={
                "document_id": document_id,
                "file": document.filename,
                "path": path,
                "original": original,
                "corrected": value,
            },
        )
    )
    session.flush()
    # The reason is read by clerks in the audit trail: the field by the label its form prints, never its key.
    province = document.fields.get("province") if isinstance(document.fields.get("province"), str) else None
    name = path_label(document.form, path, province)
    reason = f"更正“{name}”后重新核验" if name != path else "更正后重新核验"
    return recheck(session, submission, actor=actor, at=at, blobs=blobs, reason=reason)


@dataclass(frozen=True)
class Exported:
    reference: str
    file: str
    folder: Path


def _safe_name(name: str) -> str:
    base = PurePosixPath(name.replace("\\", "/").split(" › ")[-1]).name
    cleaned = "".join("_" if char in '/\\:*?"<>|' else char for char in clean_line(base, 120))
    return cleaned.strip(". ") or "document"


def export_corrections(
    session: Session, blobs: BlobStore, out: Path, *, since: datetime | None = None
) -> list[Exported]:
    """Write every corrected document as a test case: ``out/REFERENCE-DOCUMENT/`` holds the original file and
    ``case.json`` (form, format, the fields a person confirmed, and the machine's readings they replaced)."""
    query = select(Correction.document_id).distinct()
    if since is not None:
        query = query.where(col(Correction.at) >= since)
    document_ids = sorted(set(session.exec(query).all()))
    corrections = corrections_of(session, document_ids)
    written: list[Exported] = []
    for document_id in document_ids:
        document = session.get(Document, document_id)
        if document is None:
            continue
        submission = session.get(Submission, document.submission_id) if document.submission_id else None
        reference = submission.reference if submission else f"document-{document_id}"
        folder = out / f"{reference}-{document_id}"
        folder.mkdir(parents=True, exist_ok=True)
        name = _safe_name(document.filename)
        try:
            (folder / name).write_bytes(document_bytes(session, document, blobs))
        except OriginalMissing:
            name = ""
        fixed = corrections.get(document_id, {})
        case: dict[str, Any] = {
            "reference": reference,
            "file": name or None,
            "original_file_name": document.filename,
            "format": document.format,
            "form": document.form,
            "parser_version": document.parser_version,
            "confirmed": {path: row.corrected for path, row in sorted(fixed.items())},
            "machine": {path: row.original for path, row in sorted(fixed.items())},
            "corrected_by": sorted({row.staff for row in fixed.values()}),
            "corrected_at": max(row.at for row in fixed.values()).isoformat() if fixed else None,
        }
        (folder / "case.json").write_text(json.dumps(case, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        written.append(Exported(reference, name, folder))
    return written
