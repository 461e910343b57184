"""Untrusted files are parsed in a worker process with a time limit and a memory limit.

A crafted PDF or a decompression bomb must cost one attachment, never the service: the worker is a forked
child with ``RLIMIT_AS`` set, the parent waits at most ``seconds`` and kills it after that. Whatever goes
wrong in the child (a parser exception, MemoryError, a segfault in a C library, a hang) comes back as
:class:`WorkerFailed` with a reason the caller turns into an ``unreadable`` finding.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import resource
import signal
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Limits:
    """What one attachment may cost. Defaults suit the forms (a few pages) with a wide margin."""

    seconds: float = 60.0
    memory_bytes: int = 2 * 1024**3


class WorkerFailed(Exception):
    """The worker did not return a result; ``kind`` is ``timeout``, ``memory`` or ``crash``."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


def _child(connection: Connection, memory_bytes: int, func: Callable[..., Any], args: tuple[Any, ...]) -> None:
    # A fresh process group, so that a LibreOffice started by the parser dies with the worker on a timeout.
    os.setpgrp()
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    try:
        result: tuple[str, Any] = ("ok", func(*args))
    except MemoryError:
        result = ("memory", "")
    except BaseException as error:  # the parent decides what an error means; pass it on whole
        result = ("error", error)
    try:
        connection.send_bytes(pickle.dumps(result))
    except Exception as error:  # an unpicklable exception still reports something
        connection.send_bytes(pickle.dumps(("crash", f"{type(error).__name__}: {error}")))
    finally:
        connection.close()


# What a forkserver loads once, so that each worker it forks starts warm (without this, every attachment in
# `serve` paid for importing pdfplumber, openpyxl and pydantic again: ~0.2 s each). `warm` imports every parser
# module and parses two small documents, so that the registry, the catalog and the compiled patterns are loaded
# too. Each forked worker also runs the program's main script again (multiprocessing's "__main__" fix-up; the
# forkserver's own "__main__" preload does nothing, since Python 3.11 never passes it the main path): for
# `zhengji serve` that script imports the whole command line, another 0.3 s an attachment unless it is loaded here.
FORKSERVER_PRELOAD = ["zhengji.cli", "zhengji.parsers.warm"]
_preloaded = False


def _forkserver_context() -> Any:
    global _preloaded
    context = multiprocessing.get_context("forkserver")
    if not _preloaded:
        context.set_forkserver_preload(FORKSERVER_PRELOAD)
        _preloaded = True
    return context


def start_forkserver() -> None:
    """Start the forkserver and let it load and warm the parsers now, as a service starts, so that the first
    applicant's mail does not wait for it (about a second and a half)."""
    from multiprocessing import forkserver

    _forkserver_context()
    forkserver.ensure_running()


def run_isolated(func: Callable[..., T], *args: Any, limits: Limits | None = None, method: str = "fork") -> T:
    """Run ``func(*args)`` in a child process within ``limits`` and return its result.

    An exception raised by ``func`` is raised again here (so ``Unreadable`` keeps its Chinese message);
    running out of time or memory, or dying, raises :class:`WorkerFailed`. ``method`` is the multiprocessing
    start method: ``fork`` is fast for the command line; a threaded service should pass ``forkserver``.
    """
    limits = limits or Limits()
    context: Any = _forkserver_context() if method == "forkserver" else multiprocessing.get_context(method)
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(sender, limits.memory_bytes, func, args), daemon=True)
    process.start()
    sender.close()
    try:
        if not receiver.poll(limits.seconds):
            _kill_group(process.pid)
            process.join(5)
            if process.exitcode is not None and process.exitcode != 0 and process.exitcode != -signal.SIGKILL:
                raise WorkerFailed("crash", f"exit code {process.exitcode}")
            raise WorkerFailed("timeout", f"no result within {limits.seconds:g} s")
        try:
            kind, value = pickle.loads(receiver.recv_bytes())
        except EOFError:
            process.join(5)
            if process.exitcode is not None and process.exitcode < 0:
                raise WorkerFailed("crash", f"killed by signal {-process.exitcode}") from None
            raise WorkerFailed("crash", f"exit code {process.exitcode}") from None
    finally:
        receiver.close()
        if process.is_alive():
            process.join(5)
        if process.is_alive():
            _kill_group(process.pid)
            process.join()
    if kind == "ok":
        return value
    if kind == "error":
        raise value
    raise WorkerFailed(kind, str(value))


def _kill_group(pid: int | None) -> None:
    if pid is None:
        return
    for kill in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            kill()
        except (ProcessLookupError, PermissionError):
            continue
