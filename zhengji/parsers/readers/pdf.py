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
from dataclasses import dataclass, field, replace
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
# The same column edge on two pages may move by this much (points): borders are drawn a little differently.
_ALIGN_TOLERANCE = 2.0
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
_COMPLETE_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}", re.ASCII)
_URL = re.compile(r"(?:https?://|www\.)[\w\-./?%&=#:~+@]+", re.ASCII)
# Where a line breaker may split an address: after a hyphen, a dot, a slash, an at sign, an underscore or a digit.
_URL_BREAKS = _DASHES + "./@_:=&?#0123456789"


@dataclass
class _Placed:
    """A block and where it starts on its page, for reading order."""

    top: float
    block: Block
    # A table's column edges on its page (points), to line up its continuation on the next page.
    xs: list[float] = field(default_factory=list)


@dataclass
class _OpenTable:
    """The table the next page may continue: its index in the blocks, and its column edges."""

    index: int
    xs: list[float]


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
    open_table: _OpenTable | None = None
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


def _append_page(
    blocks: list[Block], placed: list[_Placed], page_height: float, open_table: _OpenTable | None
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
    xs = _edges(first_xs + second_xs, _ALIGN_TOLERANCE)
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
        col = _index(union, xs[cell.col], _ALIGN_TOLERANCE)
        end = _index(union, xs[cell.col + cell.colspan], _ALIGN_TOLERANCE)
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


def _page_blocks(page: Any) -> list[_Placed]:
    """One page's tables and paragraphs, ordered by their top edge."""
    found = page.find_tables()
    boxes = [table.bbox for table in found]
    placed = [_Placed(float(table.bbox[1]), *_table_from(page, table)) for table in found]

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


def _table_from(page: Any, found: Any) -> tuple[Table, list[float]]:
    """Our Table from a pdfplumber table, and its column edges: grid from the cells' edges, spans from boxes."""
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
    return Table(cells=cells, n_rows=max(len(ys) - 1, 0), n_cols=max(len(xs) - 1, 0)), xs


def _edges(values: list[float], tolerance: float = _EDGE_TOLERANCE) -> list[float]:
    """Distinct grid lines, with near-equal coordinates merged."""
    edges: list[float] = []
    for value in sorted(values):
        if not edges or value - edges[-1] > tolerance:
            edges.append(value)
    return edges


def _index(edges: list[float], value: float, tolerance: float = _EDGE_TOLERANCE) -> int:
    """The index of the grid line at ``value``."""
    position = bisect_left(edges, value - tolerance)
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
    texts = [line.text for line in kept]
    # Breaks that may fall inside a token: Latin on both sides, no space kept, and the line above was full
    # (a break that left room for the next line's first word was not a wrap inside that word).
    inside_word = [
        not is_item(line.text)
        and not previous.spaced
        and not _is_cjk(previous.text[-1])
        and not _is_cjk(line.text[0])
        and previous.room < line.lead + _FIT_SLACK
        for previous, line in itertools.pairwise(kept)
    ]
    in_token = _token_breaks(texts, inside_word)
    joined = texts[0]
    for index, (previous, line) in enumerate(itertools.pairwise(kept)):
        if is_item(line.text):
            joined += "\n"
        elif previous.spaced or not (_is_cjk(previous.text[-1]) or _is_cjk(line.text[0]) or in_token[index]):
            joined += " "
        joined += line.text
    return joined


def _token_breaks(texts: Sequence[str], inside_word: Sequence[bool]) -> list[bool]:
    """For each break between lines, whether it splits one token: a number, a code, an e-mail, a URL.

    A long token may run over several lines ("wangm" "in@yiw" "u-" "tech.cn" in a narrow cell); each break
    is judged on the whole token, read across the neighbouring breaks that may fall inside it too.
    """
    result = []
    for index, candidate in enumerate(inside_word):
        if not candidate:
            result.append(False)
            continue
        piece, start = _run_end(texts[index]), index
        head = piece
        while piece == texts[start] and start > 0 and inside_word[start - 1]:
            start -= 1
            piece = _run_end(texts[start])
            head = piece + head
        piece, end = _run_start(texts[index + 1]), index + 1
        tail = piece
        while piece == texts[end] and end < len(inside_word) and inside_word[end]:
            end += 1
            piece = _run_start(texts[end])
            tail += piece
        result.append(_splits_one_token(head, tail))
    return result


def _run_end(text: str) -> str:
    found = _TOKEN_END.search(text)
    return found.group() if found else ""


def _run_start(text: str) -> str:
    found = _TOKEN_START.match(text)
    return found.group() if found else ""


def _splits_one_token(head: str, tail: str) -> bool:
    """Whether ``head`` and ``tail``, a token's parts before and after a break, are one token with no space.

    A number or code breaks after a digit or a dash. An address breaks after its punctuation, or anywhere
    when it is too long for the cell; a complete address before the break is followed by a new word instead.
    """
    if not head or not tail or not tail[0].isascii() or not tail[0].isalnum():
        return False
    token, last = head + tail, head[-1]
    if (last.isdigit() or last in _DASHES) and tail[0].isdigit() and _NUMBERISH.fullmatch(token):
        return True
    if not (_EMAIL.fullmatch(token) or _URL.fullmatch(token)):
        return False
    return last in _URL_BREAKS or not (_COMPLETE_EMAIL.fullmatch(head) or _URL.fullmatch(head))
