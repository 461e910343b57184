"""Convert legacy office files (.doc, .wps, .xls, .et, .rtf) with LibreOffice, so the modern readers read them.

Each conversion gets its own LibreOffice profile directory: soffice locks its user profile, and a second
instance started on a shared profile hands the job to the first one or exits 0 without doing anything, so
concurrent conversions fail silently. LibreOffice also exits 0 when it cannot load a file, so success is
judged by the output file, not by the exit status.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from zhengji.parsers.model import Unreadable

__all__ = ["convert_with_libreoffice", "soffice_path"]

# What to ask the applicant for when a file cannot be converted, by the format we failed to read.
_RESEND = "请另存为 .docx 或导出 PDF 后重新发送。"
_RESEND_SHEET = "请另存为 .xlsx 或导出 PDF 后重新发送。"


def soffice_path() -> str | None:
    """The LibreOffice executable, or None when it is not installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def _resend_for(source_ext: str) -> str:
    return _RESEND_SHEET if source_ext.lower() in {"xls", "et"} else _RESEND


def convert_with_libreoffice(data: bytes, source_ext: str, target_ext: str, timeout: float = 60) -> bytes:
    """The bytes of ``data`` converted from ``source_ext`` to ``target_ext`` (a filter may follow a colon).

    Raises :class:`Unreadable` with a sentence for the applicant when LibreOffice is missing, times out, or
    produces nothing.
    """
    source_ext = source_ext.lstrip(".").lower()
    executable = soffice_path()
    if executable is None:
        raise Unreadable(f"本系统无法读取 .{source_ext} 格式，{_resend_for(source_ext)}")
    with tempfile.TemporaryDirectory(prefix="zhengji-soffice-") as workdir:
        work = Path(workdir)
        source = work / f"input.{source_ext}"
        source.write_bytes(data)
        outdir = work / "out"
        outdir.mkdir()
        profile = work / "profile"
        command = [
            executable,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--norestore",
            "--nologo",
            "--nodefault",
            "--nolockcheck",
            "--convert-to",
            target_ext,
            "--outdir",
            str(outdir),
            str(source),
        ]
        _run(command, timeout, source_ext)
        produced = [path for path in outdir.iterdir() if path.is_file() and path.stat().st_size > 0]
        if not produced:
            raise Unreadable(f"附件的 .{source_ext} 文件无法打开，可能已损坏，{_resend_for(source_ext)}")
        return produced[0].read_bytes()


def _run(command: list[str], timeout: float, source_ext: str) -> None:
    """Run soffice in its own process group, so that a timeout kills it together with its helper processes."""
    env = dict(os.environ, HOME=os.environ.get("HOME", tempfile.gettempdir()))
    with subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        env=env,
    ) as process:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise Unreadable(f"附件的 .{source_ext} 文件无法在规定时间内打开，{_resend_for(source_ext)}") from None
