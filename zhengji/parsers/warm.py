"""Warming a forkserver, so that every worker it forks parses as fast as a process that has parsed before.

A forked worker inherits its parent's memory, caches included, and throws them away when it ends. The
forkserver is that parent for ``zhengji serve``: whatever it has not loaded, each attachment's worker loads
again: the form modules imported on first use, the notices registry and the catalog, the compiled patterns
of the readers and the forms. Cold, a four-attachment mail took a third longer to parse than warm. Importing
this module (it is on the forkserver's preload list) loads all of it once, by parsing two small documents
made here: a Word form and a PDF.
"""

from __future__ import annotations

import gc
import importlib
import io
import logging
import pkgutil
from datetime import UTC, datetime

log = logging.getLogger(__name__)


def _import_all(package_name: str) -> None:
    package = importlib.import_module(package_name)
    for module in pkgutil.walk_packages(package.__path__, f"{package_name}."):
        importlib.import_module(module.name)


def _sample_docx() -> bytes:
    """A proposal form's first rows, enough to take the classifier and the proposal extractor through."""
    import docx

    document = docx.Document()
    document.add_paragraph("新职业信息建议书")
    table = document.add_table(rows=3, cols=2)
    for row, (label, value) in enumerate((("职业名称", "示例职业"), ("职业定义", "从事示例工作的人员。"),
                                          ("主要工作任务", "1. 示例任务。"))):  # fmt: skip
        table.cell(row, 0).text = label
        table.cell(row, 1).text = value
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _sample_pdf() -> bytes:
    """A one-page PDF with a ruled box and a line of text, made with pdfium itself (no office suite needed)."""
    import ctypes

    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    pdf = pdfium.PdfDocument.new()
    page = pdf.new_page(595, 842)
    box = pdfium_c.FPDFPageObj_CreateNewRect(72, 600, 300, 100)
    pdfium_c.FPDFPageObj_SetStrokeColor(box, 0, 0, 0, 255)
    pdfium_c.FPDFPath_SetDrawMode(box, pdfium_c.FPDF_FILLMODE_NONE, True)
    pdfium_c.FPDFPage_InsertObject(page, box)
    text = pdfium_c.FPDFPageObj_NewTextObj(pdf, b"Helvetica", ctypes.c_float(12))
    words = "Proposal 2025".encode("utf-16-le") + b"\x00\x00"
    pdfium_c.FPDFText_SetText(text, ctypes.cast(ctypes.c_char_p(words), ctypes.POINTER(pdfium_c.FPDF_WCHAR)))
    pdfium_c.FPDFPageObj_Transform(text, 1, 0, 0, 1, 80, 650)
    pdfium_c.FPDFPage_InsertObject(page, text)
    pdfium_c.FPDFPage_GenerateContent(page)
    buffer = io.BytesIO()
    pdf.save(buffer)
    page.close()
    pdf.close()
    return buffer.getvalue()


def warm() -> None:
    """Load what parsing loads on first use.

    Nothing here may raise: the forkserver imports this module and would die of an exception (it forgives only
    ImportError), taking every later parse with it; a failure only costs speed, so it is logged.
    """
    try:
        from zhengji.notices.registry import load_registry
        from zhengji.parsers.document import ParseOptions, parse_attachment

        _import_all("zhengji.parsers")
        load_registry()
        options = ParseOptions(at=datetime(2025, 6, 21, tzinfo=UTC), isolate=False)
    except Exception:
        log.warning("could not load the parsers ahead of the first mail", exc_info=True)
        return
    for name, make in (("建议书.docx", _sample_docx), ("建议书.pdf", _sample_pdf)):
        try:
            parse_attachment(name, make(), options)
        except Exception:
            log.warning("could not warm the parser with %s", name, exc_info=True)


def freeze() -> None:
    """Move everything loaded so far out of the garbage collector's sight (``gc.freeze``).

    A forked worker that runs a collection would otherwise walk the forkserver's whole heap, tens of
    milliseconds, and copy every page it touches; frozen, its collections see only what the worker made.
    """
    gc.collect()
    gc.freeze()


warm()
freeze()  # last: this module is the last the forkserver loads
