"""The one label normaliser: a label as a clerk reads it, whatever marks and spacing the applicant typed.

People retype the notices' forms. The footnote mark after 新职业名称 comes back as a superscript-formatted "2"
(the readers turn it into "²"), a Unicode "²", "^2", "②", "(2)", "[2]", "注2", or a plain "2" glued to the
label; labels gain "（必填）", "*", "※", full-width letters, spaces between characters and trailing colons; section
headings keep or lose their numerals ("七、", "7.", "（七）", "第七部分"). Every part of zhengji that compares a
label (classification, extraction, the check that a label is present) folds it through :func:`normalise`, so
that all of them agree on what counts as the same label.

Marks are removed *before* NFKC, because NFKC turns "²" and "②" into a plain "2" that could no longer be told
from a digit that belongs to the text.
"""

from __future__ import annotations

import re
import unicodedata

SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱ"
# Circled, parenthesised and dingbat numbers: ①–⑳ ㉑–㉟ ㊱–㊿ ⑴–⒇ ⒈–⒛ ⓪ ⓫–⓿ ❶–➓.
_NUMBER_SIGNS = "\u2460-\u249b\u24ea-\u24ff\u2776-\u2793\u3251-\u325f\u32b1-\u32bf"
_OPEN = "(（\\[［【〔〖"
_CLOSE = ")）\\]］】〕〗"
# What people put after a label to say "fill this in" (or "you may leave this").
_MARKERS = "必填|必填项|选填|选填项|必选|可选|非必填|可不填|如有|若有|如无可不填"

# A footnote mark or a fill-in marker anywhere in a label.
MARK = re.compile(
    rf"[{SUPERSCRIPTS}{_NUMBER_SIGNS}]+"
    r"|\^\s*\{?\s*\d{1,2}\s*\}?"
    rf"|[{_OPEN}]\s*(?:注\s*)?\d{{1,2}}\s*[{_CLOSE}]"
    rf"|[{_OPEN}]\s*(?:{_MARKERS})\s*[{_CLOSE}]"
    r"|注\s*\d{1,2}(?!\d)"
    r"|[*＊※★☆]"
)
# Marks as they may stand between a label and the colon or value that follows it.
MARKS_BETWEEN = rf"(?:\s|{MARK.pattern})*"

# "七、" "7." "（七）" "(7)" "第七部分" "第七项" "7、" at the start of a heading, after NFKC and without spaces.
_NUMERALS = "一二三四五六七八九十"
_NUMBERING = re.compile(
    rf"^(?:第[{_NUMERALS}\d]+(?:部分|项|节)[:.、]?"
    rf"|[{_NUMERALS}]{{1,3}}[、.,．]"
    rf"|\(([{_NUMERALS}]{{1,3}}|\d{{1,2}})\)[、.]?"
    r"|\d{1,2}(?:[、．]|\.(?!\d)))"
)
# A limit at the end of a label: a short bracketed note that counts characters, however it is worded ("(400字以内)",
# "(限400字)", "(≤400字)", "(字数400以内)", "(400字以内,可另附页)"): a number and 字 inside one bracket.
_LIMIT = re.compile(r"\((?=[^()]*\d)(?=[^()]*字)[^()]{1,24}\)$")
# An English gloss in brackets after a Chinese label, as bilingual forms print it ("电话（Tel）", "国家或地区
# （Country/Region）", "序号（No.）"): it names the same label and never changes it.
_GLOSS = re.compile(r"(?<=[\u4e00-\u9fff)])\([A-Za-z][A-Za-z0-9./&'\-]*\)")
# The same gloss as typed, at the start of what follows a label or heading ("（Definition）\n运用…").
GLOSS_PREFIX = re.compile(r"^\s*[(（]\s*[A-Za-z][A-Za-z0-9 ./&'\-]*[)）][ \t]*\n?")
_BRACKETS = str.maketrans({"【": "(", "〔": "(", "［": "(", "〖": "(", "】": ")", "〕": ")", "］": ")", "〗": ")"})
_DROP = str.maketrans(dict.fromkeys(":：\"“”「」『』《》'‘’", ""))
_EMPTY_BRACKETS = re.compile(r"\(\)|\[\]")
_GLUED_DIGITS = re.compile(r"(?<=[\u4e00-\u9fff)])\d{1,2}$")


def fold(text: str | None) -> str:
    """NFKC without any whitespace: two spellings of one text compare equal."""
    if not text:
        return ""
    return "".join(unicodedata.normalize("NFKC", text).split())


def strip_marks(text: str) -> str:
    """``text`` without footnote marks and fill-in markers (values keep theirs: only labels are folded)."""
    return MARK.sub("", text)


def normalise(text: str | None) -> str:
    """A label as compared: marks, numbering, limits, colons, quotes and spaces gone; brackets half-width.

    "七、有关法律法规情况⁷：" → "有关法律法规情况"; "新职业名称（必填）" → "新职业名称";
    "新职业产生背景（400 字以内）" → "新职业产生背景"; "职业（工种）名称" → "职业(工种)名称"; "电话（Tel）" → "电话".
    A digit glued to the end is kept here (it may be part of a value); :func:`without_glued_digits` drops it
    where the caller knows the rest is a label.
    """
    if not text:
        return ""
    key = fold(strip_marks(text)).translate(_BRACKETS).translate(_DROP)
    key = _EMPTY_BRACKETS.sub("", key)
    key = _NUMBERING.sub("", key)
    return _LIMIT.sub("", _GLOSS.sub("", key))


def without_glued_digits(key: str) -> str | None:
    """A normalised key with a footnote number typed as a plain digit after it removed ("所属行业5" → "所属行业")."""
    stripped = _GLUED_DIGITS.sub("", key)
    return stripped if stripped != key else None


def is_heading_numbered(text: str) -> bool:
    """True when ``text`` starts like a section heading of the forms ("七、", "（七）", "第七部分")."""
    folded = fold(text).translate(_BRACKETS)
    return bool(re.match(rf"^(?:第[{_NUMERALS}]+部分|[{_NUMERALS}]{{1,3}}、|\([{_NUMERALS}]{{1,3}}\))", folded))


# What may follow a label inside its own cell and still be the label: a second name after a slash ("/别称",
# "／又称"), or a short bracketed gloss ("（外文）", "（简称）"). Words only: a digit, a sentence mark or an address
# sign makes it a value.
_FRAGMENT = re.compile(r"[/／|｜][^\d/／|｜:：,，;；。@]{1,8}|[(（][^\d()（）:：,，;；。@]{1,10}[)）]")


def is_label_fragment(text: str | None) -> bool:
    """Whether the text after a label is a piece of the label itself, never a value the applicant typed.

    Applicants join two wordings of one label ("备选名称/别称") or gloss it ("同类职业名称（外文）"): what follows
    the part zhengji knows is then no answer, and reading it as one would put the label's own words into the
    field (precision before recall: the value stays where the form keeps it, beside or under the label).
    """
    stripped = (text or "").strip()
    return bool(stripped) and _FRAGMENT.fullmatch(stripped) is not None
