"""Read a PDF into a Layout: the form's tables with their merged cells, and the text around them in order.

pypdfium2 opens the file first: it is fast, tells a password-protected or broken file at once, and says
whether the pages carry a text layer at all (a scan has none, and pdfplumber would only find nothing, slowly).
pdfplumber then finds the ruled tables. Merged cells are rebuilt from the cells' geometry: pdfplumber returns
each cell's box, and a merged cell's box covers several rows or columns of the grid that the other cells'
edges define, which is exact where guessing from the ``None`` placeholders of ``extract_tables`` is not
(a ``None`` can be the tail of a horizontal or of a vertical merge).
"""

from __future__ import annotations

import io
import itertools
import re
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pdfplumber
import pypdfium2 as pdfium

from zhengji.parsers.model import Block, Cell, Layout, Table, Unreadable
from zhengji.parsers.readers.seal import count_red_seals

__all__ = ["MAX_PAGES", "join_wrapped_lines", "read_pdf"]

# The longest form is about 15 pages; a longer file is not a form, and reading it could stall the service.
MAX_PAGES = 200
# A table that starts in the top part of a page continues the previous page's table (same column count).
_PAGE_TOP_SHARE = 0.2
# Page headers and footers (page numbers, a form's running title) sit in this share of the page at top and bottom.
_MARGIN_SHARE = 0.1
# Grid edges closer than this (points) are the same edge.
_EDGE_TOLERANCE = 1.0
# Characters whose tops differ by less than this (points) are on the same line, as pdfplumber itself reads.
_LINE_TOLERANCE = 3.0
# Measuring slack (points) when asking whether a word would have fitted at the end of the line above.
_FIT_SLACK = 1.0

_PASSWORD = "该 PDF 文件设有密码，请取消密码后重新发送。"
_BROKEN = "该 PDF 文件已损坏或不完整，无法打开，请重新导出 PDF 后发送。"
_TOO_LONG = f"该 PDF 文件超过 {MAX_PAGES} 页，不是本次征集的表格，请只发送填写好的表格（PDF 或 .docx）。"

# A line that starts a new item keeps its line break: "1." "2、" "（一）" "(3)" "一、" "①".
_ITEM_START = re.compile(
    r"^\s*(?:\d+\s*[.．、)）]|[（(]\s*[一二三四五六七八九十\d]+\s*[)）]|[一二三四五六七八九十]+、|[①-⑳])"
)

# Tokens that may be wrapped inside: the run of non-CJK, non-space text at a line's end and at the next one's start.
_TOKEN_END = re.compile(r"[^\s\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]+$")
_TOKEN_START = re.compile(r"[^\s\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]+")
_DASHES = "-‐‑‒–—"
# A phone number, a code (4-04-05-05, X-00-00-00, GB/T 4754—2017's year), a long number or a decimal.
_NUMBERISH = re.compile(r"\+?(?:[A-Za-z]-?)?[\d()]+(?:[-‐‑‒–—/.][\d()]+)*")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.ASCII)
_URL = re.compile(r"(?:https?://|www\.)[\w\-./?%&=#:~+@]+", re.ASCII)
# Where a line breaker may split an address: after a hyphen, a dot, a slash, an at sign, an underscore or a digit.
_URL_BREAKS = _DASHES + "./@_:=&?#0123456789"


@dataclass
class _Placed:
    """A block and where it starts on its page, for reading order."""

    top: float
    block: Block


def read_pdf(data: bytes) -> Layout:
    """The PDF's tables and paragraphs in reading order; a scan gives ``text_layer=False`` and no blocks.

    Raises :class:`Unreadable` for a password, a damaged file, or a file too long to be a form.
    """
    pages, has_text = _probe(data)
    if not has_text:
        return Layout(format="pdf", pages=pages, text_layer=False, red_seals=count_red_seals(data))
    blocks = _read_blocks(data)
    return Layout(format="pdf", blocks=blocks, pages=pages, red_seals=count_red_seals(data))


def _probe(data: bytes) -> tuple[int, bool]:
    """The page count and whether any page has text, by pypdfium2; raises Unreadable for what cannot open."""
    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as error:
        if "password" in str(error).lower():
            raise Unreadable(_PASSWORD) from error
        raise Unreadable(_BROKEN) from error
    try:
        pages = len(document)
        if pages == 0:
            raise Unreadable(_BROKEN)
        if pages > MAX_PAGES:
            raise Unreadable(_TOO_LONG)
        for index in range(pages):
            page = document[index]
            textpage = page.get_textpage()
            try:
                if textpage.get_text_range().strip():
                    return pages, True
            finally:
                textpage.close()
                page.close()
        return pages, False
    finally:
        document.close()


def _read_blocks(data: bytes) -> list[Block]:
    """Tables and paragraphs of every page, a table continued over a page break merged into one."""
    blocks: list[Block] = []
    open_table: int | None = None
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            for page in pdf.pages:
                placed = _page_blocks(page)
                page.close()
                open_table = _append_page(blocks, placed, float(page.height), open_table)
    # pdfminer raises a wide range of exceptions on a damaged object that pypdfium2 tolerated; any of them
    # means the same thing to the applicant.
    except Unreadable:
        raise
    except Exception as error:
        raise Unreadable(_BROKEN) from error
    return blocks


def _append_page(blocks: list[Block], placed: list[_Placed], page_height: float, open_table: int | None) -> int | None:
    """Append one page's blocks; returns the index of a table the next page may continue, if any.

    A table is continued when the previous page ended with it (only its page footer, such as a page number,
    below it) and this page's first table starts at the top with the same column count (only its page header
    above it). The header and footer lines then follow the merged table, which keeps the table whole.
    """
    first_table = next((index for index, item in enumerate(placed) if isinstance(item.block, Table)), None)
    start = 0
    if open_table is not None and first_table is not None:
        previous, candidate = blocks[open_table], placed[first_table]
        above = placed[:first_table]
        if (
            isinstance(previous, Table)
            and isinstance(candidate.block, Table)
            and previous.n_cols == candidate.block.n_cols
            and candidate.top <= page_height * _PAGE_TOP_SHARE
            and all(item.top <= page_height * _MARGIN_SHARE for item in above)
        ):
            blocks[open_table] = _concatenate(previous, candidate.block)
            blocks.extend(item.block for item in above)
            start = first_table + 1
    for item in placed[start:]:
        blocks.append(item.block)
    # The table the next page may continue: the last table of this page with nothing but footer lines below it.
    for offset, item in enumerate(reversed(placed)):
        if isinstance(item.block, Table):
            if start > 0 and first_table is not None and item is placed[first_table]:
                return open_table
            return len(blocks) - 1 - offset
        if item.top < page_height * (1 - _MARGIN_SHARE):
            return None
    return None


def _concatenate(first: Table, second: Table) -> Table:
    moved = [Cell(c.row + first.n_rows, c.col, c.rowspan, c.colspan, c.text) for c in second.cells]
    return Table(cells=[*first.cells, *moved], n_rows=first.n_rows + second.n_rows, n_cols=first.n_cols)


def _page_blocks(page: Any) -> list[_Placed]:
    """One page's tables and paragraphs, ordered by their top edge."""
    found = page.find_tables()
    boxes = [table.bbox for table in found]
    placed = [_Placed(float(table.bbox[1]), _table_from(page, table)) for table in found]

    def outside_tables(obj: dict[str, Any]) -> bool:
        x_mid = (obj["x0"] + obj["x1"]) / 2
        y_mid = (obj["top"] + obj["bottom"]) / 2
        return not any(x0 <= x_mid <= x1 and top <= y_mid <= bottom for x0, top, x1, bottom in boxes)

    rest = page.filter(outside_tables) if boxes else page
    placed.extend(_paragraphs(rest.extract_text_lines(return_chars=False)))
    placed.sort(key=lambda item: item.top)
    return placed


def _paragraphs(lines: Sequence[dict[str, Any]]) -> list[_Placed]:
    """Text lines joined into paragraphs where a line runs on into the next one.

    A line continues the previous one when it follows closely below and the previous line reaches the right
    edge of the text (it was wrapped, not ended), unless it starts a new numbered item.
    """
    if not lines:
        return []
    right_edge = max(float(line["x1"]) for line in lines)
    result: list[_Placed] = []
    previous: dict[str, Any] | None = None
    for line in lines:
        text = str(line["text"]).strip()
        if not text:
            continue
        height = float(line["bottom"]) - float(line["top"])
        runs_on = (
            previous is not None
            and result
            and 0 <= float(line["top"]) - float(previous["bottom"]) < 0.8 * height
            and float(previous["x1"]) >= right_edge - 2 * height
            and not _ITEM_START.match(text)
        )
        if runs_on:
            result[-1].block = join_wrapped_lines(f"{result[-1].block}\n{text}")
        else:
            result.append(_Placed(float(line["top"]), text))
        previous = line
    return result


def _table_from(page: Any, found: Any) -> Table:
    """Our Table from a pdfplumber table: grid from the cells' edges, spans from each cell's box."""
    cells_boxes = [(float(x0), float(top), float(x1), float(bottom)) for x0, top, x1, bottom in found.cells]
    xs = _edges([box[0] for box in cells_boxes] + [box[2] for box in cells_boxes])
    ys = _edges([box[1] for box in cells_boxes] + [box[3] for box in cells_boxes])
    chars = page.chars
    cells: list[Cell] = []
    for x0, top, x1, bottom in sorted(cells_boxes, key=lambda box: (box[1], box[0])):
        col, col_end = _index(xs, x0), _index(xs, x1)
        row, row_end = _index(ys, top), _index(ys, bottom)
        if col_end <= col or row_end <= row:
            continue
        text = _cell_text(chars, (x0, top, x1, bottom))
        cells.append(Cell(row=row, col=col, rowspan=row_end - row, colspan=col_end - col, text=text))
    return Table(cells=cells, n_rows=max(len(ys) - 1, 0), n_cols=max(len(xs) - 1, 0))


def _edges(values: list[float]) -> list[float]:
    """Distinct grid lines, with near-equal coordinates merged."""
    edges: list[float] = []
    for value in sorted(values):
        if not edges or value - edges[-1] > _EDGE_TOLERANCE:
            edges.append(value)
    return edges


def _index(edges: list[float], value: float) -> int:
    """The index of the grid line at ``value``."""
    position = bisect_left(edges, value - _EDGE_TOLERANCE)
    return min(position, len(edges) - 1)


def _cell_text(chars: Sequence[dict[str, Any]], box: tuple[float, float, float, float]) -> str:
    """The text whose characters' centres lie in the cell, lines joined as Chinese joins wrapped lines.

    Each line is read on its own so that what its geometry says survives: a space glyph at a line's end is the
    space the source had where the line was wrapped ("基于 RTK" wrapped after "基于 "), and a line that left
    room for the next line's first word was ended by the author, not wrapped inside a word.
    """
    x0, top, x1, bottom = box
    inside = [
        char
        for char in chars
        if x0 <= (char["x0"] + char["x1"]) / 2 < x1 and top <= (char["top"] + char["bottom"]) / 2 < bottom
    ]
    if not inside:
        return ""
    # The text area's right edge, taking the right padding to equal the left one.
    right = x1 - (min(float(char["x0"]) for char in inside) - x0)
    lines: list[_Line] = []
    for cluster in pdfplumber.utils.cluster_objects(inside, "top", _LINE_TOLERANCE):
        text = str(pdfplumber.utils.extract_text(cluster)).strip()
        if not text:
            continue
        ordered = sorted(cluster, key=lambda char: float(char["x0"]))
        visible = [char for char in ordered if not str(char["text"]).isspace()]
        lines.append(
            _Line(
                text=text,
                spaced=str(ordered[-1]["text"]).isspace(),
                room=right - float(visible[-1]["x1"]),
                lead=_lead_width(visible),
            )
        )
    return _join(lines, None)


def _lead_width(chars: Sequence[dict[str, Any]]) -> float:
    """The width of a line's first word: its first CJK character, or its first run of other characters."""
    first = str(chars[0]["text"])
    end = 0
    if not (first and _is_cjk(first[0])):
        while end + 1 < len(chars):
            text = str(chars[end + 1]["text"])
            if not text or _is_cjk(text[0]):
                break
            # A gap wider than a space ends the word, as pdfplumber reads it.
            if float(chars[end + 1]["x0"]) - float(chars[end]["x1"]) > _LINE_TOLERANCE:
                break
            end += 1
    return float(chars[end]["x1"]) - float(chars[0]["x0"])


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return (
        0x3000 <= code <= 0x303F  # CJK punctuation
        or 0x3400 <= code <= 0x9FFF  # ideographs
        or 0xF900 <= code <= 0xFAFF
        or 0xFF00 <= code <= 0xFFEF  # full-width forms: ，：（）
        or 0x2018 <= code <= 0x201D  # quotation marks used in Chinese text
    )


def join_wrapped_lines(text: str, starts_item: Callable[[str], bool] | None = None) -> str:
    """Undo the line wraps of a PDF: CJK wraps join with nothing, Latin wraps with a space.

    A line that starts a new numbered item ("1." "（一）") keeps its line break: there the break is the
    author's, not the typesetter's. A line written with a trailing space (the PDF kept the space glyph the wrap
    fell on) joins with a space whatever the script. A wrap inside one token — a phone number, a code such as
    4-04-05-05, an e-mail address, a URL — joins with nothing: a narrow cell breaks "0755-86528888" after the
    hyphen, and a space there would make a different number. Spaces inside a line are never touched.
    """
    lines = [_Line(line.strip(), spaced=line.strip() != line.lstrip()) for line in text.split("\n")]
    return _join(lines, starts_item)


@dataclass
class _Line:
    """One printed line of text, with what its geometry says about the break after it.

    ``room`` is the free width left at the line's end and ``lead`` the width of the line's first word, in
    points; without geometry both are 0 and every break counts as a possible wrap.
    """

    text: str
    spaced: bool = False
    room: float = 0.0
    lead: float = 0.0


def _join(lines: Sequence[_Line], starts_item: Callable[[str], bool] | None) -> str:
    is_item = starts_item or (lambda line: bool(_ITEM_START.match(line)))
    kept = [line for line in lines if line.text]
    if not kept:
        return ""
    joined = kept[0].text
    for previous, line in itertools.pairwise(kept):
        if is_item(line.text):
            joined += "\n" + line.text
        else:
            # A break that left room for the next line's first word was not a wrap inside that word.
            wrapped = previous.room < line.lead + _FIT_SLACK
            joined += _wrap_joiner(joined, line.text, previous.spaced, wrapped) + line.text
    return joined


def _wrap_joiner(before: str, after: str, spaced: bool, wrapped: bool) -> str:
    """What stood where a line was wrapped: a space, or nothing."""
    if spaced:
        return " "
    if _is_cjk(before[-1]) or _is_cjk(after[0]):
        return ""
    if wrapped and _splits_one_token(before, after):
        return ""
    return " "


def _splits_one_token(before: str, after: str) -> bool:
    """Whether the wrap fell inside one token that has no space: a number, a code, an e-mail, a URL."""
    head, tail = _TOKEN_END.search(before), _TOKEN_START.match(after)
    if head is None or tail is None or not after[0].isascii() or not after[0].isalnum():
        return False
    token = head.group() + tail.group()
    last = before[-1]
    if (last.isdigit() or last in _DASHES) and _NUMBERISH.fullmatch(token):
        return True
    return last in _URL_BREAKS and bool(_EMAIL.fullmatch(token) or _URL.fullmatch(token))
