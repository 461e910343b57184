"""Tell an attachment's real type from its first bytes, never from its name.

Applicants rename files freely ("建议书.docx" that is a .doc, a PDF called ".doc", a zip called ".rar"), so the
name only breaks ties that the bytes cannot: Kingsoft WPS writes ``.wps`` and ``.et`` files in the very same
binary formats as Word 97 (.doc) and Excel 97 (.xls) — same OLE2 container, same ``WordDocument`` /
``Workbook`` streams, and WPS stamps its own product properties into the .doc and .xls files it saves as well —
so no stream tells them apart, and the name is what the sender's program called it. Either way LibreOffice
converts them alike; the distinction only shows in the reported ``format``.

Sniffing must stay cheap: archives are recognised by their magic and, for zip, by the central directory only,
never by reading their members.
"""

from __future__ import annotations

import codecs
import io
import struct
import zipfile

import olefile

__all__ = ["detect_format"]

# How much of a file the text and HTML tests look at; enough to judge, small enough for a 100 MB blob.
_TEXT_WINDOW = 64 * 1024

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_SIMPLE_MAGICS: tuple[tuple[bytes, str], ...] = (
    (b"Rar!\x1a\x07\x00", "rar"),  # RAR 1.5–4.x
    (b"Rar!\x1a\x07\x01\x00", "rar"),  # RAR 5
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"{\\rtf", "rtf"),
    (struct.pack("<I", 0x223E9F78), "tnef"),  # winmail.dat
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
)
# What a file name says an Office Open XML package is, for a package too damaged to say it itself.
_OOXML_SUFFIXES = {"docx": "docx", "docm": "docx", "dotx": "docx", "xlsx": "xlsx", "xlsm": "xlsx", "pptx": "pptx"}
_HTML_MARKERS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<meta", b"<table", b"<?xml")


def detect_format(data: bytes, name: str = "") -> str:
    """The attachment's type (``pdf``, ``docx``, ``doc``, ``wps``, ``xlsx``, … or ``unknown``).

    ``name`` is consulted only to tell ``wps`` from ``doc`` and ``et`` from ``xls`` (see the module docstring),
    and to tell a damaged Word or Excel file from a damaged archive when its bytes no longer can.
    """
    head = data[:1024]
    if b"%PDF-" in head:
        return "pdf"
    if data.startswith(_ZIP_MAGICS):
        return _zip_kind(data, name)
    if data.startswith(_OLE_MAGIC):
        return _ole_kind(data, name)
    for magic, kind in _SIMPLE_MAGICS:
        if data.startswith(magic):
            return kind
    if _is_bmp(data):
        return "bmp"
    return _text_kind(data)


def _zip_kind(data: bytes, name: str = "") -> str:
    """An OOXML package by its part names, read from the central directory (no member is decompressed).

    A damaged Word or Excel file must never be called an archive: the applicant saved a document, and "re-zip
    it" is advice nobody can follow. So an OPC package (``[Content_Types].xml``) counts as a document even when
    its main part is missing, and a zip whose directory cannot be read counts as what its name says it is.
    """
    readable = True
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        # A truncated or damaged zip has no readable central directory; the local headers near the start
        # still name the first parts, which is enough to say what the sender meant to send.
        names = _local_header_names(data[:_TEXT_WINDOW])
        readable = False
    lowered = {entry.lower() for entry in names}
    if any(entry.startswith("word/document") for entry in lowered):
        return "docx"
    if any(entry.startswith("xl/workbook") for entry in lowered):
        return "xlsx"
    if any(entry.startswith("ppt/") for entry in lowered):
        return "pptx"
    if "[content_types].xml" in lowered:  # an OPC package whose main part is missing or past the damage
        if any(entry.startswith("word/") for entry in lowered):
            return "docx"
        if any(entry.startswith("xl/") for entry in lowered):
            return "xlsx"
    if "[content_types].xml" in lowered or not readable:
        suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        return _OOXML_SUFFIXES.get(suffix, "zip")
    return "zip"


def _local_header_names(window: bytes) -> list[str]:
    """File names of the zip local headers found in ``window``."""
    names: list[str] = []
    start = 0
    while (index := window.find(b"PK\x03\x04", start)) != -1 and index + 30 <= len(window):
        name_length, extra_length = struct.unpack_from("<HH", window, index + 26)
        raw = window[index + 30 : index + 30 + name_length]
        names.append(raw.decode("utf-8", errors="replace"))
        start = index + 30 + name_length + extra_length
    return names


def _ole_kind(data: bytes, name: str) -> str:
    """A compound file by its streams; the name only breaks the doc/wps and xls/et ties."""
    try:
        # A BytesIO, because olefile takes short ``bytes`` for a file name.
        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            streams = {"/".join(path).lower() for path in ole.listdir(streams=True, storages=True)}
    # A damaged compound file fails in olefile in many ways; sniffing must answer, not raise.
    except Exception:
        return "unknown"
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if "encryptioninfo" in streams or "encryptedpackage" in streams:
        return "ole_encrypted"
    if "worddocument" in streams:
        return "wps" if suffix in {"wps", "wpt"} else "doc"
    if "workbook" in streams or "book" in streams:
        return "et" if suffix in {"et", "ett"} else "xls"
    if "powerpoint document" in streams:
        return "ppt"
    return "unknown"


def _is_bmp(data: bytes) -> bool:
    """``BM`` alone is too weak (a text may start so); the DIB header size must be one Windows defines."""
    if len(data) < 26 or not data.startswith(b"BM"):
        return False
    (dib_size,) = struct.unpack_from("<I", data, 14)
    return dib_size in {12, 40, 52, 56, 64, 108, 124}


def _text_kind(data: bytes) -> str:
    """``html`` or ``txt`` for text in UTF-8 (with or without BOM), UTF-16 with BOM or GB18030."""
    window = data[:_TEXT_WINDOW]
    if not window:
        return "unknown"
    text = _decode_text(window)
    if text is None:
        return "unknown"
    # Control characters other than tab, newlines and form feed mean a binary file that happened to decode.
    if any(ord(char) < 32 and char not in "\t\n\r\f" for char in text):
        return "unknown"
    start = text.lstrip("\ufeff \t\r\n").lower().encode("utf-8", errors="ignore")[:1024]
    if start.startswith(_HTML_MARKERS) and (b"<html" in start or b"<!doctype html" in start or b"<body" in start):
        return "html"
    return "txt"


def _decode_text(window: bytes) -> str | None:
    """Decode the window as text, tolerating a character cut in two at its end."""
    if window.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings = ["utf-16"]
    else:
        encodings = ["utf-8-sig", "gb18030"]
    for encoding in encodings:
        decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
        try:
            return decoder.decode(window, final=len(window) < _TEXT_WINDOW)
        except UnicodeDecodeError:
            continue
    return None
