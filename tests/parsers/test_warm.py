"""The forkserver's warm-up: its two small documents must go the whole way through the parsers, or it warms little."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime

import pytest

from zhengji.parsers import warm
from zhengji.parsers.document import ParseOptions, parse_attachment

OPTIONS = ParseOptions(at=datetime(2025, 6, 21, tzinfo=UTC), isolate=False)


def test_the_sample_word_form_is_read_as_a_proposal() -> None:
    [document] = parse_attachment("建议书.docx", warm._sample_docx(), OPTIONS)
    assert (document.format, document.form) == ("docx", "new_occupation_proposal")


def test_the_sample_pdf_has_a_text_layer_and_a_ruled_box() -> None:
    import io

    import pdfplumber

    data = warm._sample_pdf()
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        [page] = pdf.pages
        assert page.extract_text() == "Proposal 2025"
        assert len(page.rects) == 1
    [document] = parse_attachment("建议书.pdf", data, OPTIONS)
    assert document.format == "pdf"
    assert [finding.code for finding in document.findings] == ["unknown_form"]  # read, just not one of the forms


def test_warming_reports_no_failure(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="zhengji.parsers.warm"):
        warm.warm()
    assert caplog.records == []


def test_a_failure_while_warming_is_logged_never_raised(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The forkserver imports the module that warms it; an exception there would kill it and every later parse."""

    def broken(package_name: str) -> None:
        raise RuntimeError("a data file that does not load")

    monkeypatch.setattr(warm, "_import_all", broken)
    with caplog.at_level(logging.WARNING, logger="zhengji.parsers.warm"):
        warm.warm()
    assert "could not load the parsers ahead of the first mail" in caplog.text


def parser_modules_loaded() -> list[str]:
    import sys

    wanted = ("zhengji.parsers.readers.pdf", "zhengji.parsers.readers.xlsx", "zhengji.parsers.forms", "pdfplumber")
    return [name for name in wanted if name in sys.modules]


def test_the_service_workers_are_forked_warm_from_the_forkserver() -> None:
    """What ``zhengji serve`` does: its workers come from the forkserver that loaded and warmed the parsers, so
    that a worker's first document costs what its hundredth does."""
    from pathlib import Path

    from zhengji.parsers.isolation import WorkerPool, start_forkserver

    start_forkserver()
    with WorkerPool(method="forkserver", size=1) as pool:
        assert len(pool.call(parser_modules_loaded)) == 4, "the worker had to load the parsers itself"
        [worker] = pool.pids()
        parent = int(Path(f"/proc/{worker}/stat").read_text().rsplit(")", 1)[1].split()[1])
        assert parent != os.getpid(), "forked from the forkserver, not from this threaded process"
        options = ParseOptions(at=datetime(2025, 6, 21, tzinfo=UTC), pool=pool)
        [document] = parse_attachment("建议书.docx", warm._sample_docx(), options)
        assert (document.format, document.form) == ("docx", "new_occupation_proposal")
        assert pool.pids() == [worker]
