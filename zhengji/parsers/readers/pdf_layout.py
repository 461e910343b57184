"""One PDF page's tables and paragraphs, from its characters and ruling edges.

The tables are found by pdfplumber's own table functions with pdfplumber's default settings (the "lines"
strategy): edges snapped and joined, their crossings, the cells those crossings enclose, the cells grouped into
tables. They run here on edges and characters handed in, whoever read them (pypdfium2, or pdfplumber itself),
so a page reads the same either way.

Merged cells are rebuilt from the cells' geometry: each cell's box covers several rows or columns of the grid
that the other cells' edges define, which is exact where guessing from the ``None`` placeholders of
``extract_tables`` is not (a ``None`` can be the tail of a horizontal or of a vertical merge).

Small raised characters beside the text (footnote marks, "m²") are written as Unicode superscripts before the
text is put together, so that a mark after a label does not run into it.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from pdfplumber import table as plumber_table
from pdfplumber import utils as plumber_utils

from zhengji.parsers.model import Block, Cell, Table
from zhengji.parsers.readers.pdf_pdfium import PageContent
from zhengji.parsers.readers.pdf_wrap import ITEM_START, Line, is_cjk, join_lines, join_wrapped_lines
from zhengji.parsers.readers.superscript import to_superscript

__all__ = ["EDGE_TOLERANCE", "Placed", "grid_index", "grid_lines", "page_blocks"]

# Grid edges closer than this (points) are the same edge.
EDGE_TOLERANCE = 1.0
# Characters whose tops differ by less than this (points) are on the same line, as pdfplumber itself reads.
_LINE_TOLERANCE = 3.0
# pdfplumber's TableSettings defaults.
_SNAP = 3.0
_JOIN = 3.0
_EDGE_MIN_PREFILTER = 1.0
_EDGE_MIN = 3.0
_INTERSECTION = 3.0
# A superscript beside a character of the body text: smaller than this share of its size, its baseline raised
# by more than this share of it, and no further from it than this share (LibreOffice's PDF export of 11 pt text
# sets a superscript at 58 % of the size, its baseline raised by 48 % of it, a fifth of the size away).
_SUPERSCRIPT_SIZE = 0.8
_SUPERSCRIPT_RAISE = 0.2
_SUPERSCRIPT_GAP = 0.3

_Box = tuple[float, float, float, float]


@dataclass
class Placed:
    """A block and where it starts on its page, for reading order."""

    top: float
    block: Block
    # A table's column edges on its page (points), to line up its continuation on the next page.
    xs: list[float] = field(default_factory=list)


def page_blocks(page: PageContent) -> list[Placed]:
    """One page's tables and paragraphs, ordered by their top edge."""
    chars = _superscripts(page.chars)
    found = _find_tables(page.edges)
    boxes = [_bbox(cells) for cells in found]
    placed = [Placed(box[1], *_table_from(chars, cells)) for box, cells in zip(boxes, found, strict=True)]

    def outside_tables(obj: dict[str, Any]) -> bool:
        x_mid = (obj["x0"] + obj["x1"]) / 2
        y_mid = (obj["top"] + obj["bottom"]) / 2
        return not any(x0 <= x_mid <= x1 and top <= y_mid <= bottom for x0, top, x1, bottom in boxes)

    rest = [char for char in chars if outside_tables(char)]
    if rest:
        textmap = plumber_utils.chars_to_textmap(rest)
        placed.extend(_paragraphs(textmap.extract_text_lines(return_chars=False)))
    placed.sort(key=lambda item: item.top)
    return placed


def _superscripts(chars: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The characters with those set superscript written as Unicode superscripts ("新职业名称¹", "m²").

    In a PDF a footnote mark typed after a label is a small raised glyph; read as a plain digit it runs into the
    label. A character is a superscript when it sits, small and raised, right beside a character of the body
    text that comes before or after it in the content stream, where every writer puts a mark next to the text
    it belongs to; the others of a mark of several characters ("12", "(1)") sit beside it at the same size and
    height. Comparing only stream neighbours keeps this to one pass over the sizes, and to a few geometric
    tests where a character is much smaller than a neighbour.
    """
    sizes = [float(char["size"]) for char in chars]
    limits = [_SUPERSCRIPT_SIZE * size for size in sizes]
    last = len(chars) - 1
    marked = {
        index
        for index in range(len(chars))
        if (index > 0 and sizes[index] < limits[index - 1] and _raised_beside(chars[index], chars[index - 1], True))
        or (index < last and sizes[index] < limits[index + 1] and _raised_beside(chars[index], chars[index + 1], False))
    }
    if not marked:
        return chars
    for start in sorted(marked):
        index = start
        while index < last and index + 1 not in marked and _same_mark(chars[index], chars[index + 1]):
            index += 1
            marked.add(index)
        index = start
        while index > 0 and index - 1 not in marked and _same_mark(chars[index - 1], chars[index]):
            index -= 1
            marked.add(index)
    result = list(chars)
    for index in marked:
        char = chars[index]
        text = to_superscript(str(char["text"]))
        if text != char["text"]:
            result[index] = {**char, "text": text}
    return result


def _raised_beside(char: dict[str, Any], body: dict[str, Any], after: bool) -> bool:
    """Whether ``char`` is a superscript of ``body``, the character before it (``after``) or after it."""
    size = float(body["size"])
    if float(char["size"]) >= _SUPERSCRIPT_SIZE * size:
        return False
    # Raised: its baseline above the body's by a clear margin, yet inside the body's line.
    if not float(body["top"]) < float(char["bottom"]) < float(body["bottom"]) - _SUPERSCRIPT_RAISE * size:
        return False
    gap = float(char["x0"]) - float(body["x1"]) if after else float(body["x0"]) - float(char["x1"])
    return -_SUPERSCRIPT_GAP * size <= gap <= _SUPERSCRIPT_GAP * size


def _same_mark(first: dict[str, Any], second: dict[str, Any]) -> bool:
    """Whether two characters, one after the other, are set alike and side by side, as one mark's are."""
    size = float(first["size"])
    return (
        abs(float(second["size"]) - size) <= 0.05 * size
        and abs(float(second["bottom"]) - float(first["bottom"])) <= 0.1 * size
        and abs(float(second["x0"]) - float(first["x1"])) <= _SUPERSCRIPT_GAP * size
    )


def _find_tables(page_edges: list[dict[str, Any]]) -> list[list[_Box]]:
    """The cells of each ruled table, as ``pdfplumber.TableFinder`` finds them with its default settings."""
    candidates = plumber_utils.filter_edges(page_edges, min_length=_EDGE_MIN_PREFILTER)
    if not candidates:
        return []
    merged = plumber_table.merge_edges(candidates, _SNAP, _SNAP, _JOIN, _JOIN)
    kept = plumber_utils.filter_edges(merged, min_length=_EDGE_MIN)
    intersections = plumber_table.edges_to_intersections(kept, _INTERSECTION, _INTERSECTION)
    cells = plumber_table.intersections_to_cells(intersections)
    return [
        [(float(a), float(b), float(c), float(d)) for a, b, c, d in group]
        for group in plumber_table.cells_to_tables(cells)
    ]


def _bbox(cells: Sequence[_Box]) -> _Box:
    return (
        min(cell[0] for cell in cells),
        min(cell[1] for cell in cells),
        max(cell[2] for cell in cells),
        max(cell[3] for cell in cells),
    )


def _paragraphs(lines: Sequence[dict[str, Any]]) -> list[Placed]:
    """Text lines joined into paragraphs where a line runs on into the next one.

    A line continues the previous one when it follows closely below and the previous line reaches the right
    edge of the text (it was wrapped, not ended), unless it starts a new numbered item.
    """
    if not lines:
        return []
    right_edge = max(float(line["x1"]) for line in lines)
    result: list[Placed] = []
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
            and not ITEM_START.match(text)
        )
        if runs_on:
            result[-1].block = join_wrapped_lines(f"{result[-1].block}\n{text}")
        else:
            result.append(Placed(float(line["top"]), text))
        previous = line
    return result


def _table_from(chars: Sequence[dict[str, Any]], cells_boxes: list[_Box]) -> tuple[Table, list[float]]:
    """Our Table from a table's cell boxes, and its column edges: grid from the cells' edges, spans from boxes."""
    xs = grid_lines([box[0] for box in cells_boxes] + [box[2] for box in cells_boxes])
    ys = grid_lines([box[1] for box in cells_boxes] + [box[3] for box in cells_boxes])
    # The characters by the height of their centres, so that each cell looks only at those of its own rows.
    placed = sorted(((char["top"] + char["bottom"]) / 2, order, char) for order, char in enumerate(chars))
    centres = [item[0] for item in placed]
    cells: list[Cell] = []
    for x0, top, x1, bottom in sorted(cells_boxes, key=lambda box: (box[1], box[0])):
        col, col_end = grid_index(xs, x0), grid_index(xs, x1)
        row, row_end = grid_index(ys, top), grid_index(ys, bottom)
        if col_end <= col or row_end <= row:
            continue
        band = placed[bisect_left(centres, top) : bisect_left(centres, bottom)]
        text = _cell_text([char for _, _, char in sorted(band, key=itemgetter(1))], (x0, top, x1, bottom))
        cells.append(Cell(row=row, col=col, rowspan=row_end - row, colspan=col_end - col, text=text))
    return Table(cells=cells, n_rows=max(len(ys) - 1, 0), n_cols=max(len(xs) - 1, 0)), xs


def grid_lines(values: list[float], tolerance: float = EDGE_TOLERANCE) -> list[float]:
    """Distinct grid lines, with near-equal coordinates merged."""
    result: list[float] = []
    for value in sorted(values):
        if not result or value - result[-1] > tolerance:
            result.append(value)
    return result


def grid_index(grid: list[float], value: float, tolerance: float = EDGE_TOLERANCE) -> int:
    """The index of the grid line at ``value``."""
    position = bisect_left(grid, value - tolerance)
    return min(position, len(grid) - 1)


def _cell_text(chars: Sequence[dict[str, Any]], box: _Box) -> str:
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
    lines: list[Line] = []
    for cluster in plumber_utils.cluster_objects(inside, "top", _LINE_TOLERANCE):
        text = str(plumber_utils.extract_text(cluster)).strip()
        if not text:
            continue
        ordered = sorted(cluster, key=lambda char: float(char["x0"]))
        visible = [char for char in ordered if not str(char["text"]).isspace()]
        lines.append(
            Line(
                text=text,
                spaced=str(ordered[-1]["text"]).isspace(),
                room=right - float(visible[-1]["x1"]),
                lead=_lead_width(visible),
            )
        )
    return join_lines(lines, None)


def _lead_width(chars: Sequence[dict[str, Any]]) -> float:
    """The width of a line's first word: its first CJK character, or its first run of other characters."""
    first = str(chars[0]["text"])
    end = 0
    if not (first and is_cjk(first[0])):
        while end + 1 < len(chars):
            text = str(chars[end + 1]["text"])
            if not text or is_cjk(text[0]):
                break
            # A gap wider than a space ends the word, as pdfplumber reads it.
            if float(chars[end + 1]["x0"]) - float(chars[end]["x1"]) > _LINE_TOLERANCE:
                break
            end += 1
    return float(chars[end]["x1"]) - float(chars[0]["x0"])
