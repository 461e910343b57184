"""Text set superscript in the file, written as Unicode superscript characters.

Applicants retype the forms and add footnote marks after the labels ("新职业名称¹"), typed as ordinary digits
formatted superscript. Read as plain text the mark runs into the label ("新职业名称1") and can no longer be told
from it; as "¹" it stays a mark the form modules can strip, and a value keeps its meaning ("m²"). The Word and the
PDF readers share this table so that a form and its PDF export read the same.

Only characters that have a superscript form are changed: digits (half- and full-width, as a Chinese input method
types them), the signs + − = ( ), and the letters n and i. Circled numbers (③) are marks already, and anything
else stays as typed.
"""

from __future__ import annotations

__all__ = ["to_superscript"]

_DIGITS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
_SIGNS = {"+": "⁺", "-": "⁻", "−": "⁻", "=": "⁼", "(": "⁽", ")": "⁾", "n": "ⁿ", "i": "ⁱ"}

_TABLE = str.maketrans(
    {
        **{str(digit): _DIGITS[digit] for digit in range(10)},
        **{chr(ord("０") + digit): _DIGITS[digit] for digit in range(10)},
        **_SIGNS,
        **{chr(ord(sign) + 0xFEE0): mark for sign, mark in _SIGNS.items() if sign in "+-=()ni"},
    }
)


def to_superscript(text: str) -> str:
    """``text`` with every character that has a Unicode superscript form replaced by that form."""
    return text.translate(_TABLE)
