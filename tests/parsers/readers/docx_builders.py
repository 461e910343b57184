"""Build real .docx files for the reader's tests: python-docx first, then XML edits where it has no API.

The XML fragments are the shapes Word and WPS write for tick boxes, form fields, content controls, textboxes and
tracked changes, so that the tests read what applicants' files hold.
"""

from __future__ import annotations

import io
import re
from typing import Any

from docx import Document
from docx.document import Document as DocumentObject
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.parser import parse_xml
from docx.table import Table as DocxTable
from PIL import Image

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
NAMESPACES = (
    f'xmlns:w="{W}" '
    'xmlns:w14="http://schemas.microsoft.com/office/word/2010/wordml" '
    'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
    'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
    'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
    'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
    'xmlns:v="urn:schemas-microsoft-com:vml"'
)


def to_bytes(document: DocumentObject) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def fragment(xml: str) -> Any:
    """One element from XML written without namespace declarations (they are added to its first tag)."""
    return parse_xml(re.sub(r"^<([\w:]+)", lambda match: f"<{match.group(1)} {NAMESPACES}", xml, count=1))


def run(text: str) -> str:
    return f'<w:r><w:t xml:space="preserve">{text}</w:t></w:r>'


def paragraph(*runs: str) -> Any:
    """A ``w:p`` element holding the given run-level XML."""
    return fragment(f"<w:p>{''.join(runs)}</w:p>")


def sym(font: str, char: str) -> str:
    return f'<w:r><w:sym w:font="{font}" w:char="{char}"/></w:r>'


def form_checkbox(checked: str | None, default: str = "0") -> str:
    """A legacy form-field check box (FORMCHECKBOX); ``checked`` is the w:checked val, None for no w:checked."""
    state = "" if checked is None else (f'<w:checked w:val="{checked}"/>' if checked else "<w:checked/>")
    return (
        '<w:r><w:fldChar w:fldCharType="begin"><w:ffData><w:name w:val="Check1"/><w:enabled/><w:calcOnExit w:val="0"/>'
        f'<w:checkBox><w:sizeAuto/><w:default w:val="{default}"/>{state}</w:checkBox></w:ffData></w:fldChar></w:r>'
        '<w:r><w:instrText xml:space="preserve"> FORMCHECKBOX </w:instrText></w:r>'
        '<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r>'
    )


def content_checkbox(checked: bool) -> str:
    """A Word 2010 content-control check box as Word writes it (MS Gothic ☒ or ☐ shown inside)."""
    glyph, val = ("☒", "1") if checked else ("☐", "0")
    return (
        "<w:sdt><w:sdtPr><w:id w:val='1'/><w14:checkbox>"
        f'<w14:checked w14:val="{val}"/>'
        '<w14:checkedState w14:val="2612" w14:font="MS Gothic"/>'
        '<w14:uncheckedState w14:val="2610" w14:font="MS Gothic"/></w14:checkbox></w:sdtPr>'
        '<w:sdtContent><w:r><w:rPr><w:rFonts w:ascii="MS Gothic" w:eastAsia="MS Gothic" w:hAnsi="MS Gothic"/></w:rPr>'
        f"<w:t>{glyph}</w:t></w:r></w:sdtContent></w:sdt>"
    )


def text_control(text: str, placeholder: bool = False) -> str:
    """A run-level plain-text content control; a placeholder one still shows Word's prompt."""
    flag = "<w:showingPlcHdr/>" if placeholder else ""
    return f"<w:sdt><w:sdtPr><w:id w:val='2'/>{flag}<w:text/></w:sdtPr><w:sdtContent>{run(text)}</w:sdtContent></w:sdt>"


def textbox(text: str) -> str:
    """A floating textbox as Word 2010+ writes it: a DrawingML choice and a VML fallback with the same text."""
    box = f"<w:txbxContent><w:p>{run(text)}</w:p></w:txbxContent>"
    return (
        '<w:r><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing>'
        '<wp:anchor distT="0" distB="0" distL="0" distR="0" simplePos="0" relativeHeight="1" behindDoc="0" locked="0" '
        'layoutInCell="1" allowOverlap="1"><wp:simplePos x="0" y="0"/>'
        '<wp:positionH relativeFrom="column"><wp:posOffset>0</wp:posOffset></wp:positionH>'
        '<wp:positionV relativeFrom="paragraph"><wp:posOffset>0</wp:posOffset></wp:positionV>'
        '<wp:extent cx="1828800" cy="457200"/><wp:effectExtent l="0" t="0" r="0" b="0"/><wp:wrapNone/>'
        '<wp:docPr id="10" name="Text Box 10"/><wp:cNvGraphicFramePr/>'
        '<a:graphic><a:graphicData uri="http://schemas.microsoft.com/office/word/2010/wordprocessingShape">'
        f'<wps:wsp><wps:cNvSpPr txBox="1"/><wps:spPr/><wps:txbx>{box}</wps:txbx><wps:bodyPr/></wps:wsp>'
        "</a:graphicData></a:graphic></wp:anchor></w:drawing></mc:Choice>"
        '<mc:Fallback><w:pict><v:shape id="Text Box 10" style="width:144pt;height:36pt">'
        f"<v:textbox>{box}</v:textbox></v:shape></w:pict></mc:Fallback></mc:AlternateContent></w:r>"
    )


def png_bytes() -> bytes:
    """A small red PNG such as a scanned seal."""
    buffer = io.BytesIO()
    Image.new("RGB", (40, 40), (220, 20, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def set_tc_property(cell_element: Any, tag: str, val: str | None) -> None:
    """Add ``<w:tag w:val=…>`` to a ``w:tc``'s properties."""
    tc_pr = cell_element.get_or_add_tcPr()
    mark = OxmlElement(f"w:{tag}")
    if val is not None:
        mark.set(qn("w:val"), val)
    tc_pr.append(mark)


def set_row_property(row_element: Any, tag: str, val: str) -> None:
    """Add ``<w:tag w:val=…>`` (gridBefore, gridAfter) to a ``w:tr``'s properties, in schema order."""
    tr_pr = row_element.get_or_add_trPr()
    mark = OxmlElement(f"w:{tag}")
    mark.set(qn("w:val"), val)
    tr_pr.insert(0, mark)


def proposal_form() -> tuple[DocumentObject, DocxTable]:
    """The first table of 新职业信息建议书 (沪人社职〔2025〕77号 附件1), filled in as an applicant would.

    Five grid columns; the 主要工作任务 label is merged down over its header row and ten task rows (rows 8–18),
    the 新职业名称 label and value over the two 备选名称 rows, and the section titles across the whole width.
    """
    document = Document()
    document.add_paragraph("新职业信息建议书")
    document.add_paragraph("建议人（盖章或签字）：")
    table = document.add_table(rows=19, cols=5)
    cell = table.cell
    for row in (0, 1, 2):
        cell(row, 0).merge(cell(row, 4))
    cell(0, 0).text = "一、新职业类别 ¹"
    cell(1, 0).text = "(√) 全新职业"
    cell(2, 0).text = "二、新职业描述信息"
    cell(3, 0).merge(cell(4, 0)).text = "新职业名称 ²"
    cell(3, 1).merge(cell(4, 1)).text = "数据标注员"
    cell(3, 2).merge(cell(4, 2)).text = "备选名称"
    cell(3, 3).merge(cell(3, 4)).text = "1.数据标记员"
    cell(4, 3).merge(cell(4, 4)).text = "2."
    labels = ["新职业定义 ³", "与相关职业的关系 ⁴", "所属行业 ⁵"]
    values = ["使用标注工具对数据进行标注的人员。", "区别于4-04-05-05 人工智能训练师。", "软件和信息技术服务业"]
    for offset, (label, value) in enumerate(zip(labels, values, strict=True)):
        row = 5 + offset
        cell(row, 0).text = label
        cell(row, 1).merge(cell(row, 4)).text = value
    cell(8, 0).merge(cell(18, 0)).text = "主要工作任务"
    for col, head in enumerate(["序号", "内容", "特有工具/设备", "专门技术"], start=1):
        cell(8, col).text = head
    for task in range(1, 11):
        cell(8 + task, 1).text = str(task) if task <= 7 else "..."
    cell(9, 2).text = "采集、清洗原始数据"
    cell(9, 3).text = "标注平台"
    cell(11, 2).text = "审核标注质量"
    return document, table
