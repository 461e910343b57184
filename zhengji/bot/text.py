"""A question as the bot reads it: one spelling of every character, whatever the applicant typed.

Applicants type on phones and office PCs in Shanghai, Guangdong, Hong Kong and Taiwan: full-width and
half-width digits and brackets, traditional and simplified characters mixed in one line, regional words
(人工智慧 for 人工智能). Every rule of the bot is written once, in simplified Chinese with half-width ASCII, and
every question is brought to that spelling first (OpenCC's ``t2s`` tables, shipped inside its wheel).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

import opencc

MAX_QUESTION = 500
"""How much of one message the bot reads (characters); a question is a sentence, not a document."""

# Regional words OpenCC's character tables leave as they are; phrase tables (tw2sp) would also turn 资料
# (materials) into 数据 (data), which changes what an applicant asks.
_REGIONAL = {
    "人工智慧": "人工智能",
    "资讯": "信息",
    "软体": "软件",
    "网路": "网络",
    "数位": "数字",
    "随身碟": "U盘",
    "电邮": "邮箱",
    "电子邮件": "邮箱",
    "e-mail": "邮箱",
    "email": "邮箱",
}
_SPACES = re.compile(r"\s+")
_DASHES = str.maketrans({"—": "-", "–": "-", "‐": "-", "‑": "-", "‒": "-", "―": "-", "－": "-", "~": "-"})


@cache
def _converter() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def normalize(text: str) -> str:
    """The question in the bot's spelling: NFKC (full-width ASCII to half-width, （）to ()), simplified
    characters, lower-case Latin letters, one space for any run of white space, control characters dropped."""
    text = text[:MAX_QUESTION]
    text = "".join(char for char in text if unicodedata.category(char)[0] != "C" or char in "\t\n")
    text = unicodedata.normalize("NFKC", text).translate(_DASHES)
    text = _converter().convert(text).lower()
    for regional, mainland in _REGIONAL.items():
        if regional in text:
            text = text.replace(regional, mainland)
    return _SPACES.sub(" ", text).strip()


def fold(text: str) -> str:
    """A name compared as a clerk would: normalized, with no spaces at all."""
    return normalize(text).replace(" ", "")


def has_han(text: str) -> bool:
    return any("\u4e00" <= char <= "\u9fff" for char in text)
