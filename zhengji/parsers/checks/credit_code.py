"""统一社会信用代码 (unified social credit code) as GB 32100-2015 defines it.

Source: GB 32100-2015《法人和其他组织统一社会信用代码编码规则》: 18 characters — 登记管理部门代码 (1), 机构类别代码
(1), 登记管理机关行政区划码 (6, GB/T 2260), 主体标识码 (9, the former 组织机构代码), 校验码 (1). The alphabet leaves
out I, O, S, V and Z; the check character is 31 − (Σ value × weight mod 31), 31 written as 0.
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

# Table 1 of the standard (登记管理部门) with the 机构类别 each department issues, including the later codes
# assigned by the national coding centre (司法行政 3x, 农业 Nx). A "9" type is "其他" under every department.
_TYPES_BY_AUTHORITY = {
    "1": "1239",  # 机构编制: 机关, 事业单位, 中央编办直接管理机构编制的群众团体, 其他
    "2": "19",  # 外交: 外国常驻新闻机构, 其他
    "3": "1234569",  # 司法行政: 律师事务所, 公证处, 基层法律服务所, 司法鉴定机构, 仲裁委员会, …
    "4": "19",  # 文化: 外国在华文化中心, 其他
    "5": "1239",  # 民政: 社会团体, 民办非企业单位, 基金会, 其他
    "6": "129",  # 旅游: 外国政府旅游部门常驻代表机构, 境外旅游经营者常驻代表机构, 其他
    "7": "129",  # 宗教: 宗教活动场所, 宗教院校, 其他
    "8": "19",  # 工会: 基层工会, 其他
    "9": "123",  # 工商: 企业, 个体工商户, 农民专业合作社
    "A": "19",  # 中央军委改革和编制办公室: 军队事业单位, 其他
    "N": "1239",  # 农业: 组级, 村级, 乡镇级集体经济组织, 其他
    "Y": "1",  # 其他
}
# GB/T 2260 province codes (the first two digits of the 行政区划码); "10" is the national level (100000).
_PROVINCES = frozenset(
    {"10", "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42"}
    | {"43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82"}
)


class Problem(StrEnum):
    """Why a code fails, so that the message can tell the applicant what to look at."""

    length = "length"
    character = "character"
    authority = "authority"
    region = "region"
    check_digit = "check_digit"


def normalise(text: str) -> str:
    """Applicants type codes with spaces, in lower case or with full-width characters; none of that is an error."""
    return "".join(unicodedata.normalize("NFKC", text).split()).upper()


def check_character(first17: str) -> str:
    """The 18th character the standard computes from the first 17."""
    total = sum(ALPHABET.index(char) * weight for char, weight in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def problem(text: str) -> Problem | None:
    """The first way ``text`` breaks GB 32100-2015, or ``None`` for a valid code."""
    code = normalise(text)
    if len(code) != 18:
        return Problem.length
    if any(char not in ALPHABET for char in code):
        return Problem.character
    if code[1] not in _TYPES_BY_AUTHORITY.get(code[0], ""):
        return Problem.authority
    if not code[2:8].isdigit() or code[2:4] not in _PROVINCES:
        return Problem.region
    if check_character(code[:17]) != code[17]:
        return Problem.check_digit
    return None


def is_valid(text: str) -> bool:
    """True for a code that passes every test of GB 32100-2015 this module knows."""
    return problem(text) is None
