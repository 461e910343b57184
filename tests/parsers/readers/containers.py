"""Move a built form's tables into the containers real Word files put them in, by rewriting document.xml.

Applicants' files carry a section in a one-cell layout table drawn round it, in a text box (Word writes the
DrawingML box and its VML copy in ``mc:Fallback``; LibreOffice writes a .doc's frames the same way), in a
positioned ("floating") table, which is what Word's frame round a table is in a .docx, or in a content control.
The builders make plain tables; these functions move the chosen ones, keeping their XML as it is.
"""

from __future__ import annotations

import copy
import io
import zipfile
from collections.abc import Callable
from typing import Any

from lxml import etree

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_NAMESPACES = {
    "w": W_NS,
    "mc": "http://schemas.openxmlformats.org/markup-compatibility/2006",
    "wp": "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing",
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
    "wps": "http://schemas.microsoft.com/office/word/2010/wordprocessingShape",
    "v": "urn:schemas-microsoft-com:vml",
}
# A text box as Word 2010+ saves it: the DrawingML shape, then the same box in VML for older readers.
_TEXT_BOX = (
    '<w:p {ns}><w:r><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing>'
    '<wp:anchor distT="0" distB="0" distL="114300" distR="114300" simplePos="0" relativeHeight="{id}" behindDoc="0"'
    ' locked="0" layoutInCell="1" allowOverlap="1"><wp:simplePos x="0" y="0"/>'
    '<wp:positionH relativeFrom="column"><wp:posOffset>0</wp:posOffset></wp:positionH>'
    '<wp:positionV relativeFrom="paragraph"><wp:posOffset>0</wp:posOffset></wp:positionV>'
    '<wp:extent cx="6000000" cy="3600000"/><wp:effectExtent l="0" t="0" r="0" b="0"/><wp:wrapTopAndBottom/>'
    '<wp:docPr id="{id}" name="Text Box {id}"/><wp:cNvGraphicFramePr/><a:graphic><a:graphicData'
    ' uri="http://schemas.microsoft.com/office/word/2010/wordprocessingShape"><wps:wsp><wps:cNvSpPr txBox="1"/>'
    '<wps:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="6000000" cy="3600000"/></a:xfrm>'
    '<a:prstGeom prst="rect"><a:avLst/></a:prstGeom></wps:spPr><wps:txbx><w:txbxContent/></wps:txbx>'
    '<wps:bodyPr rot="0" vert="horz" wrap="square" anchor="t" anchorCtr="0"><a:spAutoFit/></wps:bodyPr>'
    "</wps:wsp></a:graphicData></a:graphic></wp:anchor></w:drawing></mc:Choice><mc:Fallback><w:pict>"
    '<v:shape id="box{id}" type="#_x0000_t202" style="position:absolute;margin-left:0;margin-top:0;'
    'width:472.5pt;height:283.5pt;z-index:{id}"><v:textbox style="mso-fit-shape-to-text:t"><w:txbxContent/>'
    "</v:textbox></v:shape></w:pict></mc:Fallback></mc:AlternateContent></w:r></w:p>"
).replace("{ns}", " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in _NAMESPACES.items()))

# Picks the groups of body elements to move: each group is a run of neighbouring paragraphs and tables that
# goes into one container.
Grouper = Callable[[Any], list[list[Any]]]
Container = Callable[[Any, list[Any]], None]


def _w(name: str) -> str:
    return f"{{{W_NS}}}{name}"


def _element(name: str, **attributes: str) -> Any:
    element = etree.Element(_w(name))
    for key, value in attributes.items():
        element.set(_w(key), value)
    return element


def section_tables(*prefixes: str) -> Grouper:
    """Each table whose text starts with one of ``prefixes`` (a section's heading row), a group of its own."""

    def groups(body: Any) -> list[list[Any]]:
        found = [[child] for child in body if child.tag == _w("tbl") and "".join(child.itertext()).startswith(prefixes)]
        assert found, f"no table starts with {prefixes}"
        return found

    return groups


def section_span(*prefixes: str) -> Grouper:
    """One group: from the first to the last table chosen by :func:`section_tables`, with what lies between."""

    def groups(body: Any) -> list[list[Any]]:
        tables = [group[0] for group in section_tables(*prefixes)(body)]
        children = list(body)
        return [children[children.index(tables[0]) : children.index(tables[-1]) + 1]]

    return groups


def table_span(body: Any) -> list[list[Any]]:
    """One group: from the form's first table to its last, with what lies between; none for a form of lines."""
    children = list(body)
    tables = [index for index, child in enumerate(children) if child.tag == _w("tbl")]
    return [children[tables[0] : tables[-1] + 1]] if tables else []


def after_title(body: Any) -> list[list[Any]]:
    """One group: the whole form after its first two lines (附件 N and the title), its section properties left."""
    children = [child for child in body if child.tag != _w("sectPr")]
    assert len(children) > 2
    return [children[2:]]


def in_layout_cell(body: Any, group: list[Any]) -> None:
    """The group inside the one cell of a table drawn round it."""
    outer = _element("tbl")
    properties = _element("tblPr")
    properties.append(_element("tblW", w="0", type="auto"))
    outer.append(properties)
    grid = _element("tblGrid")
    grid.append(_element("gridCol", w="9600"))
    outer.append(grid)
    row = _element("tr")
    cell = _element("tc")
    cell_properties = _element("tcPr")
    cell_properties.append(_element("tcW", w="9600", type="dxa"))
    cell.append(cell_properties)
    row.append(cell)
    outer.append(row)
    group[0].addprevious(outer)
    for child in group:
        cell.append(child)
    cell.append(_element("p"))  # a cell ends with a paragraph


def in_text_box(body: Any, group: list[Any]) -> None:
    """The group in a text box anchored in an empty paragraph where it was (both copies Word writes)."""
    number = str(sum(1 for _ in body.iter(_w("txbxContent"))) + 1)
    anchor = etree.fromstring(_TEXT_BOX.replace("{id}", number))
    group[0].addprevious(anchor)
    for content in anchor.iter(_w("txbxContent")):
        for child in group:
            content.append(copy.deepcopy(child))
        content.append(_element("p"))
    for child in group:
        body.remove(child)


def in_frame(body: Any, group: list[Any]) -> None:
    """The group in a frame: its paragraphs get ``w:framePr``, its tables ``w:tblpPr`` (a positioned table)."""
    for child in group:
        if child.tag == _w("tbl"):
            child.find("w:tblPr", {"w": W_NS}).insert(
                1, _element("tblpPr", leftFromText="180", rightFromText="180", vertAnchor="text", tblpY="1")
            )
        elif child.tag == _w("p"):
            properties = child.find("w:pPr", {"w": W_NS})
            if properties is None:
                properties = _element("pPr")
                child.insert(0, properties)
            properties.insert(
                0, _element("framePr", w="9000", hSpace="180", wrap="around", vAnchor="text", hAnchor="margin", y="1")
            )


def in_content_control(body: Any, group: list[Any]) -> None:
    """The group inside a block-level content control (a rich-text control of a template)."""
    control = _element("sdt")
    properties = _element("sdtPr")
    properties.append(_element("id", val=str(1000 + len(list(body.iter(_w("sdt")))))))
    control.append(properties)
    content = _element("sdtContent")
    control.append(content)
    group[0].addprevious(control)
    for child in group:
        content.append(child)


def moved(docx: bytes, container: Container, groups: Grouper) -> bytes:
    """``docx`` with each group of ``groups`` put in a ``container``; every other part of the package unchanged."""
    source = zipfile.ZipFile(io.BytesIO(docx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "word/document.xml":
                root = etree.fromstring(data)
                body = root.find("w:body", {"w": W_NS})
                for group in groups(body):
                    container(body, group)
                data = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
            target.writestr(info, data)
    return out.getvalue()
