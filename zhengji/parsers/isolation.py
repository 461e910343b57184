"""Untrusted files are read in a pool of reusable worker processes, each with a time limit and a memory limit.

A crafted PDF, a decompression bomb or a hostile archive must cost one attachment, never the service. Every
untrusted byte is handled in a worker: a child process with ``RLIMIT_AS`` set, in a process group of its own,
that the parent kills (with everything it started, LibreOffice included) when a request outlives its time.
Whatever goes wrong in a worker (a parser exception, MemoryError, a segfault in a C library, a hang) comes back
as :class:`WorkerFailed` with a kind the caller turns into an ``unreadable`` finding.

Starting a process for every attachment cost more than parsing it, so workers are kept and reused, as
gunicorn's ``max_requests`` and Celery's ``max-tasks-per-child`` do: a worker serves many requests and is
replaced after ``max_requests``, when a request failed or was killed, or when its resident memory grew past
``max_rss_bytes``. ``zhengji serve`` forks its workers from a forkserver that has loaded and warmed the parsers
(:mod:`zhengji.parsers.warm`); the command line forks them from itself.

A worker's answers cross as JSON and nothing else: a worker that a hostile file took over can send any bytes,
so the parent never unpickles what a worker sends (it reads a length-capped JSON object, and the caller builds
its typed result from that). What the parent sends the worker (a request and the file's bytes) is JSON and raw
bytes too.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import importlib
import json
import logging
import math
import multiprocessing
import multiprocessing.util  # its exit handler first, so that ours (registered below) runs before it
import os
import resource
import signal
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from zhengji.parsers.model import Unreadable

log = logging.getLogger(__name__)

# The largest answer a worker may send: a parsed form is a few kilobytes, an archive's listing a few dozen.
MAX_ANSWER_BYTES = 32 * 1024 * 1024
# A worker that nobody waits for any more (its service was killed) ends itself this long after its limit.
ALARM_SLACK_SECONDS = 5
# How long past a request's limit the watchdog lets a parent's read run before it kills the worker anyway.
WATCHDOG_GRACE_SECONDS = 2.0
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Limits:
    """What one request may cost. Defaults suit the forms (a few pages) with a wide margin."""

    seconds: float = 60.0
    memory_bytes: int = 2 * 1024**3


class WorkerFailed(Exception):
    """The worker did not answer; ``kind`` is ``timeout``, ``memory``, ``crash`` or ``error`` (a bug)."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


class PoolUnavailable(RuntimeError):
    """No worker could serve the request for a reason of ours, not the file's: the mail must be parsed again
    later, never answered with what was cut short."""


class PoolClosed(PoolUnavailable):
    """The pool was shut down (the service is stopping) while a request waited for a worker or ran."""


class PoolBusy(Exception):
    """No worker came free within the time the caller could wait."""


# --- the worker's side ------------------------------------------------------------------------------------------


class Channel:
    """The worker's end of its connection: JSON objects out, a JSON object (and raw bytes) in."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def send(self, message: dict[str, Any]) -> None:
        self.connection.send_bytes(json.dumps(message, ensure_ascii=False).encode())

    def receive(self) -> tuple[dict[str, Any], bytes]:
        """The parent's next message. While waiting no alarm runs (a parent that died closes the connection);
        once a message with a time limit arrives, an alarm ends this worker a little after that limit, so that
        a worker whose parent was killed never runs on for long."""
        signal.alarm(0)
        message = json.loads(self.connection.recv_bytes())
        payload = self.connection.recv_bytes() if message.get("payload") else b""
        seconds = message.get("seconds")
        if isinstance(seconds, int | float):
            signal.alarm(math.ceil(seconds) + ALARM_SLACK_SECONDS)
        return message, payload


_channel: Channel | None = None


def worker_channel() -> Channel:
    """The connection of the worker this code runs in, for a task that exchanges several messages."""
    if _channel is None:
        raise RuntimeError("not running in a parser worker")
    return _channel


def _resolve(name: str) -> Callable[..., Any]:
    module_name, _, qualname = name.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        target = getattr(target, part)
    return target


def _die_with_parent() -> None:
    """Ask the kernel to signal this worker when the process that forked it ends (the forkserver, which ends
    with the service, even killed with SIGKILL): a worker must never outlive the service as an orphan, nor
    leave LibreOffice behind (see :func:`_end_with_family`)."""
    parent = os.getppid()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request was made
        os._exit(0)


def _let_go_of_inherited_pipes() -> None:
    """Close the write ends of the forkserver's and the resource tracker's "alive" pipes that multiprocessing
    hands every process it starts (so that it could start processes of its own). A busy worker holding them kept
    the forkserver alive after the service was killed, and so itself: the forkserver ends when the last holder
    does, and only then does the kernel signal the worker. A worker starts nothing through multiprocessing."""
    from multiprocessing import forkserver, resource_tracker

    for owner, attribute in (
        (getattr(forkserver, "_forkserver", None), "_forkserver_alive_fd"),
        (getattr(resource_tracker, "_resource_tracker", None), "_fd"),
    ):
        fd = getattr(owner, attribute, None)
        if isinstance(fd, int):
            with contextlib.suppress(OSError):
                os.close(fd)
            setattr(owner, attribute, None)


def _end_with_family(signum: int, frame: object) -> None:
    """SIGTERM in a worker (its forkserver died, or the process that forked it is exiting): kill what the
    worker started, then end. The alarm still ends the worker if a C library keeps this handler from running."""
    kill_descendants(os.getpid())
    os._exit(1)


def lower_priority(nice: int) -> None:
    """Run this process (and what it starts later: LibreOffice) at nice value ``nice`` at least.

    Parsing is the service's heavy work and intake its urgent work: on two cores a burst of parsing used to take
    the CPU from the SMTP server, which then accepted mail at a fifth to a third of the bare protocol's rate. At
    a higher nice value the kernel gives the cores to intake first, and parsing still gets every cycle intake
    leaves. Only ever lowers the priority (raising it needs privileges); a failure costs the priority, never the
    worker.
    """
    with contextlib.suppress(OSError):
        if nice > os.getpriority(os.PRIO_PROCESS, 0):
            os.setpriority(os.PRIO_PROCESS, 0, nice)


def _worker_main(
    connection: Connection, memory_bytes: int, inherited: list[int], die_with_parent: bool, nice: int = 0
) -> None:
    """Serve requests until the parent closes the connection. Runs in the child."""
    global _channel
    # A process group of its own, so that whatever the worker starts in it dies with it on a kill.
    os.setpgrp()
    lower_priority(nice)
    _let_go_of_inherited_pipes()
    if die_with_parent:
        _die_with_parent()
    for fd in inherited:  # a forked worker must not hold the other workers' connections (see _spawn)
        with contextlib.suppress(OSError):
            os.close(fd)
    # Soft and hard alike, so that code a hostile file took over cannot raise it again.
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it then ends the pool
    signal.signal(signal.SIGTERM, _end_with_family)
    channel = _channel = Channel(connection)
    while True:
        try:
            request, payload = channel.receive()
        except (EOFError, OSError):
            os._exit(0)
        answer = _serve(request, payload)
        signal.alarm(0)
        try:
            channel.send(answer)
        except (TypeError, ValueError) as error:  # a result that is not plain data is a bug of the task
            channel.send({"failed": "error", "detail": f"answer is not JSON: {error}"})
        except (OSError, EOFError):
            os._exit(0)


def _serve(request: dict[str, Any], payload: bytes) -> dict[str, Any]:
    try:
        task = _resolve(str(request["task"]))
        args = list(request.get("args", []))
        if request.get("payload"):
            args.append(payload)
        return {"result": task(*args)}
    except Unreadable as error:
        return {"unreadable": str(error)}
    except MemoryError:
        return {"failed": "memory"}
    except Exception as error:
        log.exception("parser worker task %s failed", request.get("task"))
        return {"failed": "error", "detail": f"{type(error).__name__}: {error}"}


# --- the parent's side ------------------------------------------------------------------------------------------

# What a forkserver loads once, so that each worker it forks starts warm (without this, every worker in `serve`
# paid for importing pdfplumber, openpyxl and pydantic again: ~0.2 s each). `warm` imports every parser module
# and parses two small documents, so that the registry, the catalog and the compiled patterns are loaded too.
# Each forked worker also runs the program's main script again (multiprocessing's "__main__" fix-up; the
# forkserver's own "__main__" preload does nothing, since Python 3.11 never passes it the main path): for
# `zhengji serve` that script imports the whole command line, another 0.3 s a worker unless it is loaded here.
FORKSERVER_PRELOAD = ["zhengji.cli", "zhengji.parsers.warm"]
_preloaded = False


def _context(method: str) -> Any:
    global _preloaded
    context = multiprocessing.get_context(method)
    if method == "forkserver" and not _preloaded:
        context.set_forkserver_preload(FORKSERVER_PRELOAD)
        _preloaded = True
    return context


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid``, children before grandchildren, found through /proc (Linux)."""
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    found: list[int] = []
    queue = [pid]
    while queue:
        for child in children.get(queue.pop(0), []):
            found.append(child)
            queue.append(child)
    return found


def kill_family(pid: int) -> None:
    """Kill a worker and everything it started, LibreOffice included.

    The worker's own process group is not enough: LibreOffice is started in a session of its own (so that
    its helpers die with it on its own time-out), and an orphan soffice outlived its worker's limit. So the
    worker's group is stopped first (it starts nothing new meanwhile), every descendant and its group is
    killed, and the worker last, while its children are still its children.
    """
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGSTOP)
    kill_descendants(pid)
    for kill in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            kill()


def kill_descendants(pid: int) -> None:
    """Kill every process below ``pid`` and the process groups they lead or joined (never the caller's own)."""
    own_group = os.getpgrp()
    for _ in range(3):
        family = _descendants(pid)
        if not family:
            return
        for member in family:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                group = os.getpgid(member)
                if group not in (own_group, 0, 1):
                    os.killpg(group, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(member, signal.SIGKILL)


@dataclass(eq=False)
class Worker:
    """The parent's handle on one worker process."""

    process: Any
    connection: Connection
    memory_bytes: int
    served: int = 0
    deadline: float | None = None
    killed: bool = False

    @property
    def pid(self) -> int:
        return int(self.process.pid)

    def rss_bytes(self) -> int:
        """Resident memory, read by the parent from /proc (never taken from the worker's word)."""
        try:
            with open(f"/proc/{self.pid}/statm") as statm:
                return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            return 0

    def kill(self) -> None:
        """Signals only, so that any thread (the watchdog, a shutdown) may call it; the connection is closed
        by the thread that holds the worker (:meth:`close`), never under a thread that reads it."""
        if not self.killed:
            self.killed = True
            kill_family(self.pid)

    def close(self) -> None:
        self.kill()
        self.reap(2)
        with contextlib.suppress(OSError):
            self.connection.close()

    def reap(self, timeout: float) -> None:
        with contextlib.suppress(Exception):
            self.process.join(max(timeout, 0))


@dataclass(eq=False)
class Conversation:
    """One leased worker, spoken to in JSON. A request that fails retires the worker."""

    pool: WorkerPool
    worker: Worker
    finished: bool = False
    broken: bool = False

    @property
    def pid(self) -> int:
        return self.worker.pid

    def send(self, message: dict[str, Any], payload: bytes | None = None) -> None:
        header = dict(message, payload=True) if payload is not None else message
        try:
            self.worker.connection.send_bytes(json.dumps(header, ensure_ascii=False).encode())
            if payload is not None:
                self.worker.connection.send_bytes(payload)
        except (OSError, EOFError, ValueError) as error:
            self.broken = True
            self._raise_if_closed()
            raise WorkerFailed("crash", f"could not send: {error}") from None

    def request(self, message: dict[str, Any], seconds: float, payload: bytes | None = None) -> dict[str, Any]:
        """Send one unit of work (it counts toward the worker's ``max_requests``) and wait for its answer."""
        self.worker.served += 1
        self.send(dict(message, seconds=seconds), payload)
        return self.receive(seconds)

    def receive(self, seconds: float) -> dict[str, Any]:
        """The worker's next message, within ``seconds``; a worker that is late is killed with its children."""
        worker = self.worker
        worker.deadline = time.monotonic() + max(seconds, 0)
        try:
            try:
                ready = worker.connection.poll(max(seconds, 0))
            except (OSError, ValueError):
                ready = True  # closed under us (a shutdown): reading says how
            if not ready:
                self.broken = True
                worker.kill()
                self._raise_if_closed()
                raise WorkerFailed("timeout", f"no answer within {seconds:g} s")
            try:
                raw = worker.connection.recv_bytes(MAX_ANSWER_BYTES)
            except (EOFError, OSError, ValueError):
                self.broken = True
                self._raise_if_closed()
                raise self._death() from None
        finally:
            worker.deadline = None
        message = _decode(raw)
        if message is None:
            self.broken = True
            raise WorkerFailed("crash", "the worker's answer is not a JSON object")
        if "failed" in message:
            self.broken = True
            raise WorkerFailed(str(message["failed"]), str(message.get("detail", "")))
        if "unreadable" in message:
            self.finished = True
            raise Unreadable(str(message["unreadable"]))
        if "result" in message:
            self.finished = True
        return message

    def _raise_if_closed(self) -> None:
        if self.pool.closed:
            raise PoolClosed("the parser workers were shut down")

    def _death(self) -> WorkerFailed:
        """Why the worker's connection ended: it died (a crash, the kernel's out-of-memory killer, our kill),
        or it still runs and broke the protocol (closed its end, or sent more than an answer may hold)."""
        worker = self.worker
        killed_by_us = worker.killed  # the watchdog
        worker.reap(0.5)  # a worker that died on its own is gone by now
        code = worker.process.exitcode
        if code is None:
            worker.kill()
            worker.reap(5)
        else:  # reaped: only what is left of its process group may still be signalled
            worker.killed = True
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(worker.pid, signal.SIGKILL)
        if killed_by_us:
            return WorkerFailed("timeout", "killed past its limit")
        if code is None:
            return WorkerFailed("crash", "the worker broke off its answer")
        if code == -signal.SIGKILL:  # not by us: the kernel's out-of-memory killer
            return WorkerFailed("memory", "killed")
        if code < 0:
            return WorkerFailed("crash", f"killed by signal {-code}")
        return WorkerFailed("crash", f"exit code {code}")


def _decode(raw: bytes) -> dict[str, Any] | None:
    """A worker's answer as a dict, or None: JSON only, whatever the bytes claim to be."""
    try:
        message = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return message if isinstance(message, dict) else None


def _default_size() -> int:
    return max(2, os.cpu_count() or 1)


@dataclass(eq=False)
class WorkerPool:
    """Reusable workers, each leased to one thread at a time; safe to use from many threads.

    ``size`` workers at most run at once (their memory limits may differ: a request is served by a worker
    started with its limit). ``method`` is how a worker starts: ``fork`` from this process (the command line),
    or ``forkserver`` from a warmed forkserver (``zhengji serve``, whose threads make a plain fork unsafe).
    """

    method: str = "fork"
    size: int = field(default_factory=_default_size)
    # The nice value the workers run at (see lower_priority); `serve` sets it from ZHENGJI_PARSE_NICE.
    nice: int = field(default_factory=lambda: _parse_nice)
    max_requests: int = 200
    max_rss_bytes: int = 768 * 1024 * 1024
    closed: bool = False

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._available = threading.Condition(self._lock)
        self._spawning = threading.Lock()
        self._idle: list[Worker] = []
        self._busy: set[Worker] = set()
        self._starting = 0
        self._stopped = threading.Event()
        self._watchdog: threading.Thread | None = None
        _all_pools.add(self)

    # --- using it

    def call(self, func: Callable[..., Any], *args: Any, limits: Limits | None = None) -> Any:
        """``func(*args)`` in a worker; ``func`` must be a module-level function, its arguments and result
        plain JSON data. An ``Unreadable`` raised there is raised here with its message."""
        limits = limits or Limits()
        name = f"{func.__module__}:{func.__qualname__}"
        with self.conversation(limits.memory_bytes) as talk:
            return talk.request({"task": name, "args": list(args)}, limits.seconds).get("result")

    @contextlib.contextmanager
    def conversation(self, memory_bytes: int, wait: float | None = None) -> Iterator[Conversation]:
        """Lease a worker started with ``memory_bytes`` for a task, waiting at most ``wait`` seconds for one
        (:class:`PoolBusy`). It goes back to the pool only if its task finished cleanly."""
        worker = self._acquire(memory_bytes, wait)
        talk = Conversation(self, worker)
        try:
            yield talk
        finally:
            self._release(worker, reusable=talk.finished and not talk.broken)

    def start(self, count: int | None = None, memory_bytes: int | None = None) -> None:
        """Start workers ahead of the first request (as a service starts), up to ``count`` (the pool's size)."""
        memory_bytes = memory_bytes or Limits().memory_bytes
        wanted = min(count or self.size, self.size)
        for _ in range(wanted):
            with self._lock:
                if self.closed or len(self._idle) + len(self._busy) + self._starting >= wanted:
                    return
                self._starting += 1
            try:
                worker = self._spawn(memory_bytes)
            finally:
                with self._lock:
                    self._starting -= 1
            with self._lock:
                if not self.closed:
                    self._idle.append(worker)
                    self._available.notify()
                    continue
            worker.close()

    def pids(self) -> list[int]:
        """The workers alive now, idle or busy."""
        with self._lock:
            return [worker.pid for worker in (*self._idle, *self._busy)]

    # --- ending it

    def shutdown(self, timeout: float = 5.0) -> None:
        """Kill every worker and what it started, and wake every thread that waits for one (they get
        :class:`PoolClosed`). Safe to call twice, from any thread, and from a signal handler: it signals first
        and never waits more than a moment for a lock (one the interrupted thread may hold)."""
        self.closed = True
        self._stopped.set()
        workers = [*self._idle, *list(self._busy)]
        for worker in workers:
            worker.kill()
        idle: list[Worker] = []
        if self._lock.acquire(timeout=0.05):
            try:
                idle, self._idle = self._idle, []
                self._available.notify_all()
            finally:
                self._lock.release()
        deadline = time.monotonic() + timeout
        for worker in workers:
            worker.reap(deadline - time.monotonic())
        for worker in idle:  # nobody else holds these
            with contextlib.suppress(OSError):
                worker.connection.close()

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()

    # --- workers in and out

    def _acquire(self, memory_bytes: int, wait: float | None) -> Worker:
        deadline = None if wait is None else time.monotonic() + wait
        victim: Worker | None = None
        with self._lock:
            while True:
                if self.closed:
                    raise PoolClosed("the parser workers were shut down")
                for worker in self._idle:
                    if worker.memory_bytes == memory_bytes:
                        self._idle.remove(worker)
                        self._busy.add(worker)
                        return worker
                if len(self._idle) + len(self._busy) + self._starting < self.size:
                    break
                if self._idle:  # idle workers with another memory limit: make room for one with this one
                    victim = self._idle.pop(0)
                    break
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise PoolBusy("no parser worker came free in time")
                # Woken by a release; the short wait lets a shutdown from a signal handler be seen too.
                self._available.wait(0.5 if remaining is None else min(remaining, 0.5))
            self._starting += 1
        if victim is not None:
            victim.close()
        try:
            worker = self._spawn(memory_bytes)
        except BaseException:
            with self._lock:
                self._starting -= 1
                self._available.notify()
            raise
        with self._lock:
            self._starting -= 1
            if not self.closed:
                self._busy.add(worker)
                return worker
        worker.close()
        raise PoolClosed("the parser workers were shut down")

    def _release(self, worker: Worker, reusable: bool) -> None:
        retire = (
            not reusable
            or worker.killed
            or worker.served >= self.max_requests
            or worker.rss_bytes() > self.max_rss_bytes
        )
        with self._lock:
            self._busy.discard(worker)
            retire = retire or self.closed
            if not retire:
                self._idle.append(worker)
            self._available.notify()
        if retire:
            worker.close()

    def _spawn(self, memory_bytes: int) -> Worker:
        """A new worker. With ``fork`` it inherits this process's descriptors, so it is told to close the
        parent's ends of the other workers' connections (it could otherwise read or write their traffic)."""
        if self.closed:
            raise PoolClosed("the parser workers were shut down")
        context = _context(self.method)
        with self._spawning:
            parent_end, child_end = context.Pipe(duplex=True)
            inherited: list[int] = []
            if self.method == "fork":
                inherited = [*_open_connections(), parent_end.fileno()]
            process = context.Process(
                target=_worker_main,
                args=(child_end, memory_bytes, inherited, self.method == "forkserver", self.nice),
                daemon=True,
                name="zhengji-parser",
            )
            try:
                process.start()
            except Exception as error:
                parent_end.close()
                raise PoolUnavailable(f"could not start a parser worker: {error}") from error
            finally:
                child_end.close()
        self._ensure_watchdog()
        return Worker(process=process, connection=parent_end, memory_bytes=memory_bytes)

    def _ensure_watchdog(self) -> None:
        with self._lock:
            if self._watchdog is None:
                self._watchdog = threading.Thread(target=self._watch, name="zhengji-parser-watchdog", daemon=True)
                self._watchdog.start()

    def _watch(self) -> None:
        """Kill a worker whose request ran past its limit while its caller was stuck reading a half-sent answer
        (a worker a hostile file took over could do that on purpose); the caller's read then ends."""
        while not self._stopped.wait(0.5):
            with self._lock:
                busy = list(self._busy)
            now = time.monotonic()
            for worker in busy:
                deadline = worker.deadline
                if deadline is not None and now > deadline + WATCHDOG_GRACE_SECONDS:
                    log.warning("parser worker %s ran past its limit; killing it", worker.pid)
                    worker.deadline = None
                    worker.kill()


# --- the process's pools ----------------------------------------------------------------------------------------

_pools: dict[str, WorkerPool] = {}
_parse_nice = 0  # the nice value of the workers of pools made from now on (set_parse_priority)
_pools_lock = threading.Lock()
_all_pools: weakref.WeakSet[WorkerPool] = weakref.WeakSet()


def _open_connections() -> list[int]:
    """The parent's ends of every worker connection of this process, whichever pool holds them."""
    fds: list[int] = []
    for pool in list(_all_pools):
        with pool._lock:
            workers = [*pool._idle, *pool._busy]
        for worker in workers:
            with contextlib.suppress(OSError):  # closed meanwhile by the thread that held it
                fds.append(worker.connection.fileno())
    return fds


def set_parse_priority(nice: int) -> None:
    """The nice value of every parser worker started from now on (``zhengji serve`` calls it before its pool
    starts); a command line run leaves it at 0, as nothing else competes with it for the CPU."""
    global _parse_nice
    _parse_nice = nice
    with _pools_lock:
        for pool in _pools.values():
            pool.nice = nice


def worker_pool(method: str = "fork") -> WorkerPool:
    """This process's pool for ``method``, made on first use (again after :func:`shutdown_pool`)."""
    with _pools_lock:
        pool = _pools.get(method)
        if pool is None or pool.closed:
            pool = _pools[method] = WorkerPool(method=method)
        return pool


def shutdown_pool(timeout: float = 5.0) -> None:
    """End every parser worker of this process and everything they started, within ``timeout`` seconds.

    For the service's shutdown (a signal handler may call it) and for the end of the process. Requests in
    flight fail with :class:`PoolClosed`, so the mail they belong to is parsed again by the next start, never
    answered with what was cut short. Safe to call twice; a later request starts a new pool.
    """
    pools = list(_pools.values())
    _pools.clear()
    for pool in pools:
        pool.shutdown(timeout)


atexit.register(shutdown_pool)


def start_pool(method: str = "forkserver") -> WorkerPool:
    """Start the workers now, as a service starts, so that the first applicant's mail does not wait for them
    (with ``forkserver``: about a second and a half to load and warm the parsers)."""
    if method == "forkserver":
        from multiprocessing import forkserver

        _context(method)
        forkserver.ensure_running()
    pool = worker_pool(method)
    pool.start()
    return pool


def start_forkserver() -> None:
    """Start the forkserver with the parsers warmed, and the service's workers from it (see :func:`start_pool`)."""
    start_pool("forkserver")


def run_isolated(func: Callable[..., Any], *args: Any, limits: Limits | None = None, method: str = "fork") -> Any:
    """Run ``func(*args)`` in a worker of this process's pool within ``limits`` and return its result.

    ``func`` must be a module-level function; its arguments and its result must be plain JSON data (the
    result crosses as JSON, never as a pickle). ``Unreadable`` raised by ``func`` is raised again here with
    its Chinese message; running out of time or memory, dying, or any other exception raises
    :class:`WorkerFailed`.
    """
    return worker_pool(method).call(func, *args, limits=limits)
