"""count_red_seals on PDFs exported from Word pages carrying a seal picture, and on look-alikes that are not."""

from __future__ import annotations

import pytest

from tests.parsers.readers import office_files
from zhengji.parsers.readers.seal import count_red_seals


def test_count_red_seals_finds_the_round_red_seal() -> None:
    assert count_red_seals(office_files.pdfs()["seal"]) == 1


def test_count_red_seals_finds_the_seal_on_a_scan() -> None:
    assert count_red_seals(office_files.scanned_pdf(office_files.pdfs()["seal"])) == 1


@pytest.mark.parametrize("name", ["red_rectangle", "red_underline", "black_circle", "form"])
def test_count_red_seals_ignores_what_is_not_a_red_round_seal(name: str) -> None:
    assert count_red_seals(office_files.pdfs()[name]) == 0


def test_count_red_seals_reads_only_max_pages() -> None:
    seal = office_files.pdfs()["seal"]
    assert count_red_seals(seal, max_pages=0) == 0


def test_count_red_seals_of_a_broken_file_is_zero() -> None:
    assert count_red_seals(b"%PDF-1.4 broken") == 0
