"""The parser version follows the form data and the parser code, so reprocess can find older readings."""

from __future__ import annotations

import re

import pytest

from zhengji.parsers import version


def test_the_version_fits_its_column_and_names_the_package() -> None:
    value = version.parser_version()
    assert re.fullmatch(r"\d+\.\d+\.\d+\+[0-9a-f]{12}", value)
    assert len(value) <= 32


def test_new_form_data_gives_a_new_version(monkeypatch: pytest.MonkeyPatch) -> None:
    before = version.parser_version()
    version.parser_version.cache_clear()
    monkeypatch.setattr(version, "forms_digest", lambda: "a new accepted wording")
    try:
        assert version.parser_version() != before
    finally:
        monkeypatch.undo()
        version.parser_version.cache_clear()
    assert version.parser_version() == before
