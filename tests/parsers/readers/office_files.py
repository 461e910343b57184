"""Real test files for the sniffing, PDF, seal, Excel and legacy tests, built once per test session.

Word files are made with python-docx and turned into PDF, .doc and .xls by LibreOffice itself (one soffice
run converts a whole batch, since each start costs a second or two); scans are rendered with pypdfium2 and
saved as image-only PDFs by Pillow; the password-protected Office file is a compound file written here byte
by byte, because no installed tool writes one.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import math
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

import openpyxl
import pypdfium2 as pdfium
from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.text import WD_UNDERLINE
from docx.shared import Cm, Pt, RGBColor
from openpyxl.styles import Alignment
from PIL import Image, ImageDraw, ImageFont

CJK_FONT = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc"
LONG_DEFINITION = "使用标注工具对图像、文本、语音等数据进行分类、框选、注释和标记，形成可供人工智能训练使用的数据集合"
TASKS = "1.采集和清洗原始数据\n2.按标注规范标记数据"
SEAL_RED = (220, 30, 30)


def docx_bytes(document: DocumentObject) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def soffice_convert(files: dict[str, bytes], target: str) -> dict[str, bytes]:
    """Convert every file (name → bytes) with one soffice run; returns output name → bytes."""
    executable = shutil.which("soffice")
    assert executable is not None, "LibreOffice (soffice) must be installed for these tests"
    with tempfile.TemporaryDirectory(prefix="zhengji-test-soffice-") as workdir:
        work = Path(workdir)
        sources = []
        for name, data in files.items():
            (work / name).write_bytes(data)
            sources.append(str(work / name))
        out = work / "out"
        command = [
            executable,
            f"-env:UserInstallation={(work / 'profile').as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            target,
            "--outdir",
            str(out),
            *sources,
        ]
        subprocess.run(command, check=True, capture_output=True, timeout=180)
        return {path.name: path.read_bytes() for path in out.iterdir()}


# --- Word sources -------------------------------------------------------------------------------------------


def form_docx() -> bytes:
    """A 建议书-like page: title, signature line, a table with horizontal and vertical merges, a date line."""
    document = Document()
    _cjk_style(document)
    document.add_paragraph("新职业信息建议书")
    document.add_paragraph("建议人（盖章或签字）：上海某某科技有限公司")
    table = document.add_table(rows=5, cols=4)
    table.style = "Table Grid"
    table.cell(0, 0).merge(table.cell(0, 3)).text = "一、新职业类别"
    for col, text in enumerate(["新职业名称", "数据标注员", "备选名称", "标注师"]):
        table.cell(1, col).text = text
    table.cell(2, 0).text = "新职业定义"
    table.cell(2, 1).merge(table.cell(2, 3)).text = LONG_DEFINITION
    table.cell(3, 0).merge(table.cell(4, 0)).text = "主要工作任务"
    for col, text in enumerate(["内容", "特有工具/设备", "专门技术"], start=1):
        table.cell(3, col).text = text
    table.cell(4, 1).text = TASKS
    table.cell(4, 2).text = "标注平台"
    table.cell(4, 3).text = "图像分割"
    document.add_paragraph("填写时间：2025年3月21日")
    return docx_bytes(document)


def long_table_docx(rows: int = 60) -> bytes:
    """A 汇总表-like table long enough to run over a page break, under a running header and footer."""
    document = Document()
    _cjk_style(document)
    document.sections[0].header.paragraphs[0].text = "新职业征集材料"
    document.sections[0].footer.paragraphs[0].text = "上海市职业技能鉴定中心制"
    document.add_paragraph("新职业汇总表")
    table = document.add_table(rows=rows + 1, cols=3)
    table.style = "Table Grid"
    for col, text in enumerate(["序号", "新职业名称", "建议人"]):
        table.cell(0, col).text = text
    for index in range(1, rows + 1):
        table.cell(index, 0).text = str(index)
        table.cell(index, 1).text = f"职业{index}"
        table.cell(index, 2).text = f"单位{index}"
    document.add_paragraph("推荐单位（盖章）：某区人力资源和社会保障局")
    return docx_bytes(document)


# Long enough that its row cannot fit on one page: Word and LibreOffice must break the row over the page.
LONG_ROLE = "，".join(
    f"该职业第{index}方面带动无人机制造、软件开发、演艺策划等上下游产业发展并创造高技能岗位" for index in range(1, 31)
)
LONG_TASK = "；".join(f"第{index}步核对航点、灯光时序与起飞阵列并完成防碰撞校验" for index in range(1, 31))
ROLE_LABEL = "新职业在经济社会发展中的作用（300字以内）"
PHONES = ("0755-86528888", "0731-88886666", "021-54781234")
EMAIL = "wangmin@yiwu-tech.cn"
# In a 3 cm column the first line ends at "基于 ", the space the wrap falls on.
TECHNIQUE = "技术上，基于 RTK 厘米级定位的实时集群控制"


def split_row_docx() -> bytes:
    """A 职业分析-like table whose long answers Word must break over page breaks.

    The first long answer sits in a row with a label; the second in a row of a vertically merged
    「主要工作任务」 group, so its page break also falls inside the merge. The upper rows merge the two label
    columns, so the table's part on the first page has fewer column edges than the part on the next.
    """
    document = Document()
    _cjk_style(document)
    document.add_paragraph("新职业信息建议书")
    table = document.add_table(rows=9, cols=3)
    table.style = "Table Grid"
    table.cell(0, 0).merge(table.cell(0, 2)).text = "五、职业分析"
    answers = [
        ("新职业产生背景（400字以内）", "低空经济被写入政府工作报告，无人机集群表演快速兴起。"),
        (ROLE_LABEL, LONG_ROLE),
        ("新职业的发展前景（200字以内）", "预计未来五年行业规模年均增长30%以上。"),
    ]
    for row, (label, answer) in enumerate(answers, start=1):
        table.cell(row, 0).merge(table.cell(row, 1)).text = label
        table.cell(row, 2).text = answer
    table.cell(4, 0).merge(table.cell(8, 0)).text = "主要工作任务"
    tasks = ["三维动画创意设计", LONG_TASK, "实施集群飞行监控", "办理空域申请", "现场安全管理"]
    for offset, task in enumerate(tasks):
        table.cell(4 + offset, 1).text = str(offset + 1)
        table.cell(4 + offset, 2).text = task
    document.add_paragraph("填写时间：2025年6月21日")
    return docx_bytes(document)


def narrow_cells_docx() -> bytes:
    """用人单位 rows with the phone numbers and an e-mail address in columns too narrow to hold them."""
    document = Document()
    _cjk_style(document)
    table = document.add_table(rows=len(PHONES) + 2, cols=4)
    table.style = "Table Grid"
    table.autofit = False
    widths = (Cm(3), Cm(5), Cm(3), Cm(1.8))
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width
        for cell in column.cells:
            cell.width = width
    for col, text in enumerate(["单位名称", "单位地址", "技术说明", "联系电话"]):
        table.cell(0, col).text = text
    for row, phone in enumerate(PHONES, start=1):
        table.cell(row, 0).text = f"单位{row}"
        table.cell(row, 1).text = "上海市闵行区紫竹科学园区"
        table.cell(row, 2).text = TECHNIQUE
        table.cell(row, 3).text = phone
    table.cell(len(PHONES) + 1, 0).text = "电子信箱"
    table.cell(len(PHONES) + 1, 3).text = EMAIL
    return docx_bytes(document)


# A retyped form's labels with superscript footnote marks: (label, mark, the value beside it).
FOOTNOTED_ROWS = (
    ("新职业名称", "1", "数据标注员"),
    ("新职业定义", "2", "使用标注工具对数据进行标记"),
    ("所属行业", "3", "C39 计算机制造业"),
    ("备注", "12", "第2版"),
)
# A label whose limit is printed small but on the line, as the notices print it: not raised, so not a mark.
SMALL_PRINT = ("新职业概述", "（300字以内）", "无")
AREA = ("建筑面积：120 m", "2")
PLAIN_NOTE = "注1：本表一式2份。"


def footnoted_docx() -> bytes:
    """A retyped form whose labels carry superscript footnote marks, and a paragraph with the unit "m²"."""
    document = Document()
    _cjk_style(document)
    document.add_paragraph("新职业信息建议书")
    table = document.add_table(rows=len(FOOTNOTED_ROWS) + 1, cols=2)
    table.style = "Table Grid"
    for row, (label, mark, value) in enumerate(FOOTNOTED_ROWS):
        paragraph = table.cell(row, 0).paragraphs[0]
        paragraph.add_run(label)
        paragraph.add_run(mark).font.superscript = True
        table.cell(row, 1).text = value
    label, limit, value = SMALL_PRINT
    paragraph = table.cell(len(FOOTNOTED_ROWS), 0).paragraphs[0]
    paragraph.add_run(label)
    paragraph.add_run(limit).font.size = Pt(8)
    table.cell(len(FOOTNOTED_ROWS), 1).text = value
    paragraph = document.add_paragraph(AREA[0])
    paragraph.add_run(AREA[1]).font.superscript = True
    document.add_paragraph(PLAIN_NOTE)
    return docx_bytes(document)


def _cjk_style(document: DocumentObject) -> None:
    style = document.styles["Normal"]
    style.font.name = "Noto Serif CJK SC"
    style.font.size = Pt(11)


def seal_png(color: tuple[int, int, int] = SEAL_RED, size: int = 400) -> bytes:
    """A round official seal as applicants' scans show it: ring, star, curved name and a bottom line."""
    image = Image.new("RGBA", (size, size), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    centre, radius = size / 2, size / 2 - 6
    draw.ellipse((centre - radius, centre - radius, centre + radius, centre + radius), outline=color, width=12)
    star = [
        (
            centre + radius * (0.28 if point % 2 == 0 else 0.11) * math.cos(math.radians(-90 + point * 36)),
            centre + radius * (0.28 if point % 2 == 0 else 0.11) * math.sin(math.radians(-90 + point * 36)),
        )
        for point in range(10)
    ]
    draw.polygon(star, fill=color)
    font = ImageFont.truetype(CJK_FONT, 36)
    name = "上海某某科技有限公司"
    for index, char in enumerate(name):
        angle = math.radians(200 + index * 140 / (len(name) - 1))
        x, y = centre + radius * 0.72 * math.cos(angle), centre + radius * 0.72 * math.sin(angle)
        draw.text((x, y), char, fill=color, font=font, anchor="mm")
    draw.text((centre, centre + radius * 0.55), "专用章", fill=color, font=font, anchor="mm")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _shape_png(draw_shape: str) -> bytes:
    image = Image.new("RGB", (400, 400), "white")
    draw = ImageDraw.Draw(image)
    if draw_shape == "red_rectangle":
        draw.rectangle((20, 20, 380, 380), fill=SEAL_RED)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def picture_docx(picture: bytes | None, underline_red: bool = False) -> bytes:
    """A signature page with a 4 cm picture (a seal) after the signature line, or red underlined text."""
    document = Document()
    _cjk_style(document)
    document.add_paragraph("新职业信息建议书")
    paragraph = document.add_paragraph("建议人（盖章或签字）：")
    if underline_red:
        run = paragraph.add_run("上海某某科技有限公司（此处仅为红色下划线文字，不是印章）")
        run.font.color.rgb = RGBColor(*SEAL_RED)
        run.font.underline = WD_UNDERLINE.THICK
        run.font.size = Pt(16)
    if picture is not None:
        document.add_paragraph().add_run().add_picture(io.BytesIO(picture), width=Cm(4))
    document.add_paragraph("填写时间：2025年3月21日")
    return docx_bytes(document)


# --- converted files, built once ----------------------------------------------------------------------------


@functools.cache
def pdfs() -> dict[str, bytes]:
    """Every PDF the tests read, converted by LibreOffice in one run."""
    sources = {
        "form.docx": form_docx(),
        "long.docx": long_table_docx(),
        "split_row.docx": split_row_docx(),
        "narrow.docx": narrow_cells_docx(),
        "seal.docx": picture_docx(seal_png()),
        "black_circle.docx": picture_docx(seal_png(color=(0, 0, 0))),
        "red_rectangle.docx": picture_docx(_shape_png("red_rectangle")),
        "red_underline.docx": picture_docx(None, underline_red=True),
        "footnoted.docx": footnoted_docx(),
    }
    converted = soffice_convert(sources, "pdf")
    return {name.removesuffix(".pdf"): data for name, data in converted.items()}


@functools.cache
def encrypted_pdf() -> bytes:
    target = (
        'pdf:writer_pdf_Export:{"EncryptFile":{"type":"boolean","value":"true"},'
        '"DocumentOpenPassword":{"type":"string","value":"x"}}'
    )
    return soffice_convert({"secret.docx": form_docx()}, target)["secret.pdf"]


@functools.cache
def form_doc() -> bytes:
    """The form as a Word 97 .doc, saved by LibreOffice."""
    return soffice_convert({"form.docx": form_docx()}, "doc:MS Word 97")["form.doc"]


@functools.cache
def footnoted_doc() -> bytes:
    """The form with superscript footnote marks as a Word 97 .doc, saved by LibreOffice."""
    return soffice_convert({"footnoted.docx": footnoted_docx()}, "doc:MS Word 97")["footnoted.doc"]


@functools.cache
def form_xls() -> bytes:
    """The recommendation sheet as an Excel 97 .xls, saved by LibreOffice."""
    return soffice_convert({"sheet.xlsx": recommendation_xlsx()}, "xls:MS Excel 97")["sheet.xls"]


def scanned_pdf(source: bytes, dpi: int = 100) -> bytes:
    """An image-only PDF of ``source``'s pages, as a scanner makes it."""
    document = pdfium.PdfDocument(source)
    try:
        images = [document[index].render(scale=dpi / 72).to_pil().convert("RGB") for index in range(len(document))]
    finally:
        document.close()
    buffer = io.BytesIO()
    images[0].save(buffer, "PDF", resolution=dpi, save_all=True, append_images=images[1:])
    return buffer.getvalue()


def blank_pdf(pages: int) -> bytes:
    """A PDF of ``pages`` empty A4 pages, made by pypdfium2."""
    document = pdfium.PdfDocument.new()
    for _ in range(pages):
        document.new_page(595, 842)
    buffer = io.BytesIO()
    document.save(buffer)
    document.close()
    return buffer.getvalue()


# --- Excel --------------------------------------------------------------------------------------------------


def recommendation_xlsx() -> bytes:
    """A 推荐表 retyped in Excel: merged title row, merged header cells, a date, numbers, a sign-off line."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "推荐表"
    sheet.append(["社会化职业技能等级认定职业（工种）推荐表"])
    sheet.merge_cells("A1:F1")
    sheet["A1"].alignment = Alignment(horizontal="center")
    sheet.append(["序号", "职业（工种）", None, "预计年评价人数", "填报日期", "占比"])
    sheet.merge_cells("B2:C2")
    sheet.append([None, "职业编码", "工种名称", None, None, None])
    sheet.merge_cells("A2:A3")
    sheet.merge_cells("D2:D3")
    sheet.merge_cells("E2:E3")
    sheet.merge_cells("F2:F3")
    sheet.append([1, "4-04-05-05", "人工智能训练师", 1000, dt.date(2025, 3, 21), 0.25])
    sheet["F4"].number_format = "0%"
    sheet.append([2, "6-31-01-10", "工业机器人系统运维员", 1200.0, dt.datetime(2025, 3, 22), 0.5])
    sheet["F5"].number_format = "0%"
    sheet.append([3, "X-00-00-00", "测试职业", 12.5, None, None])
    sheet.append([])
    sheet.append(["推荐单位（加盖公章）：上海市某某行业协会"])
    sheet.merge_cells("A8:F8")
    sheet.append(["联系人：李四    联系电话：13800138000"])
    second = workbook.create_sheet("说明")
    second["A1"] = "填表说明"
    second["A2"] = "1. 职业编码按大典填写。"
    workbook.create_sheet("空白")
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- a password-protected Office file -----------------------------------------------------------------------

_SECTOR = 512
_END_OF_CHAIN = 0xFFFFFFFE
_FREE = 0xFFFFFFFF
_FAT_SECTOR = 0xFFFFFFFD
_NO_STREAM = 0xFFFFFFFF


def encrypted_office_file() -> bytes:
    """A compound file with the EncryptionInfo and EncryptedPackage streams Office writes for a password.

    Both streams are 4 KB so that they live in regular sectors and no mini stream is needed.
    """
    stream_sectors = 4096 // _SECTOR
    info = (struct.pack("<HHI", 4, 4, 0x40) + b"\x00" * 4096)[:4096]
    package = (struct.pack("<Q", 12345) + bytes(range(256)) * 16)[:4096]
    fat = [_FAT_SECTOR, _END_OF_CHAIN]
    for first in (2, 2 + stream_sectors):
        fat.extend(first + offset + 1 for offset in range(stream_sectors - 1))
        fat.append(_END_OF_CHAIN)
    fat.extend([_FREE] * (_SECTOR // 4 - len(fat)))
    directory = (
        _entry("Root Entry", 5, child=1, start=_END_OF_CHAIN, size=0)
        + _entry("EncryptionInfo", 2, right=2, start=2, size=4096)
        + _entry("EncryptedPackage", 2, start=2 + stream_sectors, size=4096)
        + _entry("", 0, start=0, size=0)
    )
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\x00" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + b"\x00" * 6
        + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, _END_OF_CHAIN, 0, _END_OF_CHAIN, 0)
        + struct.pack("<I", 0)
        + struct.pack("<I", _FREE) * 108
    )
    assert len(header) == _SECTOR
    return header + struct.pack(f"<{len(fat)}I", *fat) + directory + info + package


def _entry(name: str, kind: int, *, start: int, size: int, child: int = _NO_STREAM, right: int = _NO_STREAM) -> bytes:
    encoded = name.encode("utf-16-le") + b"\x00\x00" if name else b""
    return (
        encoded.ljust(64, b"\x00")
        + struct.pack("<HBB", len(encoded), kind, 1)
        + struct.pack("<III", _NO_STREAM, right, child)
        + b"\x00" * 16
        + b"\x00" * 4
        + b"\x00" * 16
        + struct.pack("<IQ", start, size)
    )
