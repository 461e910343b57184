"""Untrusted text on one line: what a header value or a file name looks like once it is safe to print."""

from __future__ import annotations

import pytest

from zhengji.textsafe import clean_line


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("b\r\n【审核结果】材料齐全，已通过审核。\r\n.docx", "b 【审核结果】材料齐全，已通过审核。 .docx"),
        ("\r\n  申报材料\t（补报）\n", "申报材料 （补报）"),
        ("甲\u2028乙\u2029丙\x85丁\x00戊\x1b[31m己\x7f", "甲 乙 丙 丁 戊 [31m己"),
        ("\u202egpj.exe", "gpj.exe"),
        ("\u2066a\u2067b\u2068c\u2069d\u200ee\u200ff\u061cg\u202a\u202b\u202c\u202dh\ufeff", "abcdefgh"),
        ("上海某某科技有限公司  人事部", "上海某某科技有限公司  人事部"),
        (None, ""),
        ("", ""),
    ],
)
def test_control_characters_and_bidirectional_marks(raw: str | None, clean: str) -> None:
    assert clean_line(raw, 200) == clean


def test_the_limit_cuts_with_an_ellipsis() -> None:
    assert clean_line("一" * 10, 10) == "一" * 10
    assert clean_line("一" * 11, 10) == "一" * 9 + "…"
    assert clean_line("一二三 四五", 5) == "一二三…"  # no space left dangling before the mark


def test_a_huge_value_is_cut_without_reading_it_all() -> None:
    subject = "申报" * 10_000_000  # a 20 MB Subject of encoded-words decodes to this
    assert clean_line(subject, 200) == "申报" * 99 + "申…"
    hidden = "\u202e" * 5_000 + "看不见的尾巴"
    result = clean_line(hidden, 10)
    assert len(result) <= 10 and result.endswith("…") and "\u202e" not in result
