"""Readers: an attachment's bytes and detected format → a format-neutral :class:`Layout`.

One function per format; legacy formats (.doc, .wps, .xls, .et, .rtf) are converted by LibreOffice to their
modern twin and read by its reader, so that every form module sees the same Layout whatever was sent.
Anything without a reader raises :class:`Unreadable` whose text tells the applicant what to send instead.
"""

from __future__ import annotations

from collections.abc import Callable

from zhengji.parsers.model import Layout, Unreadable
from zhengji.parsers.readers.legacy import convert_with_libreoffice

__all__ = ["read_layout"]

# Legacy formats: the LibreOffice target (with its export filter) and the modern format it yields.
_CONVERSIONS: dict[str, tuple[str, str]] = {
    "doc": ("docx:MS Word 2007 XML", "docx"),
    "wps": ("docx:MS Word 2007 XML", "docx"),
    "rtf": ("docx:MS Word 2007 XML", "docx"),
    "xls": ("xlsx:Calc MS Excel 2007 XML", "xlsx"),
    "et": ("xlsx:Calc MS Excel 2007 XML", "xlsx"),
}

_SEND_INSTEAD = "请将表格另存为 .docx 或导出 PDF 后重新发送。"
_REFUSALS: dict[str, str] = {
    "ole_encrypted": "该文件设有密码，请取消密码后重新发送。",
    "pptx": f"附件为演示文稿，不是征集表格，{_SEND_INSTEAD}",
    "ppt": f"附件为演示文稿，不是征集表格，{_SEND_INSTEAD}",
    "zip": "压缩包内的文件需单独读取，请直接以附件形式发送其中的 .docx 或 PDF 文件。",
    "rar": "压缩包内的文件需单独读取，请直接以附件形式发送其中的 .docx 或 PDF 文件。",
    "7z": "压缩包内的文件需单独读取，请直接以附件形式发送其中的 .docx 或 PDF 文件。",
    "tnef": "该附件为 Outlook 专用格式（winmail.dat），无法读取，请以普通附件形式重新发送 .docx 或 PDF 文件。",
    "png": f"附件为图片，无法读取其中的表格内容，{_SEND_INSTEAD}",
    "jpeg": f"附件为图片，无法读取其中的表格内容，{_SEND_INSTEAD}",
    "gif": f"附件为图片，无法读取其中的表格内容，{_SEND_INSTEAD}",
    "tiff": f"附件为图片，无法读取其中的表格内容，{_SEND_INSTEAD}",
    "bmp": f"附件为图片，无法读取其中的表格内容，{_SEND_INSTEAD}",
    "html": f"附件为网页文件，不是表格原件，{_SEND_INSTEAD}",
    "txt": f"附件为纯文本文件，不是表格原件，{_SEND_INSTEAD}",
}
_UNKNOWN = "无法识别该附件的文件格式，请以 .docx 或 PDF 格式重新发送。"


def _read_docx(data: bytes) -> Layout:
    # Imported when first needed: the docx reader is its own module and may be heavier to load.
    from zhengji.parsers.readers.docx import read_docx

    return read_docx(data)


def _read_pdf(data: bytes) -> Layout:
    from zhengji.parsers.readers.pdf import read_pdf

    return read_pdf(data)


def _read_xlsx(data: bytes) -> Layout:
    # openpyxl alone costs a tenth of a second to import; a mail without a spreadsheet should not pay it.
    from zhengji.parsers.readers.xlsx import read_xlsx

    return read_xlsx(data)


_READERS: dict[str, Callable[[bytes], Layout]] = {
    "docx": _read_docx,
    "pdf": _read_pdf,
    "xlsx": _read_xlsx,
}


def read_layout(data: bytes, fmt: str) -> Layout:
    """The Layout of ``data`` whose detected format is ``fmt`` (see :func:`zhengji.parsers.sniff.detect_format`).

    A converted legacy file keeps its own format in ``Layout.format`` (``doc``, not ``docx``), because the
    contract reports the type the applicant sent.
    """
    reader = _READERS.get(fmt)
    if reader is not None:
        return reader(data)
    if fmt in _CONVERSIONS:
        target, modern = _CONVERSIONS[fmt]
        converted = convert_with_libreoffice(data, fmt, target)
        layout = _READERS[modern](converted)
        layout.format = fmt
        layout.notes.append(f"converted from {fmt} to {modern} by LibreOffice")
        return layout
    raise Unreadable(_REFUSALS.get(fmt, _UNKNOWN))
