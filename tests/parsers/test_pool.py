"""The pool of reusable parser workers: reuse, replacement, kills that leave nothing behind, plain-data answers.

Each test uses a pool of its own (started by fork from the test process, as the command line does), so that
one test's killed or retired workers never show in another's.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from zhengji.parsers import isolation
from zhengji.parsers.isolation import Limits, PoolClosed, WorkerFailed, WorkerPool, worker_channel

ROOT = Path(__file__).resolve().parents[2]


# --- what the workers run (module-level, so that a worker can find them) ------------------------------------


def worker_pid() -> int:
    return os.getpid()


def hang() -> None:
    time.sleep(600)


def grab_memory() -> int:
    return len(bytearray(4 * 1024**3))


_kept: list[bytearray] = []


def keep_memory(megabytes: int) -> int:
    """Grow and stay grown, as a worker whose caches or leaks swell over many documents."""
    block = bytearray(megabytes * 1024 * 1024)
    block[::4096] = b"x" * len(block[::4096])  # touch every page, so that it is resident
    _kept.append(block)
    return os.getpid()


def start_session_child_and_hang(pidfile: str) -> None:
    """What LibreOffice does: a child in a session of its own, outside the worker's process group."""
    child = subprocess.Popen(["sleep", "600"], start_new_session=True)
    Path(pidfile).write_text(str(child.pid))
    time.sleep(600)


class Exploit:
    """An object whose unpickling runs code: ``pickle.loads`` of it makes the directory."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.mkdir, (self.marker,)


def answer_with_a_pickle(marker: str) -> None:
    """A worker taken over by a hostile file: it writes a pickle where its JSON answer belongs."""
    worker_channel().connection.send_bytes(pickle.dumps({"result": Exploit(marker)}))
    time.sleep(600)  # the parent must not wait for a "real" answer after it


def return_an_object(marker: str) -> object:
    return Exploit(marker)


def answer_too_long() -> str:
    return "x" * (isolation.MAX_ANSWER_BYTES + 1)


# --- helpers ------------------------------------------------------------------------------------------------


def gone(pid: int, within: float = 10.0) -> bool:
    """True once ``pid`` no longer runs (a zombie waiting for its parent to reap it counts as gone)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return True
        except (OSError, IndexError):
            return True
        time.sleep(0.05)
    return False


def wait_for_file(path: Path, within: float = 10.0) -> str:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if path.exists() and path.read_text():
            return path.read_text()
        time.sleep(0.02)
    raise AssertionError(f"{path} was never written")


@pytest.fixture
def pool() -> Iterator[WorkerPool]:
    with WorkerPool(method="fork", size=1, max_requests=3) as own:
        yield own


# --- reuse and replacement ----------------------------------------------------------------------------------


def test_a_worker_serves_many_requests_and_is_replaced_after_max_requests(pool: WorkerPool) -> None:
    pids = [pool.call(worker_pid) for _ in range(4)]
    assert pids[0] == pids[1] == pids[2], "one worker serves request after request"
    assert pids[3] != pids[0], "and is replaced after max_requests"
    assert pids[0] != os.getpid()
    assert gone(pids[0]), "the retired worker was ended"
    assert pool.pids() == [pids[3]]


def test_a_worker_past_its_time_is_killed_and_the_next_request_gets_a_new_one(pool: WorkerPool) -> None:
    first = pool.call(worker_pid)
    with pytest.raises(WorkerFailed) as failed:
        pool.call(hang, limits=Limits(seconds=0.5))
    assert failed.value.kind == "timeout"
    assert gone(first)
    second = pool.call(worker_pid)
    assert second != first


def test_a_worker_out_of_memory_is_replaced(pool: WorkerPool) -> None:
    limits = Limits(memory_bytes=1024**3)
    first = pool.call(worker_pid, limits=limits)
    with pytest.raises(WorkerFailed) as failed:
        pool.call(grab_memory, limits=limits)
    assert failed.value.kind == "memory"
    assert gone(first)
    assert pool.call(worker_pid, limits=limits) != first


def test_a_worker_whose_memory_grew_past_the_threshold_is_replaced() -> None:
    with WorkerPool(method="fork", size=1, max_requests=100, max_rss_bytes=0) as tight:
        assert tight.call(worker_pid) != tight.call(worker_pid), "a worker over the threshold is not reused"
    with WorkerPool(method="fork", size=1, max_requests=100) as roomy:
        baseline = roomy.call(worker_pid)
        # The threshold sits above the worker as it is now and below it once it holds 200 MB more.
        resident = int(Path(f"/proc/{baseline}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        roomy.max_rss_bytes = resident + 100 * 1024 * 1024
        assert roomy.call(worker_pid) == baseline
        assert roomy.call(keep_memory, 200) == baseline
        assert roomy.call(worker_pid) != baseline
        assert gone(baseline)


def test_each_memory_limit_gets_a_worker_started_with_it(pool: WorkerPool) -> None:
    small = pool.call(worker_pid, limits=Limits(memory_bytes=1024**3))
    large = pool.call(worker_pid, limits=Limits(memory_bytes=2 * 1024**3))
    assert small != large
    assert Path(f"/proc/{large}/limits").read_text().count(str(2 * 1024**3)) == 2  # soft and hard
    assert gone(small), "a pool of one makes room by ending the idle worker"


# --- kills leave nothing behind -----------------------------------------------------------------------------


def test_a_time_out_kills_what_the_worker_started_in_a_session_of_its_own(pool: WorkerPool, tmp_path: Path) -> None:
    """LibreOffice runs in its own session, out of reach of the worker's process group: it outlived its
    worker as an orphan. The kill now reaches every descendant."""
    pidfile = tmp_path / "child.pid"
    worker = pool.call(worker_pid)
    with pytest.raises(WorkerFailed):
        pool.call(start_session_child_and_hang, str(pidfile), limits=Limits(seconds=1.5))
    child = int(wait_for_file(pidfile))
    assert gone(worker)
    assert gone(child), "the child that LibreOffice stands for outlived its worker"


def test_shutdown_ends_busy_and_idle_workers_and_wakes_their_callers(tmp_path: Path) -> None:
    pool = WorkerPool(method="fork", size=2)
    idle = pool.call(worker_pid)
    pidfile = tmp_path / "child.pid"
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            pool.call(start_session_child_and_hang, str(pidfile), limits=Limits(seconds=300))
        except BaseException as error:
            outcome.append(error)

    caller = threading.Thread(target=call)
    caller.start()
    child = int(wait_for_file(pidfile))
    busy = [pid for pid in pool.pids() if pid != idle]
    started = time.monotonic()
    pool.shutdown()
    pool.shutdown()  # twice is harmless
    caller.join(10)
    assert not caller.is_alive(), "the caller still waits for a worker that was shut down"
    assert time.monotonic() - started < 10
    assert len(outcome) == 1 and isinstance(outcome[0], PoolClosed), outcome
    for pid in (idle, *busy, child):
        assert gone(pid), pid
    with pytest.raises(PoolClosed):
        pool.call(worker_pid)


def test_shutdown_pool_from_a_signal_handler_ends_a_parse_in_progress(tmp_path: Path) -> None:
    """The service's SIGTERM: a process whose thread waits on a hanging worker stops within seconds, and
    leaves neither the worker nor what it started behind."""
    pidfile = tmp_path / "child.pid"
    script = textwrap.dedent(
        f"""
        import json, os, signal, sys, threading
        from zhengji.parsers import isolation
        from zhengji.parsers.isolation import Limits, PoolClosed, run_isolated
        from tests.parsers.test_pool import start_session_child_and_hang, worker_pid

        signal.signal(signal.SIGTERM, lambda signum, frame: isolation.shutdown_pool())
        outcome = []

        def parse():
            try:
                run_isolated(start_session_child_and_hang, {str(pidfile)!r}, limits=Limits(seconds=300))
            except PoolClosed:
                outcome.append("closed")

        thread = threading.Thread(target=parse)
        thread.start()
        while not isolation.worker_pool().pids():
            thread.join(0.01)
        print(json.dumps(isolation.worker_pool().pids()), flush=True)
        while thread.is_alive():
            thread.join(0.1)
        print(json.dumps(outcome), flush=True)
        """
    )
    process = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        workers = json.loads(process.stdout.readline())
        child = int(wait_for_file(pidfile))
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=15)
    finally:
        process.kill()
    assert process.returncode == 0
    assert json.loads(rest) == ["closed"]
    assert workers and all(gone(pid) for pid in workers)
    assert gone(child)


# --- answers cross as plain data ----------------------------------------------------------------------------


def test_a_pickle_sent_by_a_worker_is_never_unpickled(pool: WorkerPool, tmp_path: Path) -> None:
    marker = tmp_path / "exploited"
    with pytest.raises(WorkerFailed) as failed:
        pool.call(answer_with_a_pickle, str(marker), limits=Limits(seconds=5))
    assert failed.value.kind == "crash"
    time.sleep(0.2)
    assert not marker.exists(), "the parent ran code the worker sent"
    assert pool.call(worker_pid) != os.getpid()  # the pool goes on with a new worker


def test_a_result_that_is_not_plain_data_fails_in_the_worker(pool: WorkerPool, tmp_path: Path) -> None:
    marker = tmp_path / "exploited"
    with pytest.raises(WorkerFailed) as failed:
        pool.call(return_an_object, str(marker))
    assert failed.value.kind == "error"
    assert "JSON" in str(failed.value)
    assert not marker.exists()


def test_an_answer_too_long_is_refused_unread_and_costs_the_worker(pool: WorkerPool) -> None:
    first = pool.call(worker_pid)
    with pytest.raises(WorkerFailed) as failed:
        pool.call(answer_too_long)
    assert failed.value.kind == "crash"
    assert gone(first)
    assert pool.call(worker_pid) != first


def test_the_parent_reads_answers_with_the_json_decoder_only(pool: WorkerPool, monkeypatch: pytest.MonkeyPatch) -> None:
    from multiprocessing.reduction import ForkingPickler

    def refuse(*args: object, **kwargs: object) -> object:
        raise AssertionError("the parent unpickled a worker's answer")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(ForkingPickler, "loads", refuse)
    decoded: list[bytes] = []
    real_decode = isolation._decode

    def decode(raw: bytes) -> dict[str, object] | None:
        decoded.append(raw)
        return real_decode(raw)

    monkeypatch.setattr(isolation, "_decode", decode)
    assert pool.call(worker_pid) > 0
    assert [json.loads(raw)["result"] > 0 for raw in decoded] == [True]


# --- threads ------------------------------------------------------------------------------------------------


def test_many_threads_share_a_small_pool() -> None:
    with WorkerPool(method="fork", size=2, max_requests=5) as shared:
        seen: list[int] = []
        lock = threading.Lock()

        def work() -> None:
            for _ in range(5):
                pid = shared.call(worker_pid)
                with lock:
                    seen.append(pid)
                assert len(shared.pids()) <= 2

        threads = [threading.Thread(target=work) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert len(seen) == 30
        assert os.getpid() not in seen
        # 30 requests, 5 a worker: at least 6 workers took turns, never more than 2 at once.
        assert len(set(seen)) >= 6
        assert all(seen.count(pid) <= 5 for pid in set(seen))


def test_a_service_killed_outright_leaves_no_worker_and_nothing_a_worker_started(tmp_path: Path) -> None:
    """kill -9 of the service: no shutdown runs. Its forkserver ends with it, and the kernel then tells each
    worker (a busy one too), which ends with what it started; a worker must never run on as an orphan."""
    pidfile = tmp_path / "child.pid"
    script = textwrap.dedent(
        f"""
        import json, threading, time
        from zhengji.parsers import isolation
        from zhengji.parsers.isolation import Limits, run_isolated
        from tests.parsers.test_pool import start_session_child_and_hang

        if __name__ == "__main__":
            pool = isolation.start_pool("forkserver")
            idle = pool.pids()
            call = lambda: run_isolated(
                start_session_child_and_hang, {str(pidfile)!r}, limits=Limits(seconds=300), method="forkserver"
            )
            threading.Thread(target=call, daemon=True).start()
            print(json.dumps(idle), flush=True)
            time.sleep(600)
        """
    )
    main = tmp_path / "service.py"
    main.write_text(script)
    process = subprocess.Popen([sys.executable, str(main)], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                               env=dict(os.environ, PYTHONPATH=str(ROOT)))  # fmt: skip
    try:
        assert process.stdout is not None
        workers = json.loads(process.stdout.readline())
        child = int(wait_for_file(pidfile, within=60))
    finally:
        process.kill()
        process.communicate()
    assert len(workers) >= 2, "the service's workers were started ahead of the first mail"
    for pid in (*workers, child):
        assert gone(pid), pid
