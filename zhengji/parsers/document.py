"""Parsing one attachment: sniff → (unpack) → read → classify → extract → check.

This is the plug-in contract of the parser steps, written down (paperless-style): a reader turns bytes of
one format into a :class:`Layout` or raises :class:`Unreadable` with a sentence for the sender; a form module
turns a Layout into the contract's fields; a check turns fields into findings. A new format is a new reader,
a new form a new form module — never a new branch here.

Every untrusted byte is handled in a worker process (:mod:`zhengji.parsers.isolation`): sniffing, unpacking
an archive and reading each document, so that no file can take the service down with it or make it grow. The
worker lists an attachment's files (an archive's members, or the file itself) and then reads them one by one
when the parent asks; its answers come back as JSON and are validated into :class:`ParsedDocument` here.

A mail has a budget (:class:`MailBudget`): so many seconds and so many documents in all. A mail of a zip of
500 legacy files once took a quarter of an hour, longer than a worker's claim on it; now what is left when the
budget is spent is not read, and the sender is told so for each such file, politely, in the reply.
"""

from __future__ import annotations

import hashlib
import logging
import os
import posixpath
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from importlib import import_module
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, ValidationError

from zhengji.notices.registry import FormId, Registry, load_registry
from zhengji.parsers.isolation import (
    Conversation,
    Limits,
    PoolBusy,
    WorkerFailed,
    WorkerPool,
    worker_channel,
    worker_pool,
)
from zhengji.parsers.model import Finding, Layout, ParsedDocument, Unreadable
from zhengji.parsers.tracks import governing_notice, track_of_form
from zhengji.parsers.version import parser_version

if TYPE_CHECKING:
    from zhengji.settings import Settings

log = logging.getLogger(__name__)
# Stored beside every document, so that `zhengji reprocess` knows what an upgrade would change.
PARSER_VERSION = parser_version()
ARCHIVE_FORMATS = frozenset({"zip", "rar", "7z"})
WORD_FORMATS = frozenset({"docx", "doc", "wps", "rtf"})
SHEET_FORMATS = frozenset({"xlsx", "xls", "et"})

DEFAULT_LIMITS = Limits()
# What one mail may spend on parsing (the settings ZHENGJI_PARSE_BUDGET_SECONDS, ZHENGJI_PARSE_MAX_DOCUMENTS):
# well inside a worker's claim on the mail, and far more than a complete submission needs (a dozen files).
DEFAULT_BUDGET_SECONDS = 180.0
DEFAULT_MAX_DOCUMENTS = 100
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
    """What parsing needs besides the bytes: when (to pick the governing notice), how isolated, how much.

    ``method`` is how workers start (``fork``, or ``forkserver`` in the threaded service); ``pool`` is a pool
    of one's own instead of this process's shared one. ``budget_seconds`` and ``max_documents`` bound a whole
    mail (:func:`parse_attachments`), or one attachment parsed alone.
    """

    at: datetime
    limits: Limits = DEFAULT_LIMITS
    isolate: bool = True
    method: str = "fork"
    budget_seconds: float = DEFAULT_BUDGET_SECONDS
    max_documents: int = DEFAULT_MAX_DOCUMENTS
    pool: WorkerPool | None = None

    @classmethod
    def from_settings(cls, settings: Settings, at: datetime, **options: Any) -> ParseOptions:
        """The options an operator set (the mail's budget), for a mail received ``at``."""
        return cls(
            at=at,
            budget_seconds=settings.parse_budget_seconds,
            max_documents=settings.parse_max_documents,
            **options,
        )


class MailBudget:
    """What one mail may still spend on parsing, shared by the threads that parse its attachments.

    Time runs on the real (monotonic) clock, never the business clock that ``ZHENGJI_NOW`` sets.
    """

    def __init__(self, seconds: float, documents: int) -> None:
        self._deadline = time.monotonic() + seconds
        self._documents = documents
        self._lock = threading.Lock()

    def seconds_left(self) -> float:
        return max(self._deadline - time.monotonic(), 0.0)

    def cap(self, seconds: float) -> float:
        """``seconds``, or less if the mail's time runs out first."""
        return min(seconds, self.seconds_left())

    @property
    def out_of_time(self) -> bool:
        return self.seconds_left() <= 0

    def take(self) -> bool:
        """Spend one document; False when the mail has no documents or no time left."""
        with self._lock:
            if self._documents <= 0 or self.out_of_time:
                return False
            self._documents -= 1
            return True


def format_name(fmt: str) -> str:
    return _FORMAT_NAMES.get(fmt, fmt.upper())


def parse_attachments(files: list[tuple[str, bytes]], options: ParseOptions) -> list[ParsedDocument]:
    """Every document of a mail's attachments, in attachment order, within the mail's budget.

    Attachments are parsed side by side, each in a worker of the pool; the threads here only wait for them.
    The pool is taken once, so that a shutdown while the mail is parsed ends it (:class:`PoolClosed` is
    raised: the mail is parsed again later, not answered with what was cut short).
    """
    budget = MailBudget(options.budget_seconds, options.max_documents)
    pool = _pool_for(options, [name for name, _ in files])
    threads = min(len(files), os.cpu_count() or 1) if pool is not None else 1
    if threads <= 1:
        return [doc for name, data in files for doc in _parse_one(name, data, options, budget, pool)]
    with ThreadPoolExecutor(max_workers=threads) as executor:
        batches = list(executor.map(lambda item: _parse_one(item[0], item[1], options, budget, pool), files))
    return [doc for batch in batches for doc in batch]


def parse_attachment(name: str, data: bytes, options: ParseOptions) -> list[ParsedDocument]:
    """Every document in one attachment: itself, or each member of an archive (nested ones too)."""
    budget = MailBudget(options.budget_seconds, options.max_documents)
    return _parse_one(name, data, options, budget, _pool_for(options, [name]))


def parse_document(name: str, data: bytes, fmt: str, options: ParseOptions) -> ParsedDocument:
    """One file already known to be of format ``fmt``, read and checked; never raises for a bad file."""
    member = _Member(name, fmt, data)
    ready = _ready_document(member)
    if ready is not None:
        return ready
    pool = _pool_for(options, [name])
    if pool is None:
        return _read_member(member, options.at)
    try:
        with pool.conversation(options.limits.memory_bytes) as talk:
            args = [name, fmt, options.at.isoformat()]
            answer = talk.request({"task": _task_name(_document_task), "args": args}, options.limits.seconds, data)
            return _received_document(talk, answer.get("result"), _listed(member))
    except WorkerFailed as failure:
        log.warning("worker failed on %s: %s", name, failure)
        return _unreadable(name, fmt, _worker_message(name, failure), data)


# --- in the parent ----------------------------------------------------------------------------------------------


def _pool_for(options: ParseOptions, names: list[str]) -> WorkerPool | None:
    if not options.isolate:
        return None
    pool = options.pool or worker_pool(options.method)
    if pool.method == "fork":
        _warm_imports(names)
    return pool


def _parse_one(
    name: str, data: bytes, options: ParseOptions, budget: MailBudget, pool: WorkerPool | None
) -> list[ParsedDocument]:
    if pool is None:
        return _parse_here(name, data, options.at, budget)
    return _parse_isolated(name, data, options, budget, pool)


class Listed(BaseModel):
    """One file of an attachment as a worker lists it: plain data, checked here before it is believed.

    ``document`` is already there for a file that needs no reading (refused, or extra material).
    """

    file: str
    format: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)
    document: ParsedDocument | None = None


def _parse_isolated(
    name: str, data: bytes, options: ParseOptions, budget: MailBudget, pool: WorkerPool
) -> list[ParsedDocument]:
    """Ask a worker for the attachment's files, then for each file that the budget still allows.

    A worker that fails on a file (time, memory, a crash) costs that file only: a new worker lists the
    attachment again and goes on with the next file. Once the mail's time is spent, every file left is
    reported as not read.
    """
    documents: list[ParsedDocument] = []
    listed: list[Listed] | None = None
    while listed is None or len(documents) < len(listed):
        if budget.out_of_time:
            if listed is None:
                return [_unreadable(name, "unknown", not_read_message(name), data)]
            documents.extend(entry.document or _not_read(entry) for entry in listed[len(documents) :])
            break
        reading = False
        try:
            with pool.conversation(options.limits.memory_bytes, wait=budget.seconds_left()) as talk:
                request = {"task": _task_name(_attachment_task), "args": [name, options.at.isoformat()]}
                current = _listing(talk.request(request, budget.cap(options.limits.seconds), data))
                if listed is None:
                    listed = current
                elif [entry.file for entry in current] != [entry.file for entry in listed]:
                    raise WorkerFailed("crash", "the attachment was listed differently the second time")
                reading = True
                for index in range(len(documents), len(listed)):
                    documents.append(_next_document(talk, index, listed[index], options, budget))
                reading = False
                talk.send({"done": True})
                talk.receive(options.limits.seconds)
        except PoolBusy:
            continue  # no worker came free before the mail's time ran out: the loop reports the rest
        except (WorkerFailed, Unreadable) as error:
            # Our task never raises Unreadable (it makes documents of unreadable files); a worker that says so
            # anyway is not believed, and the file is reported as unread like any other failure.
            failure = error if isinstance(error, WorkerFailed) else WorkerFailed("error", str(error))
            if listed is not None and len(documents) >= len(listed):
                break  # every file was read; only the goodbye failed
            failed = listed[len(documents)].file if reading and listed is not None else name
            log.warning("worker failed on %s: %s", failed, failure)
            timed_out = budget.out_of_time and failure.kind == "timeout"
            message = not_read_message(failed) if timed_out else _worker_message(failed, failure)
            if listed is None:
                return [_unreadable(name, "unknown", message, data)]
            if reading:
                documents.append(_unreadable_entry(listed[len(documents)], message))
            else:  # the attachment could not be listed again: what is left of it stays unread
                rest = listed[len(documents) :]
                documents.extend(entry.document or _unreadable_entry(entry, message) for entry in rest)
    return documents


def _next_document(
    talk: Conversation, index: int, entry: Listed, options: ParseOptions, budget: MailBudget
) -> ParsedDocument:
    if entry.document is not None:
        return entry.document
    if not budget.take():
        return _not_read(entry)
    answer = talk.request({"read": index}, budget.cap(options.limits.seconds))
    return _received_document(talk, answer.get("document"), entry)


def _listing(answer: dict[str, Any]) -> list[Listed]:
    entries = answer.get("entries")
    if not isinstance(entries, list) or not entries:
        raise WorkerFailed("crash", "the worker's listing is not a list of files")
    try:
        return [Listed.model_validate(entry) for entry in entries]
    except ValidationError as error:
        raise WorkerFailed("crash", f"the worker's listing does not validate: {error}") from None


def _received_document(talk: Conversation, value: Any, entry: Listed) -> ParsedDocument:
    """A worker's document, validated field by field (its JSON is the only thing believed, never an object)."""
    try:
        document = ParsedDocument.model_validate(value)
    except ValidationError as error:
        talk.broken = True
        raise WorkerFailed("crash", f"the worker's document does not validate: {error}") from None
    document.sha256 = entry.sha256
    document.size = entry.size
    return document


def _not_read(entry: Listed) -> ParsedDocument:
    return _unreadable_entry(entry, not_read_message(entry.file))


def _unreadable_entry(entry: Listed, message: str) -> ParsedDocument:
    finding = Finding(code="unreadable", severity="error", message=message, file=entry.file)
    return ParsedDocument(
        file=entry.file, format=entry.format, form=FormId.unknown.value, findings=[finding], sha256=entry.sha256,
        size=entry.size,
    )  # fmt: skip


def _parse_here(name: str, data: bytes, at: datetime, budget: MailBudget) -> list[ParsedDocument]:
    """The same steps in this process, for the warm-up and for tests that need no isolation."""
    documents = []
    for member in _members(name, data):
        ready = _ready_document(member)
        if ready is not None:
            documents.append(ready)
        elif budget.take():
            documents.append(_read_member(member, at))
        else:
            documents.append(_unreadable(member.file, member.format, not_read_message(member.file), member.data))
    return documents


def not_read_message(name: str) -> str:
    """What the sender reads for a file left unread because the mail's budget was spent."""
    return (
        f"本邮件所附材料较多，系统未能在规定时间内全部读取，文件“{name}”未予读取。"
        "请将申报表格另行单独发送，或减少每封邮件所附文件数量后重新发送。"
    )


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


def _warm_imports(names: list[str]) -> None:
    """Import the parser modules before a worker is forked from this process: it inherits them instead of
    loading libraries under its memory limit, and no thread holds an import lock while another forks. The
    names' endings say which readers to load (the bytes are not looked at here: they are the worker's job);
    an archive may hold anything, so it loads them all."""
    modules = {"zhengji.parsers.checks", "zhengji.parsers.forms", "zhengji.parsers.readers", "zhengji.parsers.sniff"}
    hints = {posixpath.splitext(name.lower())[1].lstrip(".") for name in names}
    for fmt, readers in _READER_MODULES.items():
        if fmt in hints or hints & ARCHIVE_FORMATS:
            modules.update(readers)
    if hints & ARCHIVE_FORMATS:
        modules.add("zhengji.parsers.archives")
    for module in sorted(modules):
        import_module(module)


# --- in the worker ----------------------------------------------------------------------------------------------

# Files that are fine as files but are none of the forms: kept as extra material, never "unreadable".
EXTRA_FORMATS = frozenset({"png", "jpeg", "gif", "tiff", "bmp", "txt", "html", "pptx", "ppt"})


@dataclass(frozen=True)
class _Member:
    """One file of an attachment: the attachment itself, or a member of it (``problem`` if it was refused)."""

    file: str
    format: str
    data: bytes
    problem: str | None = None


def _task_name(task: Any) -> str:
    return f"{task.__module__}:{task.__qualname__}"


def _attachment_task(name: str, at: str, data: bytes) -> None:
    """In a worker: list the attachment's files, then read each one the parent asks for, until it says done."""
    channel = worker_channel()
    members = _members(name, data)
    channel.send({"entries": [_listed(member).model_dump(mode="json") for member in members]})
    moment = datetime.fromisoformat(at)
    while True:
        command, _ = channel.receive()
        index = command.get("read")
        if not isinstance(index, int) or not 0 <= index < len(members):
            return
        channel.send({"document": _read_member(members[index], moment).model_dump(mode="json")})


def _document_task(name: str, fmt: str, at: str, data: bytes) -> dict[str, Any]:
    """In a worker: one file of a known format, as :func:`parse_document` asks."""
    return _read_member(_Member(name, fmt, data), datetime.fromisoformat(at)).model_dump(mode="json")


def _members(name: str, data: bytes) -> list[_Member]:
    from zhengji.parsers.sniff import detect_format

    fmt = detect_format(data, name)
    if fmt not in ARCHIVE_FORMATS:
        return [_Member(name, fmt, data)]
    from zhengji.parsers.archives import ArchiveError, unpack

    try:
        members = unpack(data, fmt, name)
    except ArchiveError as error:
        return [_Member(name, fmt, data, error.message)]
    found = [
        _Member(member.path, "unknown", member.data, member.problem)
        if member.problem
        else _Member(member.path, detect_format(member.data, member.name), member.data)
        for member in members
    ]
    return found or [_Member(name, fmt, data, f"压缩包“{name}”中没有可读取的文件，请直接以附件形式发送材料。")]


def _listed(member: _Member) -> Listed:
    digest = hashlib.sha256(member.data).hexdigest()
    ready = _ready_document(member)
    return Listed(file=member.file, format=member.format, sha256=digest, size=len(member.data), document=ready)


def _ready_document(member: _Member) -> ParsedDocument | None:
    """The document of a file that needs no reading: one refused while unpacking, or extra material."""
    if member.problem is not None:
        return _unreadable(member.file, member.format, member.problem, member.data)
    if member.format in EXTRA_FORMATS:
        extra = _extra_attachment(member.file)
        digest = hashlib.sha256(member.data).hexdigest()
        return ParsedDocument(file=member.file, format=member.format, form=FormId.unknown.value, findings=[extra],
                              sha256=digest, size=len(member.data))  # fmt: skip
    return None


def _read_member(member: _Member, at: datetime) -> ParsedDocument:
    """One file read and checked; a bad file becomes an ``unreadable`` document, never an exception (only
    running out of memory is left to the worker, which reports it and is replaced)."""
    name, fmt, data = member.file, member.format, member.data
    try:
        document = _parse_in_worker(name, data, fmt, at)
    except Unreadable as error:
        return _unreadable(name, fmt, _unopened_message(name, fmt, error), data)
    except MemoryError:
        raise
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


# The program a file's name says it was saved by, for a file whose bytes no longer say it.
_OFFICE_SUFFIXES = {
    "docx": "Word",
    "docm": "Word",
    "dotx": "Word",
    "xlsx": "Excel",
    "xlsm": "Excel",
}


def cannot_open_message(name: str, program: str) -> str:
    """What the sender reads for a damaged Word or Excel file: the file, the program, and what to do.

    The applicant saved a document, not an archive, so the advice is the one that works: save it again.
    """
    return f"{program} 文件“{name}”已损坏，无法打开，请重新保存后发送。"


def _unopened_message(name: str, fmt: str, error: Unreadable) -> str:
    """The reader's sentence, or, for a Word or Excel file that is damaged, one that names the file.

    Only a broken package is reworded: a password, an old format or a bomb keep the reader's own advice.
    """
    from zhengji.parsers.readers.docx import CORRUPT

    suffix = posixpath.splitext(name.lower())[1].lstrip(".")
    if fmt == "docx" and str(error) == CORRUPT:
        return cannot_open_message(name, "Word")
    if fmt == "xlsx":  # the Excel reader refuses only a package it cannot open
        return cannot_open_message(name, "Excel")
    if fmt in {"unknown", "zip"} and suffix in _OFFICE_SUFFIXES:
        return cannot_open_message(name, _OFFICE_SUFFIXES[suffix])
    return str(error)


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
    from zhengji.parsers.forms import classify, read

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
    reading = read(form, layout)
    fields = reading.fields
    if layout.format == "pdf":
        # What the export did to typed values (a wrapped address, letter-spaced digits) is undone before any
        # validator sees them; a Word file's values stay as the applicant typed them.
        from zhengji.parsers.forms.normalise import normalise_pdf_fields

        fields = normalise_pdf_fields(form, fields)
    track = track_of_form(form, fields.get("province"))
    findings: list[Finding] = []
    if track is not None:
        notice = governing_notice(track, at, registry)
        context = CheckContext.for_notice(notice, form, registry, signed_elsewhere=layout.red_seals > 0)
        findings = check_document(form, fields, context, file=name, unlocated=reading.unlocated)
    return ParsedDocument(**base, form=form.value, fields=fields, findings=findings)
