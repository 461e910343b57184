"""Read a Word 2007+ file (.docx) into a format-neutral :class:`Layout`.

The text is read from the XML itself, not through python-docx's objects: ``row.cells`` repeats a merged cell
once per grid column it covers, and the ``text`` properties drop what applicants' forms are full of — content
controls, Wingdings tick boxes, legacy form fields, textboxes and seal pictures. Walking lxml elements with
precomputed tag names is also what keeps a five-page form well inside the parse budget, and for the same
reason the package is opened here rather than by ``docx.Document``: python-docx parses every XML part of the
package (styles.xml alone is 350 KB in files made from its template or re-saved by LibreOffice), which costs
8–10 ms, while the three parts a reader needs take well under one.

Blocks come in reading order as a clerk sees the printed form: page-header paragraphs first (a retyped form
often carries its title there), then the body's paragraphs and tables, then the footers. Text set superscript
reads as Unicode superscripts ("新职业名称¹", "m²"; see :mod:`zhengji.parsers.readers.superscript`).
"""

from __future__ import annotations

import io
import posixpath
import re
import urllib.parse
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from lxml import etree

from zhengji.parsers.model import CHECKED, PICTURE, UNCHECKED, Block, Cell, Layout, Table, Unreadable
from zhengji.parsers.readers.superscript import to_superscript

CORRUPT = "该 Word 文件已损坏，无法打开，请重新导出 .docx 或 PDF 后发送。"
ENCRYPTED = "该 Word 文件设有打开密码，请取消密码后重新发送。"
LEGACY_DOC = "该文件实为旧版 Word（.doc）格式，无法按 .docx 读取，请另存为 .docx 或 PDF 后重新发送。"
TOO_LARGE = "该 Word 文件内容异常庞大，无法正常读取，请检查后重新导出 .docx 或 PDF 发送。"
TRACKED_CHANGES = "该 Word 文件含有未处理的修订标记，已按接受全部修订后的内容读取。"

# Parts larger than this are refused before they are unpacked (see _Package._parse).
MAX_XML_PART_BYTES = 50 * 1024 * 1024
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# An Office file protected by an opening password is an OLE compound file holding these two streams.
_ENCRYPTION_STREAMS = ("EncryptionInfo".encode("utf-16-le"), "EncryptedPackage".encode("utf-16-le"))
_R_PACKAGE_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_RELATIONSHIP = f"{{{_R_PACKAGE_NS}}}Relationship"
# The main document's relationship type (ECMA-376 Part 1, 15.2.12.1); spelled out rather than imported from
# python-docx, whose import alone costs ~50 ms on every `zhengji check`.
_OFFICE_DOCUMENT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
_STYLES = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles"
# A chain of character styles each based on the next is followed this far; a longer one is a loop.
_MAX_STYLE_DEPTH = 16

_W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_W14_NS = "http://schemas.microsoft.com/office/word/2010/wordml"
_MC_NS = "http://schemas.openxmlformats.org/markup-compatibility/2006"
_R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_A_NS = "http://schemas.openxmlformats.org/drawingml/2006/main"
_V_NS = "urn:schemas-microsoft-com:vml"
_M_NS = "http://schemas.openxmlformats.org/officeDocument/2006/math"


def _w(name: str) -> str:
    return f"{{{_W_NS}}}{name}"


# Qualified names, computed once: the walk compares tags millions of times on a large form.
W_DOCUMENT, W_BODY, W_P, W_T, W_TBL, W_TR, W_TC = (
    _w("document"),
    _w("body"),
    _w("p"),
    _w("t"),
    _w("tbl"),
    _w("tr"),
    _w("tc"),
)
W_TAB, W_PTAB, W_BR, W_CR = _w("tab"), _w("ptab"), _w("br"), _w("cr")
W_NO_BREAK_HYPHEN, W_SOFT_HYPHEN, W_SYM = _w("noBreakHyphen"), _w("softHyphen"), _w("sym")
W_SDT, W_SDT_PR, W_SDT_CONTENT, W_SHOWING_PLACEHOLDER = _w("sdt"), _w("sdtPr"), _w("sdtContent"), _w("showingPlcHdr")
W_CUSTOM_XML = _w("customXml")
W_DEL, W_INS, W_MOVE_FROM = _w("del"), _w("ins"), _w("moveFrom")
W_FLD_CHAR, W_FF_DATA, W_CHECK_BOX, W_DD_LIST = _w("fldChar"), _w("ffData"), _w("checkBox"), _w("ddList")
W_CHECKED, W_DEFAULT, W_RESULT, W_LIST_ENTRY = _w("checked"), _w("default"), _w("result"), _w("listEntry")
W_DRAWING, W_PICT, W_OBJECT, W_TXBX_CONTENT = _w("drawing"), _w("pict"), _w("object"), _w("txbxContent")
W_TBL_GRID, W_GRID_COL, W_TR_PR, W_TC_PR = _w("tblGrid"), _w("gridCol"), _w("trPr"), _w("tcPr")
W_GRID_SPAN, W_GRID_BEFORE, W_GRID_AFTER = _w("gridSpan"), _w("gridBefore"), _w("gridAfter")
W_V_MERGE, W_H_MERGE = _w("vMerge"), _w("hMerge")
W_SECT_PR, W_SECT_PR_CHANGE, W_HEADER_REF, W_FOOTER_REF, W_TITLE_PG = (
    _w("sectPr"),
    _w("sectPrChange"),
    _w("headerReference"),
    _w("footerReference"),
    _w("titlePg"),
)
W_RPR, W_RFONTS = _w("rPr"), _w("rFonts")
W_R, W_VERT_ALIGN, W_R_STYLE = _w("r"), _w("vertAlign"), _w("rStyle")
W_STYLE, W_STYLE_ID, W_BASED_ON = _w("style"), _w("styleId"), _w("basedOn")
W_VAL, W_TYPE, W_FONT, W_CHAR, W_FLD_CHAR_TYPE = _w("val"), _w("type"), _w("font"), _w("char"), _w("fldCharType")
W_ASCII, W_H_ANSI, W_EAST_ASIA = _w("ascii"), _w("hAnsi"), _w("eastAsia")
W14_CHECKBOX, W14_CHECKED, W14_VAL = f"{{{_W14_NS}}}checkbox", f"{{{_W14_NS}}}checked", f"{{{_W14_NS}}}val"
MC_ALTERNATE, MC_CHOICE, MC_FALLBACK = f"{{{_MC_NS}}}AlternateContent", f"{{{_MC_NS}}}Choice", f"{{{_MC_NS}}}Fallback"
R_ID = f"{{{_R_NS}}}id"
A_BLIP, V_IMAGEDATA, M_T = f"{{{_A_NS}}}blip", f"{{{_V_NS}}}imagedata", f"{{{_M_NS}}}t"

# Elements whose content is never text the applicant sees: properties, deleted revisions, field instructions,
# bookmarks and proofing marks. Everything not named here or handled below is walked for the text inside it.
_SKIPPED = frozenset(
    {
        _w("pPr"),
        W_RPR,
        W_DEL,
        W_MOVE_FROM,
        _w("delText"),
        _w("instrText"),
        _w("delInstrText"),
        _w("sdtEndPr"),
        _w("proofErr"),
        _w("rt"),  # ruby (phonetic guide) text above the base text
        _w("bookmarkStart"),
        _w("bookmarkEnd"),
        _w("commentRangeStart"),
        _w("commentRangeEnd"),
        _w("commentReference"),
        _w("footnoteReference"),
        _w("endnoteReference"),
        _w("annotationRef"),
        _w("lastRenderedPageBreak"),
        _w("fldData"),
        _w("permStart"),
        _w("permEnd"),
        MC_FALLBACK,
    }
)

# Tick-box glyphs of the symbol fonts, by (font, character code); the Unicode equivalents are those of the
# Wingdings mappings added in Unicode 7.0. Word's "insert symbol" writes the boxes of Wingdings: F0A8 ◻ and
# F06F □ empty, F0FE ☑ ticked, F0FD ☒ and F078 ⌧ crossed. WPS writes those of Wingdings 2: F0A3 □ empty, F052 ☑
# ticked, F053 ☒ and F054 crossed. A crossed box is a ticked one on a Chinese form. The bare marks (Wingdings 2
# F050, Wingdings F0FC: ✓; Wingdings F06E: ■) become the text glyph, so "(✓)" reads as a ticked bracket.
_WINGDINGS = {
    0xF0A8: UNCHECKED,
    0xF06F: UNCHECKED,
    0xF0FE: CHECKED,
    0xF0FD: CHECKED,
    0xF078: CHECKED,
    0xF0FC: "✓",
    0xF06E: "■",
}
_WINGDINGS_2 = {0xF0A3: UNCHECKED, 0xF052: CHECKED, 0xF053: CHECKED, 0xF054: CHECKED, 0xF050: "✓"}
_SYMBOL_FONTS = {"wingdings": _WINGDINGS, "wingdings 2": _WINGDINGS_2}
# The font name is not reliable: files from WPS are reported to name "Wingdings" with the Wingdings 2 codes, and a
# run may carry no font at all. The two tables share no code, so a code not found under its own font is looked
# up in their union; in plain Wingdings those Wingdings 2 codes are pictographs (a sun at F052) no form uses.
_ANY_WINGDINGS = {**_WINGDINGS, **_WINGDINGS_2}
# Symbol-font glyphs typed as text rather than as w:sym land in this private-use range.
_PRIVATE_USE = re.compile("[\uf020-\uf0ff]")


@dataclass
class _WorkCell:
    row: int
    col: int
    rowspan: int
    colspan: int
    text: str

    def frozen(self) -> Cell:
        return Cell(self.row, self.col, self.rowspan, self.colspan, self.text)


def read_docx(data: bytes) -> Layout:
    """Turn the bytes of a .docx into blocks in reading order, or raise :class:`Unreadable` in Chinese."""
    document, body, headers, footers = _open(data)
    layout = Layout(format="docx")
    for part in headers:
        layout.blocks.extend(_blocks(part))
    layout.blocks.extend(_blocks(body))
    for part in footers:
        layout.blocks.extend(_blocks(part))
    if _has_revisions(document):
        layout.notes.append(TRACKED_CHANGES)
    return layout


def _open(data: bytes) -> tuple[Any, Any, list[Any], list[Any]]:
    """The main document element, its body, and the header and footer elements that print."""
    if data.startswith(_OLE_MAGIC):
        raise Unreadable(ENCRYPTED if any(name in data for name in _ENCRYPTION_STREAMS) else LEGACY_DOC)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            package = _Package(archive)
            main = package.main_part()
            document = package.xml(main)
            body = _child(document, W_BODY) if document.tag == W_DOCUMENT else None
            if body is None:
                raise Unreadable(CORRUPT)
            relationships = package.relationships(main)
            headers, footers = _header_footer_parts(document, relationships, package)
            _mark_superscripts([document, *headers, *footers], lambda: _superscript_styles(package, relationships))
    except Unreadable:
        raise
    except Exception as error:
        # A broken package fails in many ways (a bad zip, a missing part, broken XML, a bad CRC, a dangling
        # relationship); to the sender they are all the same file that will not open.
        raise Unreadable(CORRUPT) from error
    return document, body, headers, footers


class _Package:
    """The parts of an OPC package (the zip inside a .docx) that the reader needs, found by relationship."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self._archive = archive
        # Entities are never expanded and nothing is fetched: a document is data, not instructions. A parser per
        # package, because lxml parsers must not be shared between threads.
        self._parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True, remove_pis=True)
        # Part names compare case-insensitively in OPC; zip member names do not.
        self._members = {info.filename.lower(): info for info in archive.infolist()}

    def main_part(self) -> str:
        """The main document's part name, from the package relationships (word/document.xml by convention)."""
        for rel_type, target in self.relationships("").values():
            if rel_type == _OFFICE_DOCUMENT:
                return target
        return "word/document.xml"

    def relationships(self, part: str) -> dict[str, tuple[str, str]]:
        """A part's relationships: id → (type, target part name); external targets are left out."""
        folder, name = posixpath.split(part)
        rels = self._members.get(posixpath.join(folder, "_rels", f"{name}.rels").lower())
        if rels is None:
            return {}
        found: dict[str, tuple[str, str]] = {}
        for rel in self._parse(rels):
            if rel.tag != _RELATIONSHIP or rel.get("TargetMode") == "External":
                continue
            target = urllib.parse.unquote(rel.get("Target", ""))
            resolved = posixpath.normpath(posixpath.join("/" + folder, target)).lstrip("/")
            found[rel.get("Id", "")] = (rel.get("Type", ""), resolved)
        return found

    def xml(self, part: str) -> Any:
        info = self._members.get(part.lower())
        if info is None:
            raise Unreadable(CORRUPT)
        return self._parse(info)

    def raw(self, part: str) -> bytes | None:
        """A part's bytes, or None when the package has no such part or it is too large to be a form's."""
        info = self._members.get(part.lower())
        if info is None or info.file_size > MAX_XML_PART_BYTES:
            return None
        return self._archive.read(info)

    def parse(self, raw: bytes) -> Any:
        return etree.fromstring(raw, self._parser)

    def _parse(self, info: zipfile.ZipInfo) -> Any:
        # A filled form's document.xml is well under 1 MB; an XML part this large is a zip bomb or not a form.
        if info.file_size > MAX_XML_PART_BYTES:
            raise Unreadable(TOO_LARGE)
        return self.parse(self._archive.read(info))


def _header_footer_parts(
    document: Any, relationships: dict[str, tuple[str, str]], package: _Package
) -> tuple[list[Any], list[Any]]:
    """The header and footer elements that print, once each, section by section.

    A section's first-page header prints only when the section asks for a distinct first page (``w:titlePg``);
    even-page headers repeat the default one on a form and are left out.
    """
    headers: list[Any] = []
    footers: list[Any] = []
    seen: set[str] = set()
    for sect_pr in document.iter(W_SECT_PR):
        if sect_pr.getparent().tag == W_SECT_PR_CHANGE:
            continue
        wanted = ("first", "default") if _child(sect_pr, W_TITLE_PG) is not None else ("default",)
        for tag, found in ((W_HEADER_REF, headers), (W_FOOTER_REF, footers)):
            references = {ref.get(W_TYPE, "default"): ref.get(R_ID) for ref in sect_pr if ref.tag == tag}
            for kind in wanted:
                target = relationships.get(references.get(kind) or "")
                if target is None or target[1] in seen:
                    continue
                seen.add(target[1])
                found.append(package.xml(target[1]))
    return headers, footers


def _mark_superscripts(parts: list[Any], superscript_styles: Callable[[], frozenset[str]]) -> None:
    """Rewrite the text of superscript runs as Unicode superscripts, in the parsed XML, before it is read.

    A footnote mark typed after a label ("新职业名称" and a superscript "1") must not read as part of the label.
    A run is superscript by its own ``w:vertAlign``, or else by its character style; the styles part is read
    only when some run names a style, and is then searched only if it mentions superscript at all. Looking the
    two elements up through lxml's C iteration leaves the walk over the text as fast as it was.
    """
    styles: frozenset[str] | None = None
    for part in parts:
        for mark in part.iter(W_VERT_ALIGN, W_R_STYLE):
            properties = mark.getparent()
            run = properties.getparent() if properties is not None and properties.tag == W_RPR else None
            if run is None or run.tag != W_R:
                continue  # a paragraph mark's properties, or the old properties of a tracked format change
            if mark.tag == W_VERT_ALIGN:
                superscript = mark.get(W_VAL) == "superscript"
            elif _child(properties, W_VERT_ALIGN) is None:
                styles = superscript_styles() if styles is None else styles
                superscript = mark.get(W_VAL) in styles
            else:
                continue  # the run's own vertical alignment wins over its style's
            if superscript:
                for text in run:
                    if text.tag == W_T and text.text:
                        text.text = to_superscript(text.text)


def _superscript_styles(package: _Package, relationships: dict[str, tuple[str, str]]) -> frozenset[str]:
    """The ids of the character styles that set their text superscript, themselves or through ``w:basedOn``."""
    part = next((target for kind, target in relationships.values() if kind == _STYLES), None)
    try:
        raw = package.raw(part) if part is not None else None
        if raw is None or b"superscript" not in raw:
            return frozenset()
        root = package.parse(raw)
    except Exception:
        # Broken styles (a bad CRC, broken XML) cost only the marks set by a style, not the whole document,
        # which Word itself still opens.
        return frozenset()
    based_on: dict[str, str] = {}
    aligned: dict[str, str] = {}
    for style in root:
        if style.tag != W_STYLE or style.get(W_TYPE) != "character":
            continue
        style_id = style.get(W_STYLE_ID, "")
        parent = _child(style, W_BASED_ON)
        if parent is not None:
            based_on[style_id] = parent.get(W_VAL, "")
        properties = _child(style, W_RPR)
        align = _child(properties, W_VERT_ALIGN) if properties is not None else None
        if align is not None:
            aligned[style_id] = align.get(W_VAL, "")
    found = set()
    for style_id in based_on.keys() | aligned.keys():
        current: str | None = style_id
        for _ in range(_MAX_STYLE_DEPTH):
            if current is None or current in aligned:
                break
            current = based_on.get(current)
        if current is not None and aligned.get(current) == "superscript":
            found.add(style_id)
    return frozenset(found)


def _has_revisions(document: Any) -> bool:
    return any(True for _ in document.iter(W_DEL, W_INS, W_MOVE_FROM))


def _child(element: Any, tag: str) -> Any:
    """The first child with ``tag``, or None (lxml's ``find`` without the path parsing)."""
    for child in element:
        if child.tag == tag:
            return child
    return None


def _blocks(container: Any) -> Iterator[Block]:
    """Paragraphs and tables of a body, header, footer, text box or layout cell, in reading order.

    A form's block often sits in a container rather than in the body: a text box or frame (LibreOffice writes
    a .doc's frames as text boxes), or a one-cell layout table drawn round a section. Such a container that
    holds a table is read as blocks of its own, right after its anchor paragraph or in place of its row, so
    that the extractors find the section's table as a table and not as one flattened line of text.
    """
    for child in _content(container):
        if child.tag == W_P:
            boxes = _lifted_boxes(child)
            text = _paragraph_text(child)
            if text.strip():
                yield text
            for box in boxes:
                yield from _blocks(box)
        elif child.tag == W_TBL:
            yield from _table_blocks(child)


def _lifted_boxes(paragraph: Any) -> list[Any]:
    """The text boxes anchored in ``paragraph`` that hold blocks, detached so the paragraph's text skips them.

    Only the copy Word shows is taken (``mc:Choice`` before the VML ``mc:Fallback`` duplicate), and only the
    outermost box. A box of one line stays inline in its anchor paragraph, where a signature line
    ("建议人（盖章或签字）：" and a name in a box) is read as one line; a box with a table or several
    paragraphs is a part of the form and is read as one.
    """
    if next(paragraph.iter(W_TXBX_CONTENT), None) is None:
        return []
    boxes: list[Any] = []
    _scan_graphic(paragraph, boxes)
    lifted = [box for box in boxes if _holds_blocks(box)]
    for box in lifted:
        box.getparent().remove(box)
    return lifted


def _content(container: Any, wanted: tuple[str, ...] = (W_P, W_TBL)) -> Iterator[Any]:
    """Children with a wanted tag, looking through content controls and custom XML that wrap them."""
    for child in container:
        tag = child.tag
        if tag in wanted:
            yield child
        elif tag == W_SDT:
            if not _showing_placeholder(child):
                content = _child(child, W_SDT_CONTENT)
                if content is not None:
                    yield from _content(content, wanted)
        elif tag == W_CUSTOM_XML:
            yield from _content(child, wanted)


# --- tables -------------------------------------------------------------------------------------------------


def _holds_blocks(box: Any) -> bool:
    if next(box.iter(W_TBL), None) is not None:
        return True
    lines = 0
    for child in _content(box, (W_P,)):
        if _paragraph_text(child).strip():
            lines += 1
            if lines > 1:
                return True
    return False


def _table_blocks(tbl: Any) -> Iterator[Block]:
    """A table, or, where rows of it are single cells holding tables (a layout box), the blocks in order.

    Rows before and after such a row stay tables of their own; the box's content is read as a body is.
    """
    rows = list(_content(tbl, (W_TR,)))
    segment: list[Any] = []
    split = False
    for tr in rows:
        holder = _layout_cell(tr)
        if holder is None:
            segment.append(tr)
            continue
        split = True
        if segment:
            yield _table(tbl, segment)
            segment = []
        yield from _blocks(holder)
    if segment or not split:
        yield _table(tbl, segment)


def _layout_cell(tr: Any) -> Any:
    """The row's only cell when it spans the whole row and holds a table; None for a row of a form table.

    A cell beside other cells that holds a table is a value (a list typed as a small table) and stays text of
    its cell.
    """
    cells = list(_content(tr, (W_TC,)))
    if len(cells) != 1:
        return None
    tr_pr = _child(tr, W_TR_PR)
    if _int_val(tr_pr, W_GRID_BEFORE, 0) or _int_val(tr_pr, W_GRID_AFTER, 0):
        return None
    if any(child.tag == W_TBL for child in _content(cells[0])):
        return cells[0]
    return None


def _table(tbl: Any, rows: list[Any]) -> Table:
    """Rows of a table as unique cells on its grid: spans from gridSpan, vMerge, hMerge, gridBefore, gridAfter."""
    grid = _child(tbl, W_TBL_GRID)
    grid_cols = sum(1 for col in grid if col.tag == W_GRID_COL) if grid is not None else 0
    cells: list[_WorkCell] = []
    above: dict[int, _WorkCell] = {}  # grid column → the cell covering it in the previous row
    widest = 0
    n_rows = 0
    for row_index, tr in enumerate(rows):
        n_rows = row_index + 1
        tr_pr = _child(tr, W_TR_PR)
        col = _int_val(tr_pr, W_GRID_BEFORE, 0)
        here: dict[int, _WorkCell] = {}
        previous: _WorkCell | None = None
        for tc in _content(tr, (W_TC,)):
            span, v_continue, h_continue = _cell_properties(tc)
            text = _cell_text(tc)
            cell: _WorkCell | None = None
            if h_continue and previous is not None and previous.row == row_index:
                # Old-style horizontal merge: this cell widens the one to its left.
                cell = previous
                cell.colspan = col + span - cell.col
                _append_text(cell, text)
            elif v_continue:
                cell = above.get(col)
                if cell is not None and cell.row + cell.rowspan == row_index:
                    cell.rowspan += 1
                    _append_text(cell, text)
                else:
                    cell = None
            if cell is None:
                cell = _WorkCell(row_index, col, 1, span, text)
                cells.append(cell)
            for covered in range(col, col + span):
                here[covered] = cell
            previous = cell
            col += span
        widest = max(widest, col + _int_val(tr_pr, W_GRID_AFTER, 0))
        above = here
    return Table(cells=[cell.frozen() for cell in cells], n_rows=n_rows, n_cols=max(grid_cols, widest))


def _cell_properties(tc: Any) -> tuple[int, bool, bool]:
    """(grid span, continues a vertical merge, continues an old-style horizontal merge), in one pass.

    A merge mark without a value continues the merge above or to the left; only ``restart`` starts one.
    """
    span, v_continue, h_continue = 1, False, False
    tc_pr = _child(tc, W_TC_PR)
    if tc_pr is None:
        return span, v_continue, h_continue
    for mark in tc_pr:
        tag = mark.tag
        if tag == W_GRID_SPAN:
            span = max(_as_int(mark.get(W_VAL), 1), 1)
        elif tag == W_V_MERGE:
            v_continue = mark.get(W_VAL) != "restart"
        elif tag == W_H_MERGE:
            h_continue = mark.get(W_VAL) != "restart"
    return span, v_continue, h_continue


def _as_int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _int_val(properties: Any, tag: str, default: int) -> int:
    if properties is None:
        return default
    mark = _child(properties, tag)
    return default if mark is None else _as_int(mark.get(W_VAL), default)


def _append_text(cell: _WorkCell, text: str) -> None:
    """Text typed into a merged-away cell still belongs to the merged cell (Word keeps it, below the first)."""
    if text:
        cell.text = f"{cell.text}\n{text}" if cell.text else text


def _cell_text(tc: Any) -> str:
    """A cell's paragraphs joined by newlines, each without trailing spaces; a nested table adds its text."""
    lines: list[str] = []
    for child in _content(tc):
        if child.tag == W_P:
            lines.append(_paragraph_text(child))
        else:
            lines.append(_nested_table_text(child))
    while lines and not lines[-1].strip():
        lines.pop()
    while lines and not lines[0].strip():
        lines.pop(0)
    return "\n".join(lines)


def _nested_table_text(tbl: Any) -> str:
    """A table inside a cell flattened: its rows on lines, its cells separated by a space."""
    rows: list[str] = []
    for tr in _content(tbl, (W_TR,)):
        texts = [_cell_text(tc) for tc in _content(tr, (W_TC,))]
        row = " ".join(text for text in texts if text)
        if row:
            rows.append(row)
    return "\n".join(rows)


# --- paragraphs -------------------------------------------------------------------------------------------------


def _paragraph_text(paragraph: Any) -> str:
    parts: list[str] = []
    _walk(paragraph, parts)
    return "".join(parts).rstrip(" \t\n\u2002")


def _walk(element: Any, out: list[str]) -> None:
    """Append the visible text of ``element``'s children to ``out``, in order."""
    for child in element:
        tag = child.tag
        if tag in (W_T, M_T):
            text = child.text
            if text:
                out.append(_map_private_use(child, text) if _PRIVATE_USE.search(text) else text)
        elif tag in _SKIPPED or not isinstance(tag, str):
            continue
        else:
            handler = _HANDLERS.get(tag)
            if handler is None:
                _walk(child, out)
            else:
                handler(child, out)


def _literal(text: str) -> Callable[[Any, list[str]], None]:
    def emit(_element: Any, out: list[str]) -> None:
        out.append(text)

    return emit


def _sym(element: Any, out: list[str]) -> None:
    glyph = _symbol_glyph(element.get(W_FONT), element.get(W_CHAR))
    if glyph:
        out.append(glyph)


def _symbol_glyph(font: str | None, char: str | None) -> str | None:
    """The character a symbol-font glyph stands for on a form, or None when it means nothing to a reader."""
    try:
        code = int(char or "", 16)
    except ValueError:
        return None
    if code < 0x100:
        code += 0xF000  # Some writers give the code without the symbol-font offset.
    table = _SYMBOL_FONTS.get((font or "").strip().lower(), {})
    return table.get(code) or _ANY_WINGDINGS.get(code)


def _map_private_use(t: Any, text: str) -> str:
    """Symbol-font glyphs typed as private-use characters in ``w:t`` (as WPS does), mapped by the run's font."""
    font = None
    run = t.getparent()
    r_pr = _child(run, W_RPR) if run is not None else None
    fonts = _child(r_pr, W_RFONTS) if r_pr is not None else None
    if fonts is not None:
        font = fonts.get(W_ASCII) or fonts.get(W_H_ANSI) or fonts.get(W_EAST_ASIA)
    mapped: list[str] = []
    for char in text:
        if "\uf020" <= char <= "\uf0ff":
            glyph = _symbol_glyph(font, f"{ord(char):X}")
            if glyph:
                mapped.append(glyph)
        else:
            mapped.append(char)
    return "".join(mapped)


def _sdt(element: Any, out: list[str]) -> None:
    """A run-level content control: a check box becomes its state, placeholder prompts are not an answer."""
    properties = _child(element, W_SDT_PR)
    if properties is not None:
        checkbox = _child(properties, W14_CHECKBOX)
        if checkbox is not None:
            checked = _child(checkbox, W14_CHECKED)
            is_checked = checked is not None and checked.get(W14_VAL, "1") in ("1", "true", "on")
            out.append(CHECKED if is_checked else UNCHECKED)
            return
        if _child(properties, W_SHOWING_PLACEHOLDER) is not None:
            return
    content = _child(element, W_SDT_CONTENT)
    if content is not None:
        _walk(content, out)


def _showing_placeholder(sdt: Any) -> bool:
    properties = _child(sdt, W_SDT_PR)
    return properties is not None and _child(properties, W_SHOWING_PLACEHOLDER) is not None


def _fld_char(element: Any, out: list[str]) -> None:
    """A legacy form field's begin mark carries its value: a check box's state, a drop-down's choice."""
    if element.get(W_FLD_CHAR_TYPE) != "begin":
        return
    data = _child(element, W_FF_DATA)
    if data is None:
        return
    checkbox = _child(data, W_CHECK_BOX)
    if checkbox is not None:
        checked = _child(checkbox, W_CHECKED)
        if checked is None:
            checked = _child(checkbox, W_DEFAULT)
            is_checked = checked is not None and checked.get(W_VAL, "0") in ("1", "true", "on")
        else:
            is_checked = checked.get(W_VAL, "1") in ("1", "true", "on")
        out.append(CHECKED if is_checked else UNCHECKED)
        return
    drop_down = _child(data, W_DD_LIST)
    if drop_down is not None:
        entries = [entry.get(W_VAL, "") for entry in drop_down if entry.tag == W_LIST_ENTRY]
        choice = _int_val(drop_down, W_RESULT, _int_val(drop_down, W_DEFAULT, 0))
        if 0 <= choice < len(entries):
            out.append(entries[choice])


def _alternate(element: Any, out: list[str]) -> None:
    """Markup compatibility: the first choice, or the fallback when there is none — never both copies."""
    branch = _child(element, MC_CHOICE)
    if branch is None:
        branch = _child(element, MC_FALLBACK)
    if branch is not None:
        _walk(branch, out)


def _graphic(element: Any, out: list[str]) -> None:
    """A drawing, VML picture or embedded object: a picture mark where it has an image, then textbox text."""
    boxes: list[Any] = []
    if _scan_graphic(element, boxes):
        out.append(PICTURE)
    texts: list[str] = []
    for content in boxes:
        lines = [
            _paragraph_text(child) if child.tag == W_P else _nested_table_text(child) for child in _content(content)
        ]
        text = "\n".join(line for line in lines if line.strip())
        if text:
            texts.append(text)
    if texts:
        out.append("\n".join(texts))


def _scan_graphic(element: Any, boxes: list[Any]) -> bool:
    """Collect the outermost textbox contents; True when an image lies outside them.

    Pictures inside a textbox are found when the textbox's own paragraphs are read, so they are not counted here.
    """
    has_picture = False
    for child in element:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        if tag in (A_BLIP, V_IMAGEDATA):
            has_picture = True
        elif tag == W_TXBX_CONTENT:
            boxes.append(child)
        elif tag == MC_ALTERNATE:
            branch = _child(child, MC_CHOICE)
            if branch is None:
                branch = _child(child, MC_FALLBACK)
            if branch is not None:
                has_picture = _scan_graphic(branch, boxes) or has_picture
        else:
            has_picture = _scan_graphic(child, boxes) or has_picture
    return has_picture


_HANDLERS: dict[str, Callable[[Any, list[str]], None]] = {
    W_TAB: _literal("\t"),
    W_PTAB: _literal("\t"),
    W_BR: _literal("\n"),
    W_CR: _literal("\n"),
    W_NO_BREAK_HYPHEN: _literal("-"),
    W_SOFT_HYPHEN: _literal(""),
    W_SYM: _sym,
    W_SDT: _sdt,
    W_FLD_CHAR: _fld_char,
    MC_ALTERNATE: _alternate,
    W_DRAWING: _graphic,
    W_PICT: _graphic,
    W_OBJECT: _graphic,
}
