"""Parsing one attachment: sniff → (unpack) → read → classify → extract → check.

This is the plug-in contract of the parser steps, written down (paperless-style): a reader turns bytes of
one format into a :class:`Layout` or raises :class:`Unreadable` with a sentence for the sender; a form module
turns a Layout into the contract's fields; a check turns fields into findings. A new format is a new reader,
a new form a new form module — never a new branch here. Every untrusted file is read in a worker process
(:mod:`zhengji.parsers.isolation`), so that no file can take the service down with it.
"""

from __future__ import annotations

import hashlib
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from importlib import import_module
from typing import Any

from zhengji import __version__
from zhengji.notices.registry import FormId, Registry, load_registry
from zhengji.parsers.isolation import Limits, WorkerFailed, run_isolated
from zhengji.parsers.model import Finding, Layout, ParsedDocument, Unreadable
from zhengji.parsers.tracks import governing_notice, track_of_form

log = logging.getLogger(__name__)
# Stored beside every document, so that `zhengji reprocess` knows what an upgrade would change.
PARSER_VERSION = __version__
ARCHIVE_FORMATS = frozenset({"zip", "rar", "7z"})
WORD_FORMATS = frozenset({"docx", "doc", "wps", "rtf"})
SHEET_FORMATS = frozenset({"xlsx", "xls", "et"})

DEFAULT_LIMITS = Limits()
_FORMAT_NAMES = {
    "docx": "Word",
    "doc": "Word",
    "wps": "WPS 文字",
    "pdf": "PDF",
    "xlsx": "Excel",
    "xls": "Excel",
    "et": "WPS 表格",
}


@dataclass(frozen=True)
class ParseOptions:
    """What parsing needs besides the bytes: when (to pick the governing notice) and how isolated."""

    at: datetime
    limits: Limits = DEFAULT_LIMITS
    isolate: bool = True
    method: str = "fork"


def format_name(fmt: str) -> str:
    return _FORMAT_NAMES.get(fmt, fmt.upper())


def parse_attachment(name: str, data: bytes, options: ParseOptions) -> list[ParsedDocument]:
    """Every document in one attachment: itself, or each member of an archive (nested ones too)."""
    from zhengji.parsers.sniff import detect_format

    fmt = detect_format(data, name)
    if fmt not in ARCHIVE_FORMATS:
        return [parse_document(name, data, fmt, options)]
    from zhengji.parsers.archives import ArchiveError, unpack

    try:
        members = unpack(data, fmt, name)
    except ArchiveError as error:
        return [_unreadable(name, fmt, error.message, data)]
    documents = []
    for member in members:
        if member.problem:
            documents.append(_unreadable(member.path, "unknown", member.problem, member.data))
        else:
            documents.append(parse_document(member.path, member.data, detect_format(member.data, member.name), options))
    if not documents:
        documents.append(_unreadable(name, fmt, f"压缩包“{name}”中没有可读取的文件，请直接以附件形式发送材料。", data))
    return documents


_READER_MODULES = {
    "docx": ("zhengji.parsers.readers.docx",),
    "pdf": ("zhengji.parsers.readers.pdf",),
    "xlsx": ("zhengji.parsers.readers.xlsx",),
    "doc": ("zhengji.parsers.readers.docx", "zhengji.parsers.readers.legacy"),
    "wps": ("zhengji.parsers.readers.docx", "zhengji.parsers.readers.legacy"),
    "rtf": ("zhengji.parsers.readers.docx", "zhengji.parsers.readers.legacy"),
    "xls": ("zhengji.parsers.readers.xlsx", "zhengji.parsers.readers.legacy"),
    "et": ("zhengji.parsers.readers.xlsx", "zhengji.parsers.readers.legacy"),
}


def _warm_imports(formats: set[str] | None = None) -> None:
    """Import the parser modules before forking: the child inherits them instead of loading libraries under its
    memory limit (where mapping a shared object can fail), and each worker starts faster. Only the readers the
    mail needs are loaded (``None``: all of them, as for an archive)."""
    modules = {"zhengji.parsers.checks", "zhengji.parsers.forms", "zhengji.parsers.readers"}
    for fmt, readers in _READER_MODULES.items():
        if formats is None or fmt in formats or formats & ARCHIVE_FORMATS:
            modules.update(readers)
    for module in sorted(modules):
        import_module(module)


def parse_attachments(files: list[tuple[str, bytes]], options: ParseOptions) -> list[ParsedDocument]:
    """Every document of a mail's attachments, in attachment order, parsed side by side on every core.

    Each attachment already runs in its own worker process; the threads here only wait for them. The parser
    modules are imported before the first fork so that no thread holds the import lock while another forks.
    """
    from zhengji.parsers.sniff import detect_format

    _warm_imports({detect_format(data, name) for name, data in files})
    workers = min(len(files), os.cpu_count() or 1)
    if workers <= 1:
        return [doc for name, data in files for doc in parse_attachment(name, data, options)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        batches = list(pool.map(lambda item: parse_attachment(item[0], item[1], options), files))
    return [doc for batch in batches for doc in batch]


# Files that are fine as files but are none of the forms: kept as extra material, never "unreadable".
EXTRA_FORMATS = frozenset({"png", "jpeg", "gif", "tiff", "bmp", "txt", "html", "pptx", "ppt"})


def parse_document(name: str, data: bytes, fmt: str, options: ParseOptions) -> ParsedDocument:
    """One file of a known format, parsed and checked; never raises for a bad file."""
    if fmt in EXTRA_FORMATS:
        extra = _extra_attachment(name)
        digest = hashlib.sha256(data).hexdigest()
        return ParsedDocument(file=name, format=fmt, form=FormId.unknown.value, findings=[extra], sha256=digest,
                              size=len(data))  # fmt: skip
    _warm_imports({fmt})
    try:
        if options.isolate:
            document = run_isolated(
                _parse_in_worker, name, data, fmt, options.at, limits=options.limits, method=options.method
            )
        else:
            document = _parse_in_worker(name, data, fmt, options.at)
    except Unreadable as error:
        return _unreadable(name, fmt, str(error), data)
    except WorkerFailed as failure:
        log.warning("worker failed on %s: %s", name, failure)
        return _unreadable(name, fmt, _worker_message(name, failure), data)
    except Exception:
        # A parser bug must cost one attachment, not the mail: staff see the traceback in the log.
        log.exception("parser error on %s", name)
        message = f"系统未能读取文件“{name}”，工作人员将人工核对；如方便，请另存为 .docx 或 PDF 后重新发送。"
        return _unreadable(name, fmt, message, data)
    document.sha256 = hashlib.sha256(data).hexdigest()
    document.size = len(data)
    return document


def _extra_attachment(name: str) -> Finding:
    return Finding(
        code="unknown_form",
        severity="warning",
        message=f"“{name}”不是本次征集通知所附的表格，已作为附加材料留存。",
        file=name,
    )


def _worker_message(name: str, failure: WorkerFailed) -> str:
    if failure.kind == "timeout":
        return f"文件“{name}”内容过大或结构异常，系统无法在规定时间内读取，请精简后重新导出 Word 或 PDF 文件发送。"
    if failure.kind == "memory":
        return f"文件“{name}”过大，系统无法读取，请压缩图片或拆分后重新发送。"
    return f"文件“{name}”无法读取，可能已损坏，请重新导出 Word 或 PDF 文件后发送。"


def _unreadable(name: str, fmt: str, message: str, data: bytes) -> ParsedDocument:
    finding = Finding(code="unreadable", severity="error", message=message, file=name)
    return ParsedDocument(
        file=name,
        format=fmt,
        form=FormId.unknown.value,
        findings=[finding],
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
    )


def _parse_in_worker(name: str, data: bytes, fmt: str, at: datetime) -> ParsedDocument:
    from zhengji.parsers.readers import read_layout

    layout = read_layout(data, fmt)
    return interpret(name, layout, at)


def interpret(name: str, layout: Layout, at: datetime, registry: Registry | None = None) -> ParsedDocument:
    """Classify a layout, extract its fields and check them against the notice that governs them at ``at``."""
    from zhengji.parsers.checks import check_document
    from zhengji.parsers.checks.context import CheckContext
    from zhengji.parsers.forms import classify, extract

    registry = registry or load_registry()
    base: dict[str, Any] = {"file": name, "format": layout.format, "red_seals": layout.red_seals}
    if not layout.text_layer:
        scanned = Finding(
            code="scanned",
            severity="warning",
            message=f"“{name}”为扫描件，系统无法读取其中文字；请同时发送该表的 Word 版本。",
            file=name,
        )
        return ParsedDocument(**base, form=FormId.unknown.value, findings=[scanned], text_layer=False)
    form = classify(layout)
    if form is FormId.unknown:
        return ParsedDocument(**base, form=form.value, findings=[_extra_attachment(name)])
    fields = extract(form, layout)
    track = track_of_form(form, fields.get("province"))
    findings: list[Finding] = []
    if track is not None:
        notice = governing_notice(track, at, registry)
        context = CheckContext.for_notice(notice, form, registry, signed_elsewhere=layout.red_seals > 0)
        findings = check_document(form, fields, context, file=name)
    return ParsedDocument(**base, form=form.value, fields=fields, findings=findings)
