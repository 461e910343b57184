"""A mail's parsing budget: past so many documents or seconds, the files left are reported as not read.

A mail of a zip of 500 legacy files once took a quarter of an hour, longer than the claim on it, and was never
answered. Now the mail is answered, and each file it could not read in its budget is named in the reply.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.fixtures.forms.proposal_docx import build_proposal_docx, sample_proposal
from tests.parsers.test_archives import std_zip
from tests.parsers.test_pool import gone
from zhengji.mailbox.compose import compose_reply
from zhengji.parsers import document as document_module
from zhengji.parsers.document import ParseOptions, not_read_message, parse_attachment, parse_attachments
from zhengji.parsers.isolation import WorkerPool
from zhengji.parsers.model import ParsedDocument
from zhengji.parsers.submission import Mail, judge
from zhengji.settings import SettingsError, load_settings

AT = datetime(2025, 6, 21, 2, 0, tzinfo=UTC)
PROPOSAL = "new_occupation_proposal"


@pytest.fixture(scope="module")
def proposal() -> bytes:
    return build_proposal_docx(sample_proposal())


@pytest.fixture
def pool() -> Iterator[WorkerPool]:
    with WorkerPool(method="fork", size=2) as own:
        yield own


def not_read(document: ParsedDocument) -> bool:
    return [(f.code, f.severity, f.message) for f in document.findings] == [
        ("unreadable", "error", not_read_message(document.file))
    ]


def test_the_message_says_why_and_what_to_do() -> None:
    message = not_read_message("材料.zip › 5.docx")
    assert "“材料.zip › 5.docx”未予读取" in message
    assert "所附材料较多" in message and "规定时间内" in message
    assert "另行单独发送" in message and "减少每封邮件所附文件数量" in message


def test_a_mail_within_its_budget_is_read_whole(proposal: bytes, pool: WorkerPool) -> None:
    archive = std_zip({f"{n}.docx": proposal for n in range(1, 4)})
    options = ParseOptions(at=AT, max_documents=3, pool=pool)
    documents = parse_attachments([("材料.zip", archive)], options)
    assert [document.form for document in documents] == [PROPOSAL] * 3


@pytest.mark.parametrize("isolate", [True, False])
def test_archive_members_past_the_document_budget_are_not_read(
    proposal: bytes, pool: WorkerPool, isolate: bool
) -> None:
    archive = std_zip({f"{n}.docx": proposal for n in range(1, 6)})
    options = ParseOptions(at=AT, max_documents=3, pool=pool, isolate=isolate)
    documents = parse_attachments([("材料.zip", archive)], options)
    assert [document.file for document in documents] == [f"材料.zip › {n}.docx" for n in range(1, 6)]
    assert [document.form for document in documents[:3]] == [PROPOSAL] * 3
    assert [not_read(document) for document in documents] == [False, False, False, True, True]
    assert all(document.sha256 and document.size == len(proposal) for document in documents)


def test_the_document_budget_is_shared_by_all_of_a_mails_attachments(proposal: bytes, pool: WorkerPool) -> None:
    files = [(f"{n}.docx", proposal) for n in range(1, 4)] + [("另附.zip", std_zip({"4.docx": proposal}))]
    documents = parse_attachments(files, ParseOptions(at=AT, max_documents=2, pool=pool))
    assert len(documents) == 4
    # Attachments are read side by side, so which two are read depends on timing; how many does not.
    assert sorted(not_read(document) for document in documents) == [False, False, True, True]
    assert sum(document.form == PROPOSAL for document in documents) == 2


def test_extra_material_and_refused_members_cost_no_document(proposal: bytes, pool: WorkerPool) -> None:
    archive = std_zip({"说明.txt": "请查收".encode(), "1.docx": proposal, "2.docx": proposal})
    documents = parse_attachments([("材料.zip", archive)], ParseOptions(at=AT, max_documents=1, pool=pool))
    by_file = {document.file: document for document in documents}
    assert by_file["材料.zip › 说明.txt"].findings[0].code == "unknown_form"
    assert by_file["材料.zip › 1.docx"].form == PROPOSAL
    assert not_read(by_file["材料.zip › 2.docx"])


def hang_on_slow_files(name: str, data: bytes, fmt: str, at: datetime) -> ParsedDocument:
    """A reader stuck on one file, with a helper in a session of its own, as LibreOffice is on a hostile one."""
    if "慢" in name:
        child = subprocess.Popen(["sleep", "600"], start_new_session=True)
        Path(os.environ["ZHENGJI_TEST_PIDFILE"]).write_text(str(child.pid))
        time.sleep(600)
    return REAL_PARSE(name, data, fmt, at)


REAL_PARSE = document_module._parse_in_worker


def test_out_of_time_the_file_in_progress_is_stopped_and_the_rest_are_not_read(
    proposal: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a second for the mail, the file being read when it runs out is stopped (with what its reader
    started) and the two forms after it are not read; the mail still gets a document for every file, so that
    it is answered."""
    pidfile = tmp_path / "helper.pid"
    monkeypatch.setenv("ZHENGJI_TEST_PIDFILE", str(pidfile))
    monkeypatch.setattr(document_module, "_parse_in_worker", hang_on_slow_files)  # inherited by forked workers
    archive = std_zip({"1慢.docx": proposal, "2.docx": proposal, "3.docx": proposal})
    with WorkerPool(method="fork", size=1) as pool:
        worker = pool.call(os.getpid)
        started = time.monotonic()
        documents = parse_attachments([("材料.zip", archive)], ParseOptions(at=AT, budget_seconds=1.0, pool=pool))
        assert time.monotonic() - started < 30  # generous: the budget and the kill, never the reader's ten minutes
        assert gone(worker), "the worker busy when the time ran out was killed"
    assert [document.file for document in documents] == [
        "材料.zip › 1慢.docx",
        "材料.zip › 2.docx",
        "材料.zip › 3.docx",
    ]
    assert all(not_read(document) for document in documents), documents
    assert gone(int(pidfile.read_text())), "what the reader started outlived the parse it belonged to"


def test_an_attachment_that_starts_after_the_time_ran_out_is_not_read(proposal: bytes, pool: WorkerPool) -> None:
    options = ParseOptions(at=AT, budget_seconds=1e-9, pool=pool)
    [document] = parse_attachment("建议书.docx", proposal, options)
    assert document.file == "建议书.docx"
    assert not_read(document)
    assert document.size == len(proposal)


def test_the_reply_names_each_file_not_read(proposal: bytes, pool: WorkerPool) -> None:
    archive = std_zip({"推荐表.docx": proposal, "补充.docx": proposal})
    mail = Mail(attachments=[("材料.zip", archive)], received=AT, to=["yanfa312@126.com"], sender="a@example.com")
    documents = parse_attachments(mail.attachments, ParseOptions(at=AT, max_documents=1, pool=pool))
    reply = compose_reply(judge(mail, documents), reference="ZJ-2025Q2-7K3M9P", today=AT.date())
    assert "补充.docx" in reply.body
    assert "未予读取" in reply.body and "另行单独发送" in reply.body


def test_the_budget_is_set_by_the_operator(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = ParseOptions.from_settings(load_settings(), AT)
    assert (defaults.budget_seconds, defaults.max_documents) == (180.0, 100)
    monkeypatch.setenv("ZHENGJI_PARSE_BUDGET_SECONDS", "45")
    monkeypatch.setenv("ZHENGJI_PARSE_MAX_DOCUMENTS", "20")
    options = ParseOptions.from_settings(load_settings(), AT, method="forkserver")
    assert (options.budget_seconds, options.max_documents, options.method) == (45.0, 20, "forkserver")
    monkeypatch.setenv("ZHENGJI_PARSE_MAX_DOCUMENTS", "0")
    with pytest.raises(SettingsError, match="ZHENGJI_PARSE_MAX_DOCUMENTS"):
        load_settings()
