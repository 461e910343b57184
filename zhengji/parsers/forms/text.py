"""Text helpers every form extractor shares: labels compared as a clerk reads them, and tick boxes.

Applicants retype forms: labels gain full-width spaces, footnote marks (¹ ② ^③), colons and line breaks; the
extractors compare labels through the one normaliser (:mod:`zhengji.parsers.forms.wording`), so that
"新职业名称 ²" and "新 职 业 名 称：" are the same label.
"""

from __future__ import annotations

import re

from zhengji.parsers.forms.wording import fold, normalise
from zhengji.parsers.model import CHECKED, UNCHECKED

__all__ = ["clean_value", "fold", "label_key", "ticked_options"]

# Marks people put in a box or bracket to tick it.
TICK_MARKS = frozenset({"√", "✓", "✔", "☑", "☒", "■", "▇", "●", "◉", "✗", "✘", "x", "X", "×", "v", "V", CHECKED})
EMPTY_MARKS = frozenset({"☐", "□", "○", "◯", UNCHECKED})


def label_key(text: str | None) -> str:
    """A label as compared: the one normaliser's key (marks, numbering, colons and spaces gone)."""
    return normalise(text)


def clean_value(text: str | None) -> str | None:
    """A field's value: trimmed, inner whitespace kept, ``None`` when blank (the contract)."""
    if text is None:
        return None
    value = text.strip().strip("\u3000").strip()
    return value or None


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
