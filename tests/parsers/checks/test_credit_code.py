"""GB 32100-2015 统一社会信用代码 on codes published by real organisations."""

from __future__ import annotations

import pytest

from zhengji.parsers.checks.credit_code import Problem, check_character, is_valid, problem

# Published codes (business licences, GLEIF "registeredAs"): 华为技术有限公司, 深圳市腾讯计算机系统有限公司,
# 中国石油天然气股份有限公司, 小米科技有限责任公司, 阿里巴巴（中国）有限公司.
REAL_CODES = [
    "914403001922038216",
    "91440300708461136T",
    "91110000710925462X",
    "91110108551385082Q",
    "91330100716105852F",
]


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_code_is_valid(code: str) -> None:
    assert is_valid(code)


def test_check_character_of_huawei_worked_by_hand() -> None:
    # 9·1 + 1·3 + 4·9 + 4·27 + 0·19 + 3·26 + 0·16 + 0·17 + 1·20 + 9·29 + 2·25 + 2·13 + 0·8 + 3·24 + 8·10 + 2·30
    # + 1·28 = 831; 831 mod 31 = 25; 31 − 25 = 6.
    assert check_character("91440300192203821") == "6"


def test_code_with_one_character_changed_fails_on_check_digit() -> None:
    assert problem("914403001922038217") is Problem.check_digit
    assert problem("914403001922038126") is Problem.check_digit  # two digits swapped


def test_spaces_lower_case_and_full_width_are_tolerated() -> None:
    assert is_valid("91440300708461136t")
    assert is_valid("9144 0300 1922 0382 16")
    assert is_valid("９１１１００００７１０９２５４６２Ｘ")


def test_notice_sample_placeholder_fails() -> None:
    # The 140号 附件1 sample row "111111111111111111": Σ weights = 305, 305 mod 31 = 26, so the check digit is 5.
    assert check_character("11111111111111111") == "5"
    assert problem("111111111111111111") is Problem.check_digit


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("91440300192203821", Problem.length),
        ("9144030019220382166", Problem.length),
        ("91440300192203821I", Problem.character),
        ("O14403001922038216", Problem.character),
        ("B14403001922038216", Problem.authority),
        ("94440300192203821Z", Problem.character),
        ("97440300192203821A", Problem.authority),
        ("91990300192203821A", Problem.region),
    ],
)
def test_malformed_codes_say_why(code: str, expected: Problem) -> None:
    assert problem(code) is expected
