"""`make bench`: how well zhengji reads the forms as applicants retype, reword and mark them (issue 9).

Run from the repository root: ``.venv/bin/python -m benchmarks.mutations [--pdf] [--doc] [--limit N]
[--wordings holdout|third|fourth|fifth] [--no-twins]``.
The corpus (``tests/fixtures/mutations``) is every form of the contract, correctly and
completely filled, in each mutation class, with wordings from ``wordings.toml`` and never from zhengji's own label
tables. ``--wordings holdout`` takes them from ``wordings_holdout.toml``, a list written after the developers had
studied the failures of the first: its ``reworded`` row is the held-out figure (the other classes are the same
typing habits in both lists); ``--wordings third`` from ``wordings_third.toml``, written after the reader was
rebuilt for issue 17 and never shown to it; ``--wordings fourth`` from ``wordings_fourth.toml``, written blind to
the reader (nothing of its label tables read, no misread field looked at) once the third had been seen;
``--wordings fifth`` from ``wordings_fifth.toml``, written the same way once the fourth had been seen. Each
document goes through the public entry ``parse_document`` as Word, and with ``--pdf`` / ``--doc`` as its
LibreOffice PDF export and .doc copy (converted in one LibreOffice call per format, cached by content hash).
For each class and format the table gives the fields read right, and the documents that got at least one
``error`` finding although they are correct (each such finding is a wrong demand sent to an applicant).

The ``twins`` row (``tests/fixtures/mutations/twins.py``; ``--no-twins`` leaves it out) is measured per
submission: each form as Word and as a PDF export with the whitespace real exports carry (wrapped e-mail
addresses and numbers, letter-spaced digits, codes broken at a hyphen), judged together through the entry point
of ``zhengji check`` (``parse_attachments`` and ``judge``). Its columns give the fields of the Word and of the PDF
copy as that submission reads them, and the pairs that got an error finding: every error of the pair's
documents, and every error of the submission that the Word copy sent alone does not get as well (those are
about the track's other documents: 汇总表 rows without their 建议书, the 社评组织's other materials).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fixtures.mutations.compare import Score, score
from tests.fixtures.mutations.convert import convert_all
from tests.fixtures.mutations.corpus import CLASSES, Case, cases, wording_cases, wording_variants
from tests.fixtures.mutations.pen import WORDING_LISTS, WORDINGS_ENV, unseen_faults
from tests.fixtures.mutations.twins import Twin, pdf_artefacts, twins
from zhengji.parsers.document import ParseOptions, parse_attachments, parse_document
from zhengji.parsers.submission import Mail
from zhengji.parsers.submission import judge as judge_submission

DEFAULT_CACHE = Path("/tmp/zhengji-bench-mutations")
FORMAT_NAMES = {"docx": "Word", "pdf": "PDF", "doc": ".doc"}


@dataclass
class Cell:
    """One class in one format: fields, documents, and the error findings on correct documents."""

    fields: Score = field(default_factory=Score)
    documents: int = 0
    with_errors: int = 0
    wrong_form: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: Cell) -> None:
        self.fields.add(other.fields)
        self.documents += other.documents
        self.with_errors += other.with_errors
        self.wrong_form += other.wrong_form
        self.errors += other.errors


def judge(case: Case, fmt: str, data: bytes) -> tuple[Cell, list[str]]:
    """One document read as ``fmt``: its cell of the table, and its wrong fields (for ``--details``)."""
    name = f"{case.id}.{fmt}"
    document = parse_document(name, data, fmt, ParseOptions(at=case.spec.at, isolate=False))
    result = Cell(documents=1)
    result.fields = score(case.expected, document.fields)
    if document.form != case.form:
        result.wrong_form = 1
        result.fields.wrong.insert(0, f"form: read {document.form}, expected {case.form}")
    errors = [finding for finding in document.findings if finding.severity == "error"]
    if errors:
        result.with_errors = 1
        result.errors = [f"{case.spec.key}/{case.style.name}: {finding.code} {finding.message}" for finding in errors]
    return result, result.fields.wrong


def _errors(checked: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Every error finding of a checked submission (``zhengji check --json``): its own and its documents'."""
    found = [("", item["code"], item["message"]) for item in checked["findings"] if item["severity"] == "error"]
    for document in checked["documents"]:
        found += [(document["file"], item["code"], item["message"]) for item in document["findings"]
                  if item["severity"] == "error"]  # fmt: skip
    return found


def check(files: list[tuple[str, bytes]], twin: Twin) -> dict[str, Any]:
    """The submission of ``files`` as ``zhengji check FILES --json`` judges it (no mailbox given)."""
    mail = Mail(attachments=files, received=twin.spec.at, to=[])
    return judge_submission(mail, parse_attachments(files, ParseOptions(at=twin.spec.at, isolate=False))).as_json()


def judge_twin(twin: Twin, pdf: bytes) -> tuple[dict[str, Cell], list[str]]:
    """One pair as one submission: the fields of its Word and PDF copies, and whether the pair got an error."""
    word_name, pdf_name = f"{twin.id}.docx", f"{twin.id}.pdf"
    pair = check([(word_name, twin.docx), (pdf_name, pdf)], twin)
    alone = {(code, message) for file, code, message in _errors(check([(word_name, twin.docx)], twin)) if not file}
    errors = [f"{twin.spec.key}/twins: {code} {f'[{file}] ' if file else ''}{message}"
              for file, code, message in _errors(pair) if file or (code, message) not in alone]  # fmt: skip
    cells: dict[str, Cell] = {}
    wrong: list[str] = []
    for fmt, name in (("docx", word_name), ("pdf", pdf_name)):
        read = next((document for document in pair["documents"] if document["file"] == name), None)
        cell = Cell(documents=1, with_errors=int(bool(errors)), errors=errors if fmt == "docx" else [])
        cell.fields = score(twin.expected, read["fields"] if read else {})
        if read is None or read["form"] != twin.form:
            cell.wrong_form = 1
            cell.fields.wrong.insert(0, f"form: read {read['form'] if read else 'nothing'}, expected {twin.form}")
        cells[fmt] = cell
        wrong += [f"[{FORMAT_NAMES[fmt]}] {item}" for item in cell.fields.wrong]
    return cells, wrong + errors


def print_artefacts(shown: dict[tuple[str, str], list[bool]]) -> None:
    """What the twins' PDF text (pdfplumber) really carries: the measure is only as good as its artefacts."""
    parts = [f"{what} {kind} {sum(found)}/{len(found)}" for (kind, what), found in sorted(shown.items())]
    print(f"Twins: the PDF exports' text (pdfplumber) carries {', '.join(parts)} of the artefacts built.")


def percent(right: int, total: int) -> str:
    return f"{100 * right / total:6.2f}%" if total else "     –"


def _line(name: str, row: dict[str, Cell], formats: list[str]) -> str:
    line = f"{name:<11} {row[formats[0]].documents:>4}"
    for fmt in formats:
        cell = row.get(fmt)
        if cell is None:
            line += f" │ {'–':<26} {'–':>8} {'–':>5}"
            continue
        fields = f"{percent(cell.fields.right, cell.fields.total)} ({cell.fields.right}/{cell.fields.total})"
        line += f" │ {fields:<26} {cell.with_errors:>4}/{cell.documents:<3} {cell.wrong_form:>5}"
    return line


def print_table(
    table: dict[str, dict[str, Cell]], formats: list[str], show: int, pairs: dict[str, Cell] | None = None
) -> None:
    header = f"{'class':<11} {'docs':>4}"
    for fmt in formats:
        header += f" │ {FORMAT_NAMES[fmt] + ' fields right':<26} {'err docs':>8} {'form✗':>5}"
    print(header)
    print("─" * len(header))
    totals = {fmt: Cell() for fmt in formats}
    for cls in CLASSES:
        if cls not in table:
            continue
        for fmt in formats:
            totals[fmt].add(table[cls][fmt])
        print(_line(cls, table[cls], formats))
    print("─" * len(header))
    print(_line("total", totals, formats))
    if pairs is not None:
        # Per submission, not per document: outside the total.
        print(_line("twins", pairs, formats))
    print()
    print("Error findings on correct documents (the first few of each class and format; codes counted):")
    listed = [(cls, fmt, table.get(cls, {}).get(fmt)) for cls in CLASSES for fmt in formats]
    if pairs is not None:
        listed.append(("twins", "docx", pairs["docx"]))
    for cls, fmt, found in listed:
        if found is None or not found.errors:
            continue
        codes = Counter(error.split(": ", 1)[1].split(" ", 1)[0] for error in found.errors)
        counted = ", ".join(f"{code} ×{count}" for code, count in codes.most_common())
        print(f"  {cls} / {FORMAT_NAMES[fmt] if cls != 'twins' else 'Word and PDF'}: {counted}")
        for error in found.errors[:show]:
            print(f"      {error[:150]}")


def print_wordings() -> None:
    """Each wording variant on its own, Word only: which ones cost fields or raise errors on a correct document."""
    probes = wording_cases()
    failing: list[str] = []
    for case in probes:
        result, wrong = judge(case, "docx", case.docx)
        if wrong or result.errors:
            key, number = case.style.name.rsplit("#", 1)
            shown = wording_variants(key)[int(number) - 1].replace("\n", "⏎")
            codes = Counter(error.split(": ", 1)[1].split(" ", 1)[0] for error in result.errors)
            failing.append(
                f"  {case.spec.key:<16} {key} → {shown}: {len(wrong)} fields wrong"
                + (f", errors {dict(codes)}" if codes else "")
            )
    print(f"Wordings one at a time (Word): {len(probes) - len(failing)} of {len(probes)} variants read right.")
    print("\n".join(failing))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.mutations", description=__doc__.split("\n")[0])
    parser.add_argument("--pdf", action="store_true", help="also read each document's LibreOffice PDF export")
    parser.add_argument("--doc", action="store_true", help="also read each document saved as .doc")
    parser.add_argument("--limit", type=int, default=None, help="at most N documents per class")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help=f"conversion cache (default {DEFAULT_CACHE})")
    parser.add_argument("--show", type=int, default=3, help="error findings listed per class and format")
    parser.add_argument("--details", action="store_true", help="list every wrong field of every document")
    parser.add_argument(
        "--wordings",
        choices=list(WORDING_LISTS),
        default="default",
        help="the list of wording variants: default (wordings.toml), holdout (wordings_holdout.toml), third "
        "(wordings_third.toml, issue 17), fourth (wordings_fourth.toml) or fifth (wordings_fifth.toml, the one the "
        "reader has not seen)",
    )
    parser.add_argument(
        "--no-twins", action="store_true", help="leave out the Word and PDF twins (judged as submissions)"
    )
    parser.add_argument(
        "--each-wording", action="store_true", help="also try each wording variant on its own (Word), list the misread"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    # The builders read the list at each use (tests/fixtures/mutations/pen.py): chosen before anything is built.
    os.environ[WORDINGS_ENV] = args.wordings
    if args.wordings != "default" and (faults := unseen_faults(args.wordings)):
        print(f"{WORDING_LISTS[args.wordings].name} is not held out:\n  " + "\n  ".join(faults), file=sys.stderr)
        return 2
    corpus = cases(args.limit)
    formats = ["docx", *(["pdf"] if args.pdf else []), *(["doc"] if args.doc else [])]
    words = {case.id: case.docx for case in corpus}
    files: dict[str, dict[str, bytes]] = {"docx": words}
    for fmt in formats[1:]:
        converting = time.perf_counter()
        files[fmt] = convert_all(words, fmt, args.cache)
        print(
            f"{FORMAT_NAMES[fmt]}: {len(words)} files ready in {time.perf_counter() - converting:.0f} s",
            file=sys.stderr,
        )
    table: dict[str, dict[str, Cell]] = defaultdict(lambda: defaultdict(Cell))
    details: list[str] = []
    for case in corpus:
        for fmt in formats:
            result, wrong = judge(case, fmt, files[fmt][case.id])
            table[case.cls][fmt].add(result)
            if wrong or result.errors:
                details.append(f"{case.id} [{FORMAT_NAMES[fmt]}]: {len(wrong)} wrong, {len(result.errors)} errors")
                details += [f"    {item}" for item in [*wrong, *result.errors]]
    pairs: dict[str, Cell] | None = None
    shown: dict[tuple[str, str], list[bool]] = defaultdict(list)
    if not args.no_twins:
        pairing = time.perf_counter()
        made = twins()[: args.limit]
        exports = convert_all({twin.id: twin.docx for twin in made}, "pdf", args.cache)
        pairs = {"docx": Cell(), "pdf": Cell()}
        for twin in made:
            for artefact, found in pdf_artefacts(exports[twin.id], twin.artefacts).items():
                shown[(artefact.kind, artefact.what)].append(found)
            cells, wrong = judge_twin(twin, exports[twin.id])
            for fmt, cell in cells.items():
                pairs[fmt].add(cell)
            if wrong:
                details.append(f"{twin.id} [Word and PDF]: {len(wrong)} wrong fields and errors")
                details += [f"    {item}" for item in wrong]
        print(f"Twins: {len(made)} pairs judged in {time.perf_counter() - pairing:.0f} s", file=sys.stderr)
    forms = len({case.spec.key for case in corpus})
    print(
        f"Mutation corpus: {len(corpus)} documents of {forms} forms, {', '.join(FORMAT_NAMES[f] for f in formats)}, "
        f"wordings: {WORDING_LISTS[args.wordings].name}"
    )
    print()
    print_table(table, formats, args.show, pairs)
    if shown:
        print()
        print_artefacts(shown)
    if args.details:
        print()
        print("\n".join(details))
    if args.each_wording:
        print()
        print_wordings()
    print(f"\n({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
