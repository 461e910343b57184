"""Text helpers every form extractor shares: labels compared as a clerk reads them, and tick boxes.

Applicants retype forms: labels gain full-width spaces, footnote marks (¹ ② ^③), colons and line breaks; the
extractors compare normalised labels so that "新职业名称 ²" and "新 职 业 名 称：" are the same label.
"""

from __future__ import annotations

import re
import unicodedata

from zhengji.parsers.model import CHECKED, UNCHECKED

_FOOTNOTES = re.compile(r"[¹²³⁴⁵⁶⁷⁸⁹⁰①-⑳㉑-㉟®^]|\^\S|\[\d+\]")
_PUNCT = str.maketrans({"：": "", ":": "", "*": "", "＊": "", "“": "", "”": "", '"': ""})
# Marks people put in a box or bracket to tick it.
TICK_MARKS = frozenset({"√", "✓", "✔", "☑", "☒", "■", "▇", "●", "◉", "✗", "✘", "x", "X", "×", "v", "V", CHECKED})
EMPTY_MARKS = frozenset({"☐", "□", "○", "◯", UNCHECKED})


def fold(text: str | None) -> str:
    """NFKC, no whitespace at all: the form in which two spellings of one label compare equal."""
    if not text:
        return ""
    return "".join(unicodedata.normalize("NFKC", text).split())


def label_key(text: str | None) -> str:
    """A label as compared: folded, footnote marks and colons removed, brackets half-width."""
    return fold(_FOOTNOTES.sub("", text or "")).translate(_PUNCT)


def clean_value(text: str | None) -> str | None:
    """A field's value: trimmed, inner whitespace kept, ``None`` when blank (the contract)."""
    if text is None:
        return None
    value = text.strip().strip("\u3000").strip()
    return value or None


def label_matches(text: str | None, *labels: str) -> bool:
    """True when ``text`` is one of ``labels`` (or starts with one, for cells such as "新职业产生背景（400字以内）")."""
    key = label_key(text)
    return bool(key) and any(key == label_key(label) or key.startswith(label_key(label)) for label in labels)


def after_label(text: str, *labels: str) -> str | None:
    """The value typed after a label in the same cell or line: "联系人：张三" → "张三"."""
    folded_text = unicodedata.normalize("NFKC", text)
    for label in labels:
        pattern = r"\s*".join(re.escape(char) for char in unicodedata.normalize("NFKC", label) if not char.isspace())
        match = re.search(pattern + r"[\s¹²³⁴⁵⁶⁷⁸⁹⁰①-⑳]*[:：]?", folded_text)
        if match:
            return clean_value(folded_text[match.end() :])
    return None


_MARKS = "√✓✔☑☒■▇●◉✗✘xX×vV" + CHECKED
_BOX = re.compile(r"[(（\[【]\s*([" + _MARKS + r"]?)\s*[)）\]】]|([☐□○◯☑☒■" + CHECKED + UNCHECKED + r"])")


def ticked_options(text: str) -> tuple[list[str], list[str]]:
    """Split a tick-box line into (ticked, unticked) option labels.

    A box is a bracket holding nothing or one tick mark ("(√)", "（ ）") or a box glyph ("☑", "☐", "■"); its
    label runs to the next box. A bracket holding words ("调整变更职业(工种)信息") is part of a label. A mark
    written after a label with no box at all ("新职业√") is left to the caller.
    """
    boxes = list(_BOX.finditer(text))
    ticked: list[str] = []
    unticked: list[str] = []
    for index, box in enumerate(boxes):
        end = boxes[index + 1].start() if index + 1 < len(boxes) else len(text)
        label = label_key(text[box.end() : end])
        if not label:
            continue
        mark = box.group(1) if box.group(1) is not None else box.group(2)
        is_ticked = bool(mark) and mark not in EMPTY_MARKS
        (ticked if is_ticked else unticked).append(label)
    return ticked, unticked
