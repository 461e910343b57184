"""Unpacking the archives applicants attach: names as Chinese Windows tools write them, nesting, and bombs.

Every archive is built here: zip by hand (so that GBK names without the UTF-8 flag, lying headers and a 1 GB
bomb can be written exactly), 7z with py7zr and 7-Zip, rar by hand in the RAR 4 "store" layout (no rar creator
is installed; 7-Zip cannot write rar), read both directly and through the unar tool.
"""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import py7zr
import pytest
import rarfile

from zhengji.parsers.archives import (
    MB,
    ArchiveError,
    ArchiveLimits,
    ArchiveMember,
    ArchiveTooLarge,
    archive_format,
    unpack,
)

DOCX = b"PK\x03\x04 a docx stand-in " + bytes(range(256))
PDF = b"%PDF-1.7\n" + bytes(range(255, -1, -1))


# --- hand-made zip ----------------------------------------------------------------------------------------------


@dataclass
class RawMember:
    """One zip member as bytes on disk: ``name`` is written as given, the UTF-8 flag only when ``flags`` says."""

    name: bytes
    stream: bytes
    crc: int
    size: int
    method: int = 0
    flags: int = 0


def stored(name: bytes, data: bytes, flags: int = 0) -> RawMember:
    return RawMember(name, data, zlib.crc32(data), len(data), method=0, flags=flags)


def raw_zip(members: list[RawMember]) -> bytes:
    """A zip file written field by field (APPNOTE 4.3.7, 4.3.12, 4.3.16), without zip64."""
    out = bytearray()
    central = bytearray()
    for member in members:
        offset = len(out)
        out += struct.pack(
            "<4s5H3L2H", b"PK\x03\x04", 20, member.flags, member.method, 0, 33, member.crc,
            len(member.stream), member.size, len(member.name), 0,
        )  # fmt: skip
        out += member.name + member.stream
        central += struct.pack(
            "<4s6H3L5H2L", b"PK\x01\x02", 20, 20, member.flags, member.method, 0, 33, member.crc,
            len(member.stream), member.size, len(member.name), 0, 0, 0, 0, 0, offset,
        )  # fmt: skip
        central += member.name
    start = len(out)
    out += central
    out += struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(central), start, 0)
    return bytes(out)


def zeros_member(name: bytes, megabytes: int, declared: int | None = None) -> RawMember:
    """``megabytes`` MB of zeros, deflated without ever holding them: after a full flush the compressor keeps no
    history, so one compressed megabyte repeated is a valid deflate stream of many."""
    block = bytes(MB)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(megabytes):
        crc = zlib.crc32(block, crc)
    stream = piece * megabytes + zlib.compressobj(9, zlib.DEFLATED, -15).flush()
    size = megabytes * MB
    return RawMember(name, stream, crc, size if declared is None else declared, method=8)


def std_zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def names(members: list[ArchiveMember]) -> dict[str, bytes]:
    return {member.path: member.data for member in members if member.problem is None}


# --- zip --------------------------------------------------------------------------------------------------------


def test_zip_gbk_names_without_utf8_flag_are_read_as_gbk() -> None:
    data = raw_zip([stored("推荐表（喆）.docx".encode("gbk"), DOCX), stored("材料/汇总表昇.pdf".encode("gbk"), PDF)])
    # The archive really is what Chinese Windows tools write: zipfile alone shows cp437 mojibake.
    assert "推荐表（喆）.docx" not in zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert names(unpack(data, "zip", "资料.zip")) == {
        "资料.zip › 推荐表（喆）.docx": DOCX,
        "资料.zip › 材料/汇总表昇.pdf": PDF,
    }


def test_zip_utf8_names_flagged_or_not_are_read_as_utf8() -> None:
    flagged = std_zip({"新职业建议书.docx": DOCX})
    unflagged = raw_zip([stored("新职业汇总表.pdf".encode(), PDF)])  # macOS Archive Utility: UTF-8, no flag.
    assert names(unpack(flagged, "zip", "a.zip")) == {"a.zip › 新职业建议书.docx": DOCX}
    assert names(unpack(unflagged, "zip", "b.zip")) == {"b.zip › 新职业汇总表.pdf": PDF}


def test_zip_member_name_and_path_for_the_reply() -> None:
    members = unpack(std_zip({"表格/推荐表.docx": DOCX}), "zip", "资料.zip")
    assert [(m.name, m.path, m.trail) for m in members] == [
        ("推荐表.docx", "资料.zip › 表格/推荐表.docx", ("资料.zip", "表格/推荐表.docx"))
    ]


def test_nested_zip_in_zip_is_unpacked_with_its_trail() -> None:
    inner = std_zip({"推荐表.docx": DOCX})
    outer = std_zip({"内层.zip": inner, "说明.pdf": PDF})
    assert names(unpack(outer, "zip", "资料.zip")) == {
        "资料.zip › 内层.zip › 推荐表.docx": DOCX,
        "资料.zip › 说明.pdf": PDF,
    }


def test_a_docx_inside_a_zip_is_a_document_not_an_archive() -> None:
    docx_like = std_zip({"word/document.xml": b"<w:document/>"})
    assert names(unpack(std_zip({"建议书.docx": docx_like}), "zip", "a.zip")) == {"a.zip › 建议书.docx": docx_like}


def test_nesting_deeper_than_the_limit_is_refused_for_that_member() -> None:
    level4 = std_zip({"最里层.docx": DOCX})
    level3 = std_zip({"d.zip": level4, "第三层.docx": DOCX})
    level2 = std_zip({"c.zip": level3})
    level1 = std_zip({"b.zip": level2})
    members = unpack(level1, "zip", "a.zip")
    assert names(members) == {"a.zip › b.zip › c.zip › 第三层.docx": DOCX}
    refused = [m for m in members if m.problem]
    assert [m.path for m in refused] == ["a.zip › b.zip › c.zip › d.zip"]
    assert "嵌套层数过多" in (refused[0].problem or "")


def test_zip_bomb_of_one_gigabyte_is_refused_on_its_declared_size() -> None:
    bomb = raw_zip([zeros_member(b"zeros.docx", 1024)])
    assert len(bomb) < 2 * MB
    with pytest.raises(ArchiveTooLarge) as refused:
        unpack(bomb, "zip", "资料.zip")
    assert refused.value.message == "压缩包“资料.zip”解压后超过 200 MB，请将材料直接作为附件发送。"


def test_zip_bomb_is_refused_on_its_ratio_when_the_size_limit_allows_it() -> None:
    bomb = raw_zip([zeros_member(b"zeros.docx", 1024)])
    with pytest.raises(ArchiveTooLarge) as refused:
        unpack(bomb, "zip", "资料.zip", ArchiveLimits(max_total_bytes=4096 * MB))
    assert "压缩比异常" in refused.value.message and "zeros.docx" in refused.value.message


def test_zeros_member_builder_writes_a_valid_deflate_stream() -> None:
    data = raw_zip([zeros_member(b"three.bin", 3)])
    assert zipfile.ZipFile(io.BytesIO(data)).read("three.bin") == bytes(3 * MB)
    loose = ArchiveLimits(max_ratio=10_000)
    assert names(unpack(data, "zip", "z.zip", loose)) == {"z.zip › three.bin": bytes(3 * MB)}


def test_zip_whose_header_understates_the_size_is_refused() -> None:
    lying = raw_zip([zeros_member(b"small.docx", 300, declared=1000)])
    with pytest.raises(ArchiveError):
        unpack(lying, "zip", "资料.zip")


def test_the_total_limit_applies_to_all_members_together() -> None:
    data = std_zip({"a.bin": bytes(range(256)) * 3000, "b.bin": bytes(range(256)) * 3000})
    with pytest.raises(ArchiveTooLarge):
        unpack(data, "zip", "两份.zip", ArchiveLimits(max_total_bytes=1_000_000))
    assert len(names(unpack(data, "zip", "两份.zip", ArchiveLimits(max_total_bytes=2_000_000)))) == 2


def test_too_many_members_are_refused() -> None:
    data = std_zip({f"{n:03}.txt": b"x" for n in range(501)})
    with pytest.raises(ArchiveTooLarge) as refused:
        unpack(data, "zip", "批量.zip")
    assert refused.value.message == "压缩包“批量.zip”中的文件超过 500 个，请只发送本次申报所需的材料。"
    assert len(unpack(std_zip({f"{n:03}.txt": b"x" for n in range(500)}), "zip", "够.zip")) == 500


def test_members_that_escape_the_folder_are_refused_by_name() -> None:
    data = raw_zip(
        [
            stored(b"../../etc/cron.d/evil", b"x"),
            stored(b"/etc/passwd", b"x"),
            stored(b"C:\\Windows\\evil.docx", b"x"),
            stored(b"ok/../../up.docx", b"x"),
            stored("推荐表.docx".encode(), DOCX, flags=0x800),
        ]
    )
    members = unpack(data, "zip", "资料.zip")
    assert names(members) == {"资料.zip › 推荐表.docx": DOCX}
    refused = {m.trail[-1]: m.problem for m in members if m.problem}
    assert set(refused) == {"../../etc/cron.d/evil", "/etc/passwd", "C:\\Windows\\evil.docx", "ok/../../up.docx"}
    assert refused["/etc/passwd"] == (
        "压缩包“资料.zip”中的“/etc/passwd”路径不安全，未予解压，请将该文件直接作为附件发送。"
    )


def test_directories_and_os_junk_are_skipped() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("材料/", b"")
        archive.writestr("材料/推荐表.docx", DOCX)
        archive.writestr("__MACOSX/材料/._推荐表.docx", b"apple double")
        archive.writestr("材料/.DS_Store", b"finder")
        archive.writestr("材料/Thumbs.db", b"thumbs")
        archive.writestr("材料/~$推荐表.docx", b"lock")
    assert names(unpack(buffer.getvalue(), "zip", "a.zip")) == {"a.zip › 材料/推荐表.docx": DOCX}


def test_nfd_member_names_are_normalised_to_nfc() -> None:
    import unicodedata

    nfd = unicodedata.normalize("NFD", "Résumé-推荐表.docx")
    assert nfd != "Résumé-推荐表.docx"
    assert names(unpack(std_zip({nfd: DOCX}), "zip", "a.zip")) == {"a.zip › Résumé-推荐表.docx": DOCX}


def test_encrypted_zip_member_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    seven = shutil.which("7zz") or shutil.which("7z")
    assert seven, "7-Zip (7zz) is needed to write an encrypted zip"
    (tmp_path / "secret.docx").write_bytes(DOCX)
    (tmp_path / "open.pdf").write_bytes(PDF)
    subprocess.run([seven, "a", "-tzip", "-pSECRET", "locked.zip", "secret.docx"], cwd=tmp_path, check=True,
                   capture_output=True)  # fmt: skip
    subprocess.run([seven, "a", "-tzip", "locked.zip", "open.pdf"], cwd=tmp_path, check=True, capture_output=True)
    members = unpack((tmp_path / "locked.zip").read_bytes(), "zip", "资料.zip")
    assert names(members) == {"资料.zip › open.pdf": PDF}
    assert [m.problem for m in members if m.problem] == [
        "压缩包“资料.zip”中的“secret.docx”设有密码，无法打开，请取消密码后重新发送。"
    ]


def test_corrupt_zip_raises_a_chinese_error() -> None:
    data = std_zip({"推荐表.docx": DOCX * 50})
    broken = data[:40] + bytes(200) + data[240:]
    with pytest.raises(ArchiveError) as refused:
        unpack(broken, "zip", "资料.zip")
    assert "已损坏" in refused.value.message
    with pytest.raises(ArchiveError) as refused:
        unpack(b"not an archive at all", "zip", "资料.zip")
    assert refused.value.message == "压缩包“资料.zip”已损坏，无法解压，请重新压缩或将材料直接作为附件发送。"


def test_a_broken_nested_archive_is_a_problem_member_and_the_rest_is_kept() -> None:
    outer = std_zip({"坏的.zip": b"PK\x03\x04 garbage", "推荐表.docx": DOCX})
    members = unpack(outer, "zip", "资料.zip")
    assert names(members) == {"资料.zip › 推荐表.docx": DOCX}
    assert [m.path for m in members if m.problem] == ["资料.zip › 坏的.zip"]


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ArchiveError) as refused:
        unpack(b"data", "tar", "资料.tar")
    assert "仅支持 zip、rar、7z" in refused.value.message


def test_archive_format_trusts_the_magic_over_the_suffix() -> None:
    assert archive_format("资料.zip", b"Rar!\x1a\x07\x00") == "rar"
    assert archive_format("资料.RAR", b"") == "rar"
    assert archive_format("资料.7z", b"7z\xbc\xaf\x27\x1c") == "7z"
    assert archive_format("建议书.docx", b"PK\x03\x04") is None


# --- 7z ---------------------------------------------------------------------------------------------------------


def seven_zip(files: dict[str, bytes], password: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with py7zr.SevenZipFile(buffer, "w", password=password, header_encryption=password is not None) as archive:
        for name, data in files.items():
            archive.writestr(data, name)
    return buffer.getvalue()


def test_7z_members_and_nested_zip() -> None:
    data = seven_zip({"表格/推荐表（堃）.docx": DOCX, "内层.zip": std_zip({"汇总表.pdf": PDF}), ".DS_Store": b"x"})
    assert names(unpack(data, "7z", "资料.7z")) == {
        "资料.7z › 表格/推荐表（堃）.docx": DOCX,
        "资料.7z › 内层.zip › 汇总表.pdf": PDF,
    }


def test_7z_made_by_7zip_is_read(tmp_path: Path) -> None:
    seven = shutil.which("7zz") or shutil.which("7z")
    assert seven, "7-Zip (7zz) is needed"
    (tmp_path / "新职业建议书.docx").write_bytes(DOCX)
    subprocess.run([seven, "a", "-t7z", "out.7z", "新职业建议书.docx"], cwd=tmp_path, check=True, capture_output=True)
    assert names(unpack((tmp_path / "out.7z").read_bytes(), "7z", "资料.7z")) == {"资料.7z › 新职业建议书.docx": DOCX}


def test_7z_with_password_is_refused_politely() -> None:
    with pytest.raises(ArchiveError) as refused:
        unpack(seven_zip({"推荐表.docx": DOCX}, password="secret"), "7z", "资料.7z")
    assert refused.value.message == "压缩包“资料.7z”设有密码，无法打开，请取消密码后重新发送。"


def test_7z_over_the_size_limit_is_refused() -> None:
    data = seven_zip({"zeros.bin": bytes(3 * MB)})
    with pytest.raises(ArchiveTooLarge) as refused:
        unpack(data, "7z", "资料.7z", ArchiveLimits(max_total_bytes=2 * MB))
    assert refused.value.message == "压缩包“资料.7z”解压后超过 2 MB，请将材料直接作为附件发送。"


def test_corrupt_7z_raises_a_chinese_error() -> None:
    data = seven_zip({"推荐表.docx": DOCX * 100})
    with pytest.raises(ArchiveError) as refused:
        unpack(data[:60], "7z", "资料.7z")
    assert "已损坏" in refused.value.message


# --- rar --------------------------------------------------------------------------------------------------------


def rar4_stored(files: list[tuple[str, bytes, str]]) -> bytes:
    """A RAR 4 archive with stored (uncompressed) members, written from the RAR 4 technical note.

    Each entry is (name, data, how the name is written): ``"utf8"`` sets the Unicode flag (0x200) and writes
    UTF-8, as WinRAR 5 does; ``"gbk"`` writes the legacy OEM name, as Chinese WinRAR 3 does.
    """

    def block(head_type: int, flags: int, body: bytes) -> bytes:
        header = struct.pack("<BHH", head_type, flags, 7 + len(body)) + body
        return struct.pack("<H", zlib.crc32(header) & 0xFFFF) + header

    out = b"Rar!\x1a\x07\x00" + block(0x73, 0, bytes(6))
    for name, data, how in files:
        raw_name = name.replace("/", "\\").encode("utf-8" if how == "utf8" else "gbk")
        flags = 0x8000 | (0x200 if how == "utf8" else 0)
        body = struct.pack(
            "<IIBIIBBHI", len(data), len(data), 2, zlib.crc32(data), 0x5AD40000, 20, 0x30, len(raw_name), 0x20
        )
        out += block(0x74, flags, body + raw_name) + data
    return out + block(0x7B, 0x4000, b"")


RAR_FILES = [("表格/推荐表（昇）.docx", DOCX, "utf8"), ("汇总表镕.pdf", PDF, "gbk")]
RAR_EXPECTED = {"资料.rar › 表格/推荐表（昇）.docx": DOCX, "资料.rar › 汇总表镕.pdf": PDF}


def test_rar_stored_members_with_unicode_and_gbk_names() -> None:
    assert names(unpack(rar4_stored(RAR_FILES), "rar", "资料.rar")) == RAR_EXPECTED


def test_rar_read_through_the_unar_tool(monkeypatch: pytest.MonkeyPatch) -> None:
    assert shutil.which("unar"), "unar is needed to extract rar"
    # Stored members are normally copied directly; forcing the tool runs the same path as compressed members.
    monkeypatch.setattr(rarfile, "FORCE_TOOL", True)
    assert names(unpack(rar4_stored(RAR_FILES), "rar", "资料.rar")) == RAR_EXPECTED


def test_rar_without_an_extractor_tool_is_refused_politely(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rarfile, "FORCE_TOOL", True)
    for tool in ("UNRAR_TOOL", "UNAR_TOOL", "SEVENZIP_TOOL", "SEVENZIP2_TOOL", "BSDTAR_TOOL"):
        monkeypatch.setattr(rarfile, tool, "/nonexistent/extractor")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(ArchiveError) as refused:
        unpack(rar4_stored(RAR_FILES), "rar", "资料.rar")
    assert refused.value.message == "暂时无法解开 rar 压缩包“资料.rar”，请改用 zip 格式压缩或将材料直接作为附件发送。"


def test_rar_with_a_path_traversal_member_refuses_that_member() -> None:
    members = unpack(rar4_stored([("../../evil.docx", b"x", "utf8"), *RAR_FILES]), "rar", "资料.rar")
    assert names(members) == RAR_EXPECTED
    assert [m.trail[-1] for m in members if m.problem] == ["../../evil.docx"]


def test_corrupt_rar_raises_a_chinese_error() -> None:
    data = rar4_stored(RAR_FILES)
    with pytest.raises(ArchiveError) as refused:
        unpack(data[:30] + b"\xff" * 20 + data[50:], "rar", "资料.rar")
    assert "已损坏" in refused.value.message
    with pytest.raises(ArchiveError):
        unpack(b"Rar!\x1a\x07\x00 truncated", "rar", "资料.rar")


# --- unpacked in the worker, not the service ----------------------------------------------------------------------


def sparse_member(megabytes: int, seed: int) -> bytes:
    """Bytes that deflate about 60:1, well under the bomb ratio: a little noise in every 64 KB of zeros."""
    import random

    noise = random.Random(seed)
    block = 64 * 1024
    return b"".join(noise.randbytes(1024) + bytes(block - 1024) for _ in range(megabytes * MB // block))


PEAK_RSS_SCRIPT = """
import json, sys
from datetime import UTC, datetime
from zhengji.parsers.document import ParseOptions, parse_attachment


def peak_kb():
    # VmHWM, the peak resident size since the last reset (ru_maxrss would carry the parent's peak over exec).
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])


options = ParseOptions(at=datetime(2025, 6, 21, tzinfo=UTC))
data = open(sys.argv[1], "rb").read()
parse_attachment("预热.zip", open(sys.argv[2], "rb").read(), options)  # imports, and a worker started
with open("/proc/self/clear_refs", "w") as reset:
    reset.write("5")  # the peak starts again from now
before = peak_kb()
documents = parse_attachment("资料.zip", data, options)
after = peak_kb()
print(json.dumps({"before_kb": before, "after_kb": after, "files": [doc.file for doc in documents]}))
"""


def test_an_archive_is_unpacked_in_the_worker_so_the_service_does_not_grow(tmp_path: Path) -> None:
    """The service grew to 554 MB on one archive of 190 members: members were unpacked in its own process.
    Measured in a fresh process, whose peak resident memory is its own: 50 MB of members, and the peak
    moves by far less than that (the zip itself is under 1 MB)."""
    import json
    import sys

    archive = tmp_path / "资料.zip"
    archive.write_bytes(std_zip({f"附件{n}.bin": sparse_member(10, n) for n in range(5)}))
    assert archive.stat().st_size < 2 * MB
    warmup = tmp_path / "预热.zip"
    warmup.write_bytes(std_zip({"附件.bin": sparse_member(1, 99)}))
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", PEAK_RSS_SCRIPT, str(archive), str(warmup)],
        cwd=root, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    measured = json.loads(result.stdout.splitlines()[-1])
    assert measured["files"] == [f"资料.zip › 附件{n}.bin" for n in range(5)]
    grown_mb = (measured["after_kb"] - measured["before_kb"]) / 1024
    assert grown_mb < 25, f"the parent's peak memory grew by {grown_mb:.0f} MB for 50 MB of members"
