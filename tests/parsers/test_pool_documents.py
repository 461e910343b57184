"""Documents through the pool, as the service parses them: one worker reads many, a bad one costs its worker only."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.fixtures.forms.proposal_docx import build_proposal_docx, sample_proposal
from tests.parsers.readers.office_files import form_doc
from tests.parsers.test_archives import std_zip
from tests.parsers.test_pool import gone
from zhengji.parsers import document as document_module
from zhengji.parsers.document import ParseOptions, parse_attachment, parse_document
from zhengji.parsers.isolation import Limits, WorkerPool
from zhengji.parsers.model import ParsedDocument

AT = datetime(2025, 6, 21, 2, 0, tzinfo=UTC)
PROPOSAL = "new_occupation_proposal"


@pytest.fixture(scope="module")
def proposal() -> bytes:
    return build_proposal_docx(sample_proposal())


@pytest.fixture
def pool() -> Iterator[WorkerPool]:
    with WorkerPool(method="fork", size=1) as own:
        yield own


def unreadable_message(document: ParsedDocument) -> str:
    [finding] = document.findings
    assert (finding.code, finding.severity) == ("unreadable", "error")
    return finding.message


def test_one_worker_reads_document_after_document(proposal: bytes, pool: WorkerPool) -> None:
    options = ParseOptions(at=AT, pool=pool)
    [first] = parse_attachment("建议书.docx", proposal, options)
    [worker] = pool.pids()
    [second] = parse_attachment("建议书（修改）.docx", proposal, options)
    members = parse_attachment("材料.zip", std_zip({"1.docx": proposal, "2.docx": proposal}), options)
    assert [doc.form for doc in (first, second, *members)] == [PROPOSAL] * 4
    assert pool.pids() == [worker], "the same worker served every document"
    assert worker != os.getpid()


def soffice_running_under(folder: Path) -> list[int]:
    """LibreOffice processes whose command line names ``folder`` (their profile lives there)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                command = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if str(folder).encode() in command and b"soffice" in command and not gone(int(entry), 0.01):
                found.append(int(entry))
    return found


def test_a_document_past_its_time_costs_its_worker_and_the_next_still_parses(
    proposal: bytes, pool: WorkerPool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A legacy .doc goes through LibreOffice, which needs about a second to start: with half a second a
    document it is stopped, LibreOffice with it (it runs in a session of its own, and once outlived its
    worker), and the next document is read by a new worker."""
    slow = form_doc()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # LibreOffice's profile, to find it afterwards
    worker = pool.call(os.getpid)
    [stopped] = parse_attachment("慢.doc", slow, ParseOptions(at=AT, limits=Limits(seconds=0.5), pool=pool))
    assert "无法在规定时间内读取" in unreadable_message(stopped)
    assert stopped.format == "doc" and stopped.size == len(slow)
    assert gone(worker), "the worker that ran out of time was killed"
    deadline = time.monotonic() + 10
    while soffice_running_under(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert soffice_running_under(tmp_path) == [], "LibreOffice outlived the worker it belonged to"
    [document] = parse_attachment("建议书.docx", proposal, ParseOptions(at=AT, pool=pool))
    assert document.form == PROPOSAL
    assert worker not in pool.pids()


def huge_when_named_huge(name: str, data: bytes, fmt: str, at: datetime) -> ParsedDocument:
    """A reader that a file makes allocate without end, as a decompression bomb inside a document would."""
    if "巨大" in name:
        return ParsedDocument(file=name, format=fmt, form=str(len(bytearray(8 * 1024**3))))
    return REAL_PARSE(name, data, fmt, at)


REAL_PARSE = document_module._parse_in_worker


def test_a_document_past_its_memory_costs_its_worker_and_the_next_still_parses(
    proposal: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Workers forked after this line inherit the greedy reader.
    monkeypatch.setattr(document_module, "_parse_in_worker", huge_when_named_huge)
    with WorkerPool(method="fork", size=1) as pool:
        options = ParseOptions(at=AT, limits=Limits(memory_bytes=1024**3), pool=pool)
        worker = pool.call(os.getpid, limits=options.limits)
        archive = std_zip({"巨大.docx": proposal, "建议书.docx": proposal})
        huge, normal = parse_attachment("材料.zip", archive, options)
        assert huge.file == "材料.zip › 巨大.docx"
        assert "过大" in unreadable_message(huge)
        assert normal.form == PROPOSAL, "the member after the one that failed is read by a new worker"
        assert gone(worker)
        assert worker not in pool.pids()


def test_a_worker_that_crashes_costs_one_member(proposal: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash_on_second(name: str, data: bytes, fmt: str, at: datetime) -> ParsedDocument:
        if name.endswith("2.docx"):
            os._exit(3)
        return REAL_PARSE(name, data, fmt, at)

    monkeypatch.setattr(document_module, "_parse_in_worker", crash_on_second)
    with WorkerPool(method="fork", size=1) as pool:
        archive = std_zip({f"{n}.docx": proposal for n in range(1, 4)})
        documents = parse_attachment("材料.zip", archive, ParseOptions(at=AT, pool=pool))
    assert [doc.form for doc in documents] == [PROPOSAL, "unknown", PROPOSAL]
    assert "可能已损坏" in unreadable_message(documents[1])


def test_parse_document_reads_a_file_of_a_known_format_in_a_worker(proposal: bytes, pool: WorkerPool) -> None:
    document = parse_document("建议书.docx", proposal, "docx", ParseOptions(at=AT, pool=pool))
    assert document.form == PROPOSAL
    assert document.size == len(proposal)
    assert len(pool.pids()) == 1 and os.getpid() not in pool.pids()
