"""Unpack the zip, rar and 7z archives applicants attach instead of the forms themselves.

Applicants often send "资料.zip" holding the 推荐表 and its PDF, sometimes a zip inside a rar. Every archive is
hostile until proven otherwise: sizes and member counts are checked on the declared headers first and again on
the bytes actually produced (headers can lie), member paths that would escape a directory are refused, and
nothing is written to disk except a rar archive, in a private temporary folder, for the extractor tool.

Two kinds of failure are kept apart. A refusal of the whole archive (a bomb, too many members, a corrupt or
password-protected archive) raises :class:`ArchiveError`, whose message is the Chinese sentence for the reply.
A refusal of one member (an unsafe path, an encrypted member, a nested archive too deep or unreadable) is an
:class:`ArchiveMember` with ``problem`` set and no data, so that the other members are still checked.
"""

from __future__ import annotations

import io
import posixpath
import re
import shutil
import struct
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import py7zr
import py7zr.exceptions
import py7zr.io
import rarfile

MB = 1024 * 1024
SEPARATOR = " › "
_CHUNK = 64 * 1024
_ARCHIVE_SUFFIXES = {".zip": "zip", ".rar": "rar", ".7z": "7z"}
_JUNK_NAMES = {".ds_store", "thumbs.db", "desktop.ini", ".localized"}
_JUNK_DIRS = {"__macosx", ".git", ".svn"}
_DRIVE = re.compile(r"^[A-Za-z]:")
# The Info-ZIP "Unicode Path" extra field (0x7075): version, CRC-32 of the legacy name, then the UTF-8 name.
# 7-Zip and WinRAR write it beside a GBK legacy name.
_UNICODE_PATH_EXTRA = 0x7075


@dataclass(frozen=True)
class ArchiveLimits:
    """How much an archive may unpack to before it is refused as a bomb."""

    max_total_bytes: int = 200 * MB
    max_members: int = 500
    max_depth: int = 3
    max_ratio: float = 200.0
    # Small members may compress very well (a blank form), so the ratio is checked only above this size.
    ratio_floor: int = 1 * MB


@dataclass(frozen=True)
class ArchiveMember:
    """One file found in an archive, or one that was refused.

    ``trail`` runs from the outer archive's name to the member's path inside the innermost archive:
    ``("资料.zip", "内层.rar", "表格/推荐表.docx")``. ``problem`` is a Chinese sentence when the member was not
    unpacked; ``data`` is empty then.
    """

    trail: tuple[str, ...]
    data: bytes = b""
    problem: str | None = None

    @property
    def name(self) -> str:
        """The member's file name without its folders, as a reader would label the document."""
        return posixpath.basename(self.trail[-1])

    @property
    def path(self) -> str:
        """The member's place for the reply: "资料.zip › 推荐表.docx"."""
        return SEPARATOR.join(self.trail)


class ArchiveError(Exception):
    """The whole archive was refused; ``message`` is the Chinese sentence for the applicant."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ArchiveTooLarge(ArchiveError):
    """A limit of :class:`ArchiveLimits` was exceeded; it ends the unpacking of the outermost archive too."""


@dataclass
class _Budget:
    """What the outermost archive may still spend, shared by every nested archive inside it."""

    top: str
    limits: ArchiveLimits
    bytes_left: int
    members_left: int

    def too_large(self) -> ArchiveTooLarge:
        limit = _human_size(self.limits.max_total_bytes)
        return ArchiveTooLarge(f"压缩包“{self.top}”解压后超过 {limit}，请将材料直接作为附件发送。")

    def too_many(self) -> ArchiveTooLarge:
        return ArchiveTooLarge(
            f"压缩包“{self.top}”中的文件超过 {self.limits.max_members} 个，请只发送本次申报所需的材料。"
        )

    def take_member(self) -> None:
        self.members_left -= 1
        if self.members_left < 0:
            raise self.too_many()

    def check_declared(self, sizes: list[tuple[str, int, int | None]]) -> None:
        """Refuse on the headers alone: ``sizes`` holds (member path, declared size, compressed size or None)."""
        if len(sizes) > self.members_left:
            raise self.too_many()
        if sum(size for _, size, _ in sizes) > self.bytes_left:
            raise self.too_large()
        for path, size, packed in sizes:
            if packed is not None:
                self.check_ratio(path, size, packed)

    def check_ratio(self, path: str, size: int, packed: int) -> None:
        if size > self.limits.ratio_floor and size > self.limits.max_ratio * max(packed, 1):
            raise ArchiveTooLarge(
                f"压缩包“{self.top}”中的“{path}”压缩比异常（超过 {self.limits.max_ratio:g}:1），"
                "疑似压缩炸弹，未予解压。请将材料直接作为附件发送。"
            )

    def spend(self, count: int) -> None:
        self.bytes_left -= count
        if self.bytes_left < 0:
            raise self.too_large()


def unpack(data: bytes, fmt: str, name: str, limits: ArchiveLimits = ArchiveLimits()) -> list[ArchiveMember]:
    """Every file inside the archive ``name`` (format ``zip``, ``rar`` or ``7z``), nested archives unpacked.

    Raises :class:`ArchiveError` when the whole archive must be refused; members refused one by one come back
    with ``problem`` set. Directory entries and operating-system junk (``__MACOSX/``, ``.DS_Store``,
    ``Thumbs.db``, ``~$`` lock files) are left out silently.
    """
    budget = _Budget(top=name, limits=limits, bytes_left=limits.max_total_bytes, members_left=limits.max_members)
    return _unpack(data, fmt, (name,), budget, depth=1)


def archive_format(name: str, data: bytes = b"") -> str | None:
    """``zip``, ``rar`` or ``7z`` when ``name`` is an archive an applicant would send, else None.

    Only the suffix decides whether a file is an archive (a .docx is a zip too, but is a document); the first
    bytes decide which format it is, because a renamed .rar sent as .zip is common.
    """
    suffix = posixpath.splitext(name.lower())[1]
    if suffix not in _ARCHIVE_SUFFIXES:
        return None
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        return "zip"
    if data.startswith(b"Rar!\x1a\x07"):
        return "rar"
    if data.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "7z"
    return _ARCHIVE_SUFFIXES[suffix]


def _unpack(data: bytes, fmt: str, trail: tuple[str, ...], budget: _Budget, depth: int) -> list[ArchiveMember]:
    readers: dict[str, Callable[[bytes, tuple[str, ...], _Budget], Iterator[ArchiveMember]]] = {
        "zip": _zip_members,
        "rar": _rar_members,
        "7z": _7z_members,
    }
    reader = readers.get(fmt.lower().lstrip("."))
    if reader is None:
        raise ArchiveError(f"“{trail[-1]}”不是可以解开的压缩包（仅支持 zip、rar、7z），请将材料直接作为附件发送。")
    found: list[ArchiveMember] = []
    for member in reader(data, trail, budget):
        inner_fmt = None if member.problem else archive_format(member.trail[-1], member.data)
        if inner_fmt is None:
            found.append(member)
        elif depth >= budget.limits.max_depth:
            found.append(
                ArchiveMember(
                    member.trail,
                    problem=f"压缩包“{member.path}”嵌套层数过多，未予解压，请将其中的材料直接作为附件发送。",
                )
            )
        else:
            try:
                found.extend(_unpack(member.data, inner_fmt, member.trail, budget, depth + 1))
            except ArchiveTooLarge:
                raise
            except ArchiveError as error:
                found.append(ArchiveMember(member.trail, problem=error.message))
    return found


# --- member names -----------------------------------------------------------------------------------------------


def _safe_path(raw: str) -> str | None:
    """The member path normalised to NFC with forward slashes, or None when it would escape the target folder."""
    path = unicodedata.normalize("NFC", raw.replace("\\", "/"))
    if "\x00" in path or path.startswith("/") or _DRIVE.match(path):
        return None
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return "/".join(parts)


def _is_junk(path: str) -> bool:
    parts = path.lower().split("/")
    base = parts[-1]
    return (
        any(part in _JUNK_DIRS for part in parts[:-1])
        or base in _JUNK_NAMES
        or base.startswith("~$")
        or base.startswith("._")
    )


def _unsafe(trail: tuple[str, ...], raw: str) -> ArchiveMember:
    return ArchiveMember(
        (*trail, raw),
        problem=f"压缩包“{SEPARATOR.join(trail)}”中的“{raw}”路径不安全，未予解压，请将该文件直接作为附件发送。",
    )


def _encrypted(trail: tuple[str, ...], path: str) -> ArchiveMember:
    return ArchiveMember(
        (*trail, path),
        problem=f"压缩包“{SEPARATOR.join(trail)}”中的“{path}”设有密码，无法打开，请取消密码后重新发送。",
    )


def _corrupt(trail: tuple[str, ...], path: str | None = None) -> ArchiveError:
    where = f"“{SEPARATOR.join(trail)}”" if path is None else f"“{SEPARATOR.join(trail)}”中的“{path}”"
    return ArchiveError(f"压缩包{where}已损坏，无法解压，请重新压缩或将材料直接作为附件发送。")


def _zip_name(info: zipfile.ZipInfo) -> str:
    """The member's real name: zipfile reads names without the UTF-8 flag as cp437, Windows tools write GBK."""
    if info.flag_bits & 0x800:
        return info.filename
    unicode_path = _zip_unicode_path_extra(info.extra)
    if unicode_path is not None:
        return unicode_path
    try:
        raw = info.filename.encode("cp437")
    except UnicodeEncodeError:
        return info.filename
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return info.filename


def _zip_unicode_path_extra(extra: bytes) -> str | None:
    offset = 0
    while offset + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, offset)
        body = extra[offset + 4 : offset + 4 + size]
        if tag == _UNICODE_PATH_EXTRA and len(body) > 5 and body[0] == 1:
            try:
                return body[5:].decode("utf-8")
            except UnicodeDecodeError:
                return None
        offset += 4 + size
    return None


# --- reading with a byte budget ---------------------------------------------------------------------------------


def _read_counted(stream: IO[bytes], budget: _Budget, path: str, packed: int | None) -> bytes:
    """Read a member in chunks, spending the budget as real bytes arrive (declared sizes can lie)."""
    out = bytearray()
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            break
        budget.spend(len(chunk))
        out.extend(chunk)
        if packed is not None:
            budget.check_ratio(path, len(out), packed)
    return bytes(out)


# --- zip --------------------------------------------------------------------------------------------------------


def _zip_members(data: bytes, trail: tuple[str, ...], budget: _Budget) -> Iterator[ArchiveMember]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise _corrupt(trail) from error
    with archive:
        entries: list[tuple[zipfile.ZipInfo, str]] = []
        for info in archive.infolist():
            name = _zip_name(info)
            path = _safe_path(name)
            if path is None:
                yield _unsafe(trail, name)
            elif not info.is_dir() and not _is_junk(path):
                entries.append((info, path))
        budget.check_declared([(path, info.file_size, info.compress_size) for info, path in entries])
        for info, path in entries:
            budget.take_member()
            if info.flag_bits & 0x1:
                yield _encrypted(trail, path)
                continue
            try:
                with archive.open(info) as stream:
                    content = _read_counted(stream, budget, path, info.compress_size)
            except ArchiveError:
                raise
            except NotImplementedError as error:
                raise ArchiveError(
                    f"压缩包“{SEPARATOR.join(trail)}”的压缩方式不受支持，请改用常见的 zip 格式重新压缩后发送。"
                ) from error
            except Exception as error:  # zlib.error, BadZipFile (bad CRC), EOFError, …: the bytes are broken.
                raise _corrupt(trail, path) from error
            yield ArchiveMember((*trail, path), content)


# --- 7z ---------------------------------------------------------------------------------------------------------


class _CountingIO(py7zr.io.Py7zIO):
    """A py7zr output buffer that spends the budget as py7zr writes into it."""

    def __init__(self, budget: _Budget, path: str) -> None:
        self._budget = budget
        self._path = path
        self._buffer = io.BytesIO()

    def write(self, s: bytes | bytearray) -> int:
        self._budget.spend(len(s))
        return self._buffer.write(s)

    def read(self, size: int | None = None) -> bytes:
        return self._buffer.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._buffer.seek(offset, whence)

    def flush(self) -> None:
        self._buffer.flush()

    def size(self) -> int:
        return len(self._buffer.getbuffer())

    def getvalue(self) -> bytes:
        return self._buffer.getvalue()


@dataclass
class _CountingFactory(py7zr.io.WriterFactory):
    budget: _Budget
    products: dict[str, _CountingIO] = field(default_factory=dict)

    def create(self, filename: str) -> py7zr.io.Py7zIO:
        product = _CountingIO(self.budget, filename)
        self.products[filename] = product
        return product


def _7z_members(data: bytes, trail: tuple[str, ...], budget: _Budget) -> Iterator[ArchiveMember]:
    where = SEPARATOR.join(trail)
    try:
        archive = py7zr.SevenZipFile(io.BytesIO(data), mode="r")
    except py7zr.exceptions.PasswordRequired as error:
        raise ArchiveError(f"压缩包“{where}”设有密码，无法打开，请取消密码后重新发送。") from error
    except Exception as error:  # Bad7zFile, UnsupportedCompressionMethodError, struct errors on garbage.
        raise _corrupt(trail) from error
    with archive:
        if archive.needs_password():
            raise ArchiveError(f"压缩包“{where}”设有密码，无法打开，请取消密码后重新发送。")
        wanted: dict[str, str] = {}
        declared: list[tuple[str, int, int | None]] = []
        for info in archive.list():
            path = _safe_path(info.filename)
            if path is None:
                yield _unsafe(trail, info.filename)
            elif info.is_directory or info.is_symlink or _is_junk(path):
                continue
            else:
                wanted[info.filename] = path
                # 7z compresses members together in solid blocks, so a per-member packed size is unknown.
                declared.append((path, info.uncompressed or 0, None))
        budget.check_declared(declared)
        if not wanted:
            return
        for _ in wanted:
            budget.take_member()
        factory = _CountingFactory(budget)
        try:
            archive.extract(targets=list(wanted), factory=factory)
        except ArchiveError:
            raise
        except py7zr.exceptions.DecompressionBombError as error:
            raise budget.too_large() from error
        except Exception as error:  # CrcError, Bad7zFile, lzma errors: the bytes are broken.
            raise _corrupt(trail) from error
        for original, path in wanted.items():
            product = factory.products.get(original)
            yield ArchiveMember((*trail, path), product.getvalue() if product else b"")


# --- rar --------------------------------------------------------------------------------------------------------


def _rar_tool_ready() -> bool:
    """Point rarfile at an installed extractor: unrar when present, else unar (packaged as free software)."""
    if shutil.which(rarfile.UNAR_TOOL) is None and shutil.which("unar") is not None:
        rarfile.UNAR_TOOL = "unar"
    # unar guesses the encoding of legacy (non-Unicode) names and guesses Cyrillic for short GBK names; rarfile
    # asks for members by the names it decoded as GB18030, so unar must decode them the same way.
    command = tuple(rarfile.UNAR_CONFIG["open_cmd"])
    if "-e" not in command:
        rarfile.UNAR_CONFIG["open_cmd"] = (*command, "-e", "GB18030")
    try:
        rarfile.tool_setup(force=True)
    except rarfile.RarCannotExec:
        return False
    return True


def _rar_members(data: bytes, trail: tuple[str, ...], budget: _Budget) -> Iterator[ArchiveMember]:
    # The extractor tools read files, not pipes: the archive goes to a private temporary folder for the while.
    with tempfile.TemporaryDirectory(prefix="zhengji-rar-") as folder:
        archive_path = Path(folder) / "archive.rar"
        archive_path.write_bytes(data)
        yield from _rar_file_members(str(archive_path), trail, budget)


def _rar_file_members(archive_path: str, trail: tuple[str, ...], budget: _Budget) -> Iterator[ArchiveMember]:
    where = SEPARATOR.join(trail)
    cannot = f"暂时无法解开 rar 压缩包“{where}”，请改用 zip 格式压缩或将材料直接作为附件发送。"
    tool_ready = _rar_tool_ready()
    try:
        # Chinese WinRAR writes legacy names in GBK; gb18030 reads those and more.
        archive = rarfile.RarFile(archive_path, charset="gb18030", errors="strict")
    except rarfile.PasswordRequired as error:
        raise ArchiveError(f"压缩包“{where}”设有密码，无法打开，请取消密码后重新发送。") from error
    except Exception as error:  # NotRarFile, BadRarFile, struct errors on garbage.
        raise _corrupt(trail) from error
    with archive:
        entries: list[tuple[rarfile.RarInfo, str]] = []
        for info in archive.infolist():
            path = _safe_path(info.filename)
            if path is None:
                yield _unsafe(trail, info.filename)
            elif not info.is_dir() and not info.is_symlink() and not _is_junk(path):
                entries.append((info, path))
        budget.check_declared([(path, info.file_size, info.compress_size) for info, path in entries])
        for info, path in entries:
            budget.take_member()
            if info.needs_password():
                yield _encrypted(trail, path)
                continue
            try:
                with archive.open(info) as stream:
                    content = _read_counted(stream, budget, path, info.compress_size)
            except ArchiveError:
                raise
            except rarfile.RarCannotExec as error:
                raise ArchiveError(cannot) from error
            except Exception as error:  # RarCRCError, BadRarFile, tool failures: the bytes are broken.
                if not tool_ready:
                    raise ArchiveError(cannot) from error
                raise _corrupt(trail, path) from error
            yield ArchiveMember((*trail, path), content)


def _human_size(count: int) -> str:
    if count >= MB and count % MB == 0:
        return f"{count // MB} MB"
    if count >= MB:
        return f"{count / MB:.1f} MB"
    return f"{max(count // 1024, 1)} KB"
