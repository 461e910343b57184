"""The worker process: a result comes back, and time, memory or a crash cost the worker, never the caller."""

from __future__ import annotations

import ctypes
import os
import subprocess
import time
from pathlib import Path

import pytest

from zhengji.parsers.isolation import Limits, WorkerFailed, run_isolated
from zhengji.parsers.model import Unreadable


def double(value: int) -> int:
    return value * 2


def refuse() -> None:
    raise Unreadable("该 PDF 文件设有密码，请取消密码后重新发送。")


def hang() -> None:
    time.sleep(600)


def grab_memory() -> int:
    return len(bytearray(4 * 1024**3))


def segfault() -> None:
    ctypes.string_at(0)


def start_child_and_hang(pidfile: str) -> None:
    child = subprocess.Popen(["sleep", "600"])
    Path(pidfile).write_text(str(child.pid))
    time.sleep(600)


def pair() -> tuple[int, str]:
    return 1, "二"


def test_result_comes_back() -> None:
    assert run_isolated(double, 21) == 42


def test_a_result_crosses_as_json_not_as_a_python_object() -> None:
    assert run_isolated(pair) == [1, "二"]


def test_unreadable_keeps_its_chinese_message() -> None:
    with pytest.raises(Unreadable, match="请取消密码后重新发送"):
        run_isolated(refuse)


def test_timeout_kills_the_worker() -> None:
    started = time.monotonic()
    with pytest.raises(WorkerFailed) as failed:
        run_isolated(hang, limits=Limits(seconds=1))
    assert failed.value.kind == "timeout"
    assert time.monotonic() - started < 10


def test_timeout_kills_what_the_worker_started(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    with pytest.raises(WorkerFailed):
        run_isolated(start_child_and_hang, str(pidfile), limits=Limits(seconds=1.5))
    pid = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        # A killed child that is not yet reaped is a zombie: gone for every practical purpose.
        if Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
            return
        time.sleep(0.1)
    raise AssertionError("the LibreOffice-like child outlived its worker")


def test_memory_limit_stops_the_worker() -> None:
    with pytest.raises(WorkerFailed) as failed:
        run_isolated(grab_memory, limits=Limits(memory_bytes=1024**3))
    assert failed.value.kind == "memory"


def test_a_crash_in_a_c_library_is_reported() -> None:
    with pytest.raises(WorkerFailed) as failed:
        run_isolated(segfault)
    assert failed.value.kind == "crash"
