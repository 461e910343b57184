"""The forkserver's warm-up: its two small documents must go the whole way through the parsers, or it warms little."""

from __future__ import annotations

import logging
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
