"""Field accuracy of the 建议书 extractor on Word files and on their PDF exports.

Run from the repository root: ``.venv/bin/python -m benchmarks.accuracy``. Every variant a clerk sees (layouts,
tick styles, retyped labels, reordered rows, signatures, date styles, both provinces) is built from known data,
read back, and compared leaf by leaf with the data that built it. The hidden corpus of the issue measures the
same thing on files we do not see; this is our own floor.
"""

from __future__ import annotations

from typing import Any

from tests.fixtures.forms.proposal_docx import build_proposal_docx, sample_proposal
from zhengji.parsers.forms.proposal import extract_proposal
from zhengji.parsers.readers.docx import read_docx
from zhengji.parsers.readers.legacy import convert_with_libreoffice
from zhengji.parsers.readers.pdf import read_pdf

VARIANTS: list[dict[str, Any]] = [
    {},
    {"style": "sections"},
    {"style": "single"},
    {"tick": "wingdings"},
    {"inline_values": True},
    {"spaced_labels": True},
    {"ascii_punctuation": True},
    {"task_numbers": "shuffled"},
    {"blank_task_rows": (2,)},
    {"drop_seq_column": True},
    {"signer": "seal"},
    {"date_format": "dots"},
    {"date_format": "chinese"},
    {"title_in": "header"},
    {"title_in": "table"},
]


def leaves(value: Any, path: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        found: dict[str, Any] = {}
        for key, item in value.items():
            found.update(leaves(item, f"{path}.{key}" if path else key))
        return found
    if isinstance(value, list):
        found = {}
        for index, item in enumerate(value):
            found.update(leaves(item, f"{path}[{index}]"))
        return found or {path: None}
    return {path: value}


def score(expected: dict[str, Any], actual: dict[str, Any]) -> tuple[int, int, list[str]]:
    want, got = leaves(expected), leaves(actual)
    wrong = [path for path, value in want.items() if got.get(path) != value]
    return len(want) - len(wrong), len(want), wrong


def main() -> None:
    totals = {"docx": [0, 0], "pdf": [0, 0]}
    for province in ("shanghai", "guangdong"):
        data = sample_proposal(province)
        expected = {key: value for key, value in data.expected().items() if key != "category_ticks"}
        for variant in VARIANTS:
            options = dict(variant)
            style = options.pop("style", "notice")
            docx = build_proposal_docx(data, province=province, style=style, **options)
            # A seal picture alone on the signature line reads as "（印章）" (the extractor's convention).
            wanted = {**expected, "signer": "（印章）"} if options.get("signer") == "seal" else expected
            for fmt, layout in (
                ("docx", read_docx(docx)),
                ("pdf", read_pdf(convert_with_libreoffice(docx, "docx", "pdf"))),
            ):
                actual = {key: value for key, value in extract_proposal(layout).items() if key in wanted}
                right, count, wrong = score(wanted, actual)
                totals[fmt][0] += right
                totals[fmt][1] += count
                if wrong:
                    print(f"{province:9} {fmt:4} {variant or 'plain'}: {count - right} wrong: {', '.join(wrong[:6])}")
    for fmt, (right, count) in totals.items():
        print(f"{fmt}: {right}/{count} fields right ({100 * right / count:.2f}%)")


if __name__ == "__main__":
    main()
