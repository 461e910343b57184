"""Read a PDF into a Layout: the form's tables with their merged cells, and the text around them in order.

pypdfium2 opens the file first: it is fast, tells a password-protected or broken file at once, and says
whether the pages carry a text layer at all (a scan has none). It then reads each page's characters and ruling
edges (:mod:`pdf_pdfium`), and pdfplumber's own table functions find the ruled tables in them
(:mod:`pdf_layout`): the same tables pdfplumber would find, without pdfminer interpreting every content
stream in Python, which took some 100 ms a page.

The fallback rule: a page pypdfium2 cannot read as pdfminer would (a rotated page, text drawn at an angle,
a character with no Unicode value, a text object that draws glyphs pdfium leaves out of its text) is read by
pdfplumber instead, and goes through the same table and text code.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, replace

import pdfplumber
import pypdfium2 as pdfium

from zhengji.parsers.model import Block, Cell, Layout, Table, Unreadable
from zhengji.parsers.readers.pdf_layout import Placed, grid_index, grid_lines, page_blocks
from zhengji.parsers.readers.pdf_pdfium import PageContent, read_page
from zhengji.parsers.readers.pdf_wrap import join_wrapped_lines
from zhengji.parsers.readers.seal import count_red_seals

__all__ = ["MAX_PAGES", "join_wrapped_lines", "read_pdf"]

# The longest form is about 15 pages; a longer file is not a form, and reading it could stall the service.
MAX_PAGES = 200
# A table that starts in the top part of a page continues the previous page's table (same column count).
_PAGE_TOP_SHARE = 0.2
# Page headers and footers (page numbers, a form's running title) sit in this share of the page at top and bottom.
_MARGIN_SHARE = 0.1
# The same column edge on two pages may move by this much (points): borders are drawn a little differently.
_ALIGN_TOLERANCE = 2.0

_PASSWORD = "该 PDF 文件设有密码，请取消密码后重新发送。"
_BROKEN = "该 PDF 文件已损坏或不完整，无法打开，请重新导出 PDF 后发送。"
_TOO_LONG = f"该 PDF 文件超过 {MAX_PAGES} 页，不是本次征集的表格，请只发送填写好的表格（PDF 或 .docx）。"


@dataclass
class _OpenTable:
    """The table the next page may continue: its index in the blocks, and its column edges."""

    index: int
    xs: list[float]


def read_pdf(data: bytes) -> Layout:
    """The PDF's tables and paragraphs in reading order; a scan gives ``text_layer=False`` and no blocks.

    Raises :class:`Unreadable` for a password, a damaged file, or a file too long to be a form.
    """
    document = _open(data)
    try:
        pages = len(document)
        if pages == 0:
            raise Unreadable(_BROKEN)
        if pages > MAX_PAGES:
            raise Unreadable(_TOO_LONG)
        if not _has_text(document):
            return Layout(format="pdf", pages=pages, text_layer=False, red_seals=count_red_seals(data))
        blocks = _read_blocks(document, data)
    finally:
        document.close()
    return Layout(format="pdf", blocks=blocks, pages=pages, red_seals=count_red_seals(data))


def _open(data: bytes) -> pdfium.PdfDocument:
    """The document opened by pypdfium2; raises Unreadable for a password or a file that cannot open."""
    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as error:
        if "password" in str(error).lower():
            raise Unreadable(_PASSWORD) from error
        raise Unreadable(_BROKEN) from error


def _has_text(document: pdfium.PdfDocument) -> bool:
    """Whether any page has a text layer; a scan has none, and its pages need not be read at all."""
    for index in range(len(document)):
        page = document[index]
        textpage = page.get_textpage()
        try:
            if textpage.get_text_range().strip():
                return True
        finally:
            textpage.close()
            page.close()
    return False


def _read_blocks(document: pdfium.PdfDocument, data: bytes) -> list[Block]:
    """Tables and paragraphs of every page, a table continued over a page break merged into one."""
    blocks: list[Block] = []
    open_table: _OpenTable | None = None
    fallback: _Plumber | None = None
    try:
        for number in range(len(document)):
            page = document[number]
            try:
                content = read_page(page)
            finally:
                page.close()
            if content is None:
                fallback = fallback or _Plumber(data)
                content = fallback.page(number)
            open_table = _append_page(blocks, page_blocks(content), content.height, open_table)
    # pdfminer raises a wide range of exceptions on a damaged object that pypdfium2 tolerated; any of them
    # means the same thing to the applicant.
    except Exception as error:
        raise Unreadable(_BROKEN) from error
    finally:
        if fallback is not None:
            fallback.close()
    return blocks


class _Plumber:
    """The document opened by pdfplumber, for the pages pypdfium2 cannot read as pdfminer would."""

    def __init__(self, data: bytes) -> None:
        self._pdf = pdfplumber.open(io.BytesIO(data))

    def page(self, number: int) -> PageContent:
        page = self._pdf.pages[number]
        try:
            return PageContent(height=float(page.height), chars=list(page.chars), edges=list(page.edges))
        finally:
            page.close()

    def close(self) -> None:
        self._pdf.close()


def _append_page(
    blocks: list[Block], placed: list[Placed], page_height: float, open_table: _OpenTable | None
) -> _OpenTable | None:
    """Append one page's blocks; returns the table the next page may continue, if any.

    A table is continued when the previous page ended with it (only its page footer, such as a page number,
    below it) and this page's first table starts at the top with the same outer edges (only its page header
    above it). The column count may differ: the part on each page has only the column edges of its own rows.
    The header and footer lines then follow the merged table, which keeps the table whole.
    """
    first_table = next((index for index, item in enumerate(placed) if isinstance(item.block, Table)), None)
    start = 0
    continued: _OpenTable | None = None
    if open_table is not None and first_table is not None:
        previous, candidate = blocks[open_table.index], placed[first_table]
        above = placed[:first_table]
        if (
            isinstance(previous, Table)
            and isinstance(candidate.block, Table)
            and _same_outline(open_table.xs, candidate.xs)
            and candidate.top <= page_height * _PAGE_TOP_SHARE
            and all(item.top <= page_height * _MARGIN_SHARE for item in above)
        ):
            merged, xs = _concatenate(previous, open_table.xs, candidate.block, candidate.xs)
            blocks[open_table.index] = merged
            continued = _OpenTable(open_table.index, xs)
            blocks.extend(item.block for item in above)
            start = first_table + 1
    for item in placed[start:]:
        blocks.append(item.block)
    # The table the next page may continue: the last table of this page with nothing but footer lines below it.
    for offset, item in enumerate(reversed(placed)):
        if isinstance(item.block, Table):
            if start > 0 and first_table is not None and item is placed[first_table]:
                return continued
            return _OpenTable(len(blocks) - 1 - offset, item.xs)
        if item.top < page_height * (1 - _MARGIN_SHARE):
            return None
    return None


def _same_outline(first: list[float], second: list[float]) -> bool:
    """Whether two tables have the same left and right edges, as the parts of one table on two pages have."""
    return (
        bool(first and second)
        and abs(first[0] - second[0]) <= _ALIGN_TOLERANCE
        and abs(first[-1] - second[-1]) <= _ALIGN_TOLERANCE
    )


def _concatenate(
    first: Table, first_xs: list[float], second: Table, second_xs: list[float]
) -> tuple[Table, list[float]]:
    """One table from its parts on two pages, on the union of their column edges.

    Where Word let a row break across the page, the part on the next page starts with the row's tail: its
    text joins the row above instead of making a row of its own. A vertically merged cell that runs on over
    the break shows on the next page as an empty cell under it; that cell joins the merged one again.
    """
    xs = grid_lines(first_xs + second_xs, _ALIGN_TOLERANCE)
    upper = _regrid(first, first_xs, xs)
    lower = _regrid(second, second_xs, xs)
    last = first.n_rows - 1
    tail = _row_tail(upper, last, lower)
    if tail is not None:
        upper = tail
        # The tail's row is gone; a merged cell that started in it now starts in the row after it.
        lower = [
            replace(cell, row=max(cell.row - 1, 0), rowspan=cell.rowspan - (1 if cell.row == 0 else 0))
            for cell in lower
            if cell.row > 0 or cell.rowspan > 1
        ]
    upper, lower = _rejoin_vertical_merges(upper, lower, last)
    n_rows = first.n_rows + second.n_rows - (1 if tail is not None else 0)
    moved = [replace(cell, row=cell.row + first.n_rows) for cell in lower]
    return Table(cells=[*upper, *moved], n_rows=n_rows, n_cols=len(xs) - 1), xs


def _regrid(table: Table, xs: list[float], union: list[float]) -> list[Cell]:
    """The table's cells with columns counted on the union grid ``union`` instead of its own ``xs``."""
    cells = []
    for cell in table.cells:
        col = grid_index(union, xs[cell.col], _ALIGN_TOLERANCE)
        end = grid_index(union, xs[cell.col + cell.colspan], _ALIGN_TOLERANCE)
        cells.append(replace(cell, col=col, colspan=max(end - col, 1)))
    return cells


def _covering(cells: Sequence[Cell], row: int, col: int) -> Cell | None:
    for cell in cells:
        if cell.row <= row < cell.row + cell.rowspan and cell.col <= col < cell.col + cell.colspan:
            return cell
    return None


def _row_tail(upper: list[Cell], last: int, lower: list[Cell]) -> list[Cell] | None:
    """The upper part's cells with the lower part's first row appended to its last row, if that row is a tail.

    A row broken over the page has its label (the first cell that starts in the last row above) on the
    first page only, so the tail's cells under the label are empty while others carry text. A row with its
    label filled is a new row, and so is a row with nothing in it. Empty cells of a vertical merge that runs on
    through the tail may span further rows.
    """
    starting = [cell for cell in upper if cell.row == last]
    top = sorted((cell for cell in lower if cell.row == 0), key=lambda cell: cell.col)
    if not starting or not top:
        return None
    label = min(starting, key=lambda cell: cell.col)
    under_label = [cell for cell in top if cell.col < label.col + label.colspan and label.col < cell.col + cell.colspan]
    carried = [cell for cell in top if cell.text and cell not in under_label]
    if not under_label or any(cell.text for cell in under_label) or not carried:
        return None
    # A cell that runs on below the first row is not a row's tail but a merged cell of its own.
    if any(cell.rowspan != 1 for cell in [*under_label, *carried]):
        return None
    texts = {id(cell): cell.text for cell in upper}
    for cell in carried:
        above = _covering(upper, last, cell.col)
        if above is None:
            return None
        texts[id(above)] = join_wrapped_lines(f"{texts[id(above)]}\n{cell.text}")
    return [replace(cell, text=texts[id(cell)]) for cell in upper]


def _rejoin_vertical_merges(upper: list[Cell], lower: list[Cell], last: int) -> tuple[list[Cell], list[Cell]]:
    """Extend a merged cell that reaches the page's last row over the empty cell under it on the next page."""
    grown: dict[int, int] = {}
    dropped: set[int] = set()
    for cell in upper:
        if cell.rowspan < 2 or cell.row + cell.rowspan - 1 != last:
            continue
        below = next(
            (
                other
                for other in lower
                if other.row == 0 and other.col == cell.col and other.colspan == cell.colspan and not other.text
            ),
            None,
        )
        if below is not None:
            grown[id(cell)] = below.rowspan
            dropped.add(id(below))
    upper = [replace(cell, rowspan=cell.rowspan + grown[id(cell)]) if id(cell) in grown else cell for cell in upper]
    return upper, [cell for cell in lower if id(cell) not in dropped]
