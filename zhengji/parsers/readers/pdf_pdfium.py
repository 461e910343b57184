"""A page's characters and ruling edges read by pypdfium2, in the dict shapes pdfplumber's own utilities take.

pdfplumber gets the same material by interpreting every content stream in Python (pdfminer), which costs some
hundred milliseconds a page; pdfium does it in C. The dicts carry what pdfplumber's table and text functions
read (``x0``, ``x1``, ``top``, ``bottom``, ``doctop``, ``width``, ``height``; ``text``, ``size``, ``upright``
for a character; ``orientation`` for an edge), with ``top`` measured down from the top of the page's media
box, as pdfplumber measures it, so that the table finder and the text grouping downstream are pdfplumber's
own code on either source.

Characters are boxed as pdfminer boxes them: from the pen position to the pen position plus the advance width,
and one font size high resting on the baseline. Edges are the axis-parallel straight segments of every painted
path, as pdfplumber turns lines, rectangles and polylines into edges.

:func:`read_page` returns None where pdfium's reading cannot be trusted to equal pdfplumber's: a rotated page, a
character drawn at an angle (sideways, mirrored or vertical text), a character pdfium cannot map to Unicode or
whose font declares no width for it, or a text object drawing glyphs pdfium left out of its text. The caller then
reads that page with pdfplumber.

Known differences from pdfminer, none of which moves a character across a cell or a line: a box rests on the
baseline where pdfminer lowers it by the font descriptor's Descent (LibreOffice writes 0 there, Word does not:
a whole font then sits a fraction of its size higher); a font with two glyphs for one character (a proportional
and a tabular "1") gets the first glyph's width; pdfplumber's edges from curves and from diagonal lines (which it
counts as vertical) are not made, since no table border is drawn so; and of several spaces in one text object
that pdfium leaves out (see :func:`_lost_spaces`), only the first and last are restored.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, field
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

__all__ = ["PageContent", "read_page"]

# Segments whose ends differ by less than this (points) across their direction are axis-parallel: pdfium gives
# single-precision coordinates, where pdfminer's equal ones come out equal.
_STRAIGHT = 0.01
# Unicode's replacement character and the private-use area stand for glyphs with no real text.
_REPLACEMENT = 0xFFFD
_PRIVATE_USE = range(0xE000, 0xF900)
# A generated character (a space or line break pdfium inferred from the layout) is not in the file.
_GENERATED = 1
# pdfium reports a hyphen that ends a line as this control character.
_HYPHEN = 0x02
_SPACE = 0x20


@dataclass
class PageContent:
    """What the table finder and the text grouping need from one page."""

    height: float
    chars: list[dict[str, Any]]
    edges: list[dict[str, Any]]


_Matrix = tuple[float, float, float, float, float, float]
_IDENTITY: _Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
# Forms nest rarely; a deeper nesting is not a form's table.
_MAX_DEPTH = 8


@dataclass
class _Run:
    """What one text object gives all its characters: the font, the font size and the scale it is drawn at."""

    font: Any
    font_size: float
    x_scale: float
    y_scale: float


@dataclass
class _Walk:
    """What one pass over a page's objects collects: the ruling edges, and the text objects with their matrices."""

    left: float
    top: float
    edges: list[dict[str, Any]] = field(default_factory=list)
    # Text objects by address, with the matrix that places them on the page (through any form XObjects).
    texts: dict[int, tuple[Any, _Matrix]] = field(default_factory=dict)


def read_page(page: pdfium.PdfPage) -> PageContent | None:
    """The page's characters and edges, or None where the page needs pdfplumber's reading (see the module)."""
    if pdfium_c.FPDFPage_GetRotation(page.raw) != 0:
        return None
    left, bottom, _right, top = page.get_mediabox()
    walk = _Walk(left=left, top=top)
    count = pdfium_c.FPDFPage_CountObjects(page.raw)
    _collect([pdfium_c.FPDFPage_GetObject(page.raw, index) for index in range(count)], _IDENTITY, walk, 0)
    textpage = page.get_textpage()
    try:
        chars = _chars(textpage, walk)
    finally:
        textpage.close()
    if chars is None:
        return None
    return PageContent(height=float(top - bottom), chars=chars, edges=walk.edges)


def _address(handle: Any) -> int:
    """A pdfium object's address: the same object reached from the page and from the text page compares equal."""
    return ctypes.cast(handle, ctypes.c_void_p).value or 0


def _chars(textpage: pdfium.PdfTextPage, walk: _Walk) -> list[dict[str, Any]] | None:
    """The page's characters in pdfminer's boxes; None if one is drawn at an angle or has no Unicode value."""
    handle = textpage.raw
    x, y = ctypes.c_double(), ctypes.c_double()
    runs: dict[int, _Run | None] = {}
    widths: dict[tuple[int, int], float] = {}
    # Per text object, the positions of its kept spaces, or None once it has kept anything else.
    blank: dict[int, list[float] | None] = {}
    chars: list[dict[str, Any]] = []
    for index in range(pdfium_c.FPDFText_CountChars(handle)):
        if pdfium_c.FPDFText_IsGenerated(handle, index) == _GENERATED:
            continue
        code = pdfium_c.FPDFText_GetUnicode(handle, index)
        if code == _HYPHEN:
            code = ord("-")
        if code in (0, _REPLACEMENT) or code in _PRIVATE_USE or pdfium_c.FPDFText_HasUnicodeMapError(handle, index):
            return None
        obj = pdfium_c.FPDFText_GetTextObject(handle, index)
        key = _address(obj)
        if key not in runs:
            placed = walk.texts.get(key)
            runs[key] = None if placed is None else _run(obj, placed[1])
            blank[key] = []
        run = runs[key]
        if run is None:
            return None
        pdfium_c.FPDFText_GetCharOrigin(handle, index, x, y)
        width = widths.get((key, code))
        if width is None:
            width = _advance(run, code)
            if width is None:
                return None
            widths[key, code] = width
        char = _char(chr(code), x.value - walk.left, walk.top - y.value, width, run)
        chars.append(char)
        spaces = blank[key]
        if spaces is not None:
            blank[key] = [*spaces, char["x0"]] if code == _SPACE else None
    for key, (obj, matrix) in walk.texts.items():
        spaces = blank.get(key, [])
        if spaces is not None:
            restored = _lost_spaces(obj, matrix, spaces, walk)
            if restored is None:
                return None
            chars.extend(restored)
    return chars


def _lost_spaces(obj: Any, matrix: _Matrix, kept: list[float], walk: _Walk) -> list[dict[str, Any]] | None:
    """The spaces pdfium left out of a text object that draws nothing but spaces; None if it draws ink.

    pdfium drops a text object of nothing but spaces from its text, or keeps only its first space, or puts a
    space of its own making in its place (LibreOffice draws the spaces beside CJK text so, in a Latin font).
    Such a space wrapped at a line's end is what tells a wrap at a space from a wrap inside a word, so the
    spaces at the object's two ends are restored: the object's bounds run from its first glyph's origin to its
    last one's. A space between them is lost, where pdfplumber would read it; the gap still separates words.
    """
    left, bottom, right, top = (ctypes.c_float() for _ in range(4))
    if not pdfium_c.FPDFPageObj_GetBounds(obj, left, bottom, right, top):
        return []
    if top.value - bottom.value > _STRAIGHT:
        return None
    run = _run(obj, matrix)
    if run is None:
        return None
    # A space's width only places its right end, which nothing reads; a font that cannot say it still draws it.
    width = _advance(run, _SPACE) or 0.0
    baseline = walk.top - matrix[5]
    spaces = []
    for x in {left.value - walk.left, right.value - walk.left}:
        if not any(abs(x - other) < _STRAIGHT * 10 for other in kept):
            spaces.append(_char(" ", x, baseline, width, run))
    return spaces


def _run(obj: Any, matrix: _Matrix) -> _Run | None:
    """The text object's font and scale, or None if its text is not upright (rotated, mirrored, skewed)."""
    a, b, c, d, _e, _f = matrix
    size = ctypes.c_float()
    if not pdfium_c.FPDFTextObj_GetFontSize(obj, size):
        return None
    if abs(b) > _STRAIGHT or abs(c) > _STRAIGHT or a <= 0 or d <= 0:
        return None
    return _Run(pdfium_c.FPDFTextObj_GetFont(obj), size.value, a, d)


def _advance(run: _Run, code: int) -> float | None:
    """The advance width of the character, from the widths the PDF's font declares, as pdfminer measures it."""
    width = ctypes.c_float()
    if not pdfium_c.FPDFFont_GetGlyphWidth(run.font, code, run.font_size, width):
        return None
    return float(width.value) * run.x_scale


def _char(text: str, x0: float, baseline: float, width: float, run: _Run) -> dict[str, Any]:
    """A pdfplumber character dict; the box rests on the baseline (LibreOffice gives its fonts no descent)."""
    size = run.font_size * run.y_scale
    return {
        "text": text,
        "x0": x0,
        "x1": x0 + width,
        "top": baseline - size,
        "bottom": baseline,
        "doctop": baseline - size,
        "width": width,
        "height": size,
        "size": size,
        "upright": True,
    }


def _collect(objects: list[Any], outer: _Matrix, walk: _Walk, depth: int) -> None:
    """Walk the objects (and the objects of form XObjects in them), collecting path edges and text objects."""
    for handle in objects:
        kind = pdfium_c.FPDFPageObj_GetType(handle)
        if kind not in (pdfium_c.FPDF_PAGEOBJ_PATH, pdfium_c.FPDF_PAGEOBJ_FORM, pdfium_c.FPDF_PAGEOBJ_TEXT):
            continue
        raw_matrix = pdfium_c.FS_MATRIX()
        pdfium_c.FPDFPageObj_GetMatrix(handle, raw_matrix)
        matrix = _compose((raw_matrix.a, raw_matrix.b, raw_matrix.c, raw_matrix.d, raw_matrix.e, raw_matrix.f), outer)
        if kind == pdfium_c.FPDF_PAGEOBJ_PATH:
            walk.edges.extend(_path_edges(handle, matrix, walk.left, walk.top))
        elif kind == pdfium_c.FPDF_PAGEOBJ_TEXT:
            walk.texts[_address(handle)] = (handle, matrix)
        elif depth < _MAX_DEPTH:
            count = pdfium_c.FPDFFormObj_CountObjects(handle)
            inner = [pdfium_c.FPDFFormObj_GetObject(handle, index) for index in range(count)]
            _collect(inner, matrix, walk, depth + 1)


def _compose(inner: _Matrix, outer: _Matrix) -> _Matrix:
    """The matrix applying ``inner`` first, then ``outer`` (PDF's row-vector convention)."""
    a, b, c, d, e, f = inner
    A, B, C, D, E, F = outer
    return (a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D, e * A + f * C + E, e * B + f * D + F)


def _path_edges(handle: Any, matrix: _Matrix, left: float, top: float) -> list[dict[str, Any]]:
    """The axis-parallel straight segments of a path, including each closed subpath's closing segment."""
    a, b, c, d, e, f = matrix
    edges: list[dict[str, Any]] = []
    x, y = ctypes.c_float(), ctypes.c_float()
    start: tuple[float, float] | None = None
    current: tuple[float, float] | None = None
    for index in range(pdfium_c.FPDFPath_CountSegments(handle)):
        segment = pdfium_c.FPDFPath_GetPathSegment(handle, index)
        pdfium_c.FPDFPathSegment_GetPoint(segment, x, y)
        point = (x.value * a + y.value * c + e, x.value * b + y.value * d + f)
        kind = pdfium_c.FPDFPathSegment_GetType(segment)
        if kind == pdfium_c.FPDF_SEGMENT_MOVETO:
            start = point
        elif kind == pdfium_c.FPDF_SEGMENT_LINETO and current is not None:
            edges.extend(_segment_edge(current, point, left, top))
        if pdfium_c.FPDFPathSegment_GetClose(segment) and start is not None:
            edges.extend(_segment_edge(point, start, left, top))
            point = start
        current = point
    return edges


def _segment_edge(
    first: tuple[float, float], second: tuple[float, float], left: float, top: float
) -> list[dict[str, Any]]:
    """The segment as a pdfplumber edge dict if it is horizontal or vertical; a slanted segment borders nothing."""
    (ax, ay), (bx, by) = first, second
    x0, x1 = sorted((ax - left, bx - left))
    upper, lower = sorted((top - ay, top - by))
    if abs(ax - bx) < _STRAIGHT:
        x0 = x1 = (x0 + x1) / 2
        orientation = "v"
    elif abs(ay - by) < _STRAIGHT:
        upper = lower = (upper + lower) / 2
        orientation = "h"
    else:
        return []
    return [
        {
            "x0": x0,
            "x1": x1,
            "top": upper,
            "bottom": lower,
            "doctop": upper,
            "width": x1 - x0,
            "height": lower - upper,
            "orientation": orientation,
        }
    ]
