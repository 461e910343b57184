"""The pure validators: phones, e-mails, dates, lengths, 大典 codes."""

from __future__ import annotations

from datetime import date

import pytest

from zhengji.parsers.checks import codes, dates, emails, lengths, phones


@pytest.mark.parametrize(
    "number",
    [
        "13812345678",
        "+86 138 1234 5678",
        "86-13812345678",
        "138-1234-5678",
        "021-64281234",
        "021 6428 1234",
        "(021)64281234",
        "（０２１）６４２８１２３４",
        "0755-86001234",
        "010-6512345",
        "021-64281234转801",
        "021-64281234-801",
        "021-64281234 ext. 12",
        "+86-21-64281234",
        "400-820-0000",
        "4008200000",
        "800-810-8888",
        "手机：13812345678",
        "021-64281234（办）",
        "020－83305821",
    ],
)
def test_valid_phone_numbers(number: str) -> None:
    assert phones.is_phone(number)
    assert phones.invalid_numbers(number) == []


@pytest.mark.parametrize(
    "number",
    ["12345", "1381234567", "23812345678", "64281234", "021-1234567", "021-0428123", "400-820-000", "无", "wang@a.cn"],
)
def test_invalid_phone_numbers(number: str) -> None:
    assert not phones.is_phone(number)
    assert phones.invalid_numbers(number) == [number]


def test_several_numbers_in_one_cell_are_each_judged() -> None:
    assert phones.invalid_numbers("021-64281234、13812345678") == []
    assert phones.invalid_numbers("021-64281234；13812345678/4008200000") == []
    assert phones.invalid_numbers("13812345678 13987654321") == []
    assert phones.invalid_numbers("021-64281234，1381234") == ["1381234"]


@pytest.mark.parametrize(
    "address",
    ["wangmin@example.com", "wang.min+zj@mail.sh.gov.cn", "yanfa312@126.com", "邮箱：a_b@x-y.cn", "ａ＠ｂ．ｃｎ"],
)
def test_valid_email(address: str) -> None:
    assert emails.is_email(address)


@pytest.mark.parametrize("address", ["wangmin", "wang@", "@126.com", "wang@126", "wang..min@126.com", "王敏@126.com"])
def test_invalid_email(address: str) -> None:
    assert not emails.is_email(address)


def test_several_email_addresses() -> None:
    assert emails.invalid_addresses("a@b.cn；c@d.com") == []
    assert emails.invalid_addresses("a@b.cn、c@d") == ["c@d"]


@pytest.mark.parametrize(
    "text",
    [
        "2025-03-20",
        "2025/3/20",
        "2025.3.20",
        "2025年3月20日",
        "2025 年 3 月 20 日",
        "2025年03月20号",
        "二〇二五年三月二十日",
        "二零二五年三月二十日",
        "20250320",
        "２０２５年３月２０日",
    ],
)
def test_dates_people_write(text: str) -> None:
    assert dates.parse_date(text) == date(2025, 3, 20)


def test_chinese_numeral_days() -> None:
    assert dates.parse_date("二〇二四年十二月三十一日") == date(2024, 12, 31)
    assert dates.parse_date("二〇二六年十月十日") == date(2026, 10, 10)
    assert dates.parse_date("二〇二五年六月九日") == date(2025, 6, 9)


@pytest.mark.parametrize("text", ["2025-02-30", "2025年13月1日", "2025年3月", "三月二十日", "下周一", "25-3-20"])
def test_not_dates(text: str) -> None:
    assert dates.parse_date(text) is None


@pytest.mark.parametrize("text", ["", "年 月 日", "____年__月__日", "  年  月  日  ", None])
def test_blank_date_template(text: str | None) -> None:
    assert dates.is_blank_template(text)


def test_filled_date_is_no_template() -> None:
    assert not dates.is_blank_template("2025年 月 日")


def test_length_counts_every_visible_character() -> None:
    assert lengths.count_chars("新职业，AI 训练\n2025年") == 13
    assert lengths.count_chars("a\u200bb\u3000c") == 3
    assert lengths.count_chars(None) == 0


@pytest.mark.parametrize(
    "code", ["4-04-05-05", "4-04-05-Z1", "6-12-03-00", "４－０４－０５－０５", "4—04—05—05", "4–04–05–05", "4‐04‐05‐05"]
)
def test_occupation_codes(code: str) -> None:
    assert codes.is_occupation_code(code)


@pytest.mark.parametrize("code", ["4-4-5-5", "4-04-05", "9-04-05-05", "40405 05", "4.04.05.05", "4-04-05-5A"])
def test_bad_occupation_codes(code: str) -> None:
    assert not codes.is_occupation_code(code)


def test_domain_codes() -> None:
    assert codes.is_domain_code("4-04-05")
    assert codes.is_domain_code("４－０４－０５")
    assert not codes.is_domain_code("4-04-05-05")
    assert not codes.is_domain_code("4-4-5")
