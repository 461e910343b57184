"""`make bench`: how fast the parsers are, beside the floor of merely opening the same file.

Run from the repository root: ``.venv/bin/python -m benchmarks.parsers``. Figures are medians on one core
(the work is single-threaded); the ratio says how much our parsing costs over just opening the file.
"""

from __future__ import annotations

import io
import os
import statistics
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pypdfium2 as pdfium
from lxml import etree

from tests.fixtures.forms.proposal_docx import build_proposal_docx, sample_proposal
from zhengji.parsers.document import ParseOptions, interpret, parse_attachment
from zhengji.parsers.isolation import shutdown_pool, start_pool
from zhengji.parsers.readers.docx import read_docx
from zhengji.parsers.readers.legacy import convert_with_libreoffice
from zhengji.parsers.readers.pdf import read_pdf

AT = datetime(2025, 6, 21, 2, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[1]


def median_ms(action: Callable[[], object], repeat: int) -> float:
    action()  # warm caches and imports once
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def docx_floor(data: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        etree.fromstring(archive.read("word/document.xml"))


def pdf_floor(data: bytes) -> None:
    document = pdfium.PdfDocument(data)
    for page in document:
        page.get_textpage().get_text_range()
    document.close()


def report(label: str, ours: float, floor: float, budget: float) -> None:
    verdict = "ok" if ours <= budget else "OVER BUDGET"
    ratio = ours / floor
    print(f"{label:<44} {ours:8.1f} ms   floor {floor:7.2f} ms   ×{ratio:6.1f}   budget {budget:g} ms  {verdict}")


def main() -> None:
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    docx = build_proposal_docx(sample_proposal())
    pdf = convert_with_libreoffice(docx, "docx", "pdf")
    pages = len(pdfium.PdfDocument(pdf))
    print(f"建议书: docx {len(docx) // 1024} KB; PDF {len(pdf) // 1024} KB, {pages} pages")
    in_process = median_ms(lambda: interpret("建议书.docx", read_docx(docx), AT), 50)
    report("parse + check 建议书 docx", in_process, median_ms(lambda: docx_floor(docx), 50), 20)
    # The service's path: sniffed, read and checked in a worker of the warm pool (forked from the forkserver
    # that loaded the parsers), the answer back as JSON. The floor here is the same work in this process, so
    # the ratio is what isolation costs.
    start_pool("forkserver")
    options = ParseOptions(at=AT, method="forkserver")
    ours = median_ms(lambda: parse_attachment("建议书.docx", docx, options), 50)
    report("建议书 docx, isolated (warm pool)", ours, in_process, 25)
    shutdown_pool()
    ours = median_ms(lambda: interpret("建议书.pdf", read_pdf(pdf), AT), 10)
    report(f"parse + check 建议书 PDF ({pages} pages)", ours, median_ms(lambda: pdf_floor(pdf), 10), 250)
    mail = ROOT / "tests" / "fixtures" / "mail" / "foxmail_sh_complete.eml"
    command = [sys.executable, "-m", "zhengji", "check", str(mail), "--json"]
    floor = median_ms(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), 5)
    ours = median_ms(lambda: subprocess.run(command, check=True, capture_output=True), 5)
    report("zhengji check, 4 attachments, with start-up", ours, floor, 1000)


if __name__ == "__main__":
    main()
