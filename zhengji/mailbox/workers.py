"""The mailbox workers inside ``zhengji serve``, and how they stop.

Threads claim work through the database like separate processes would, so they never take the same step.
``workers`` threads (one a core) parse and check; ``senders`` threads hand replies over, so that a provider that
never answers holds only the senders while parsing and checking go on (Postfix keeps its delivery agents apart
from intake the same way). Idle threads sleep until the next poll or a ring: intake in this process rings
``doorbell``, a finished check rings the senders'.

``zhengji serve`` runs them in a child process of their own (:class:`PipelineProcess`), started and stopped
with the service: the SMTP server then has its process, and its interpreter lock, to itself, and the kernel
gives the cores to intake before the workers (the child runs at ``ZHENGJI_PARSE_NICE`` like the parsers). A
pipe carries the doorbell across; the database stays the only record of what is waiting.

On stop (Ctrl-C, SIGTERM) the parsers' worker processes are killed at once, the steps in progress end without
recording anything (a parse interrupted so would otherwise be stored as unreadable files), and the threads get
:data:`STOP_GRACE` seconds. A thread still blocked then (a send to a provider that never answers) gives its
claim back, and the process exits without it: every step commits its result in one transaction, so nothing is
half-recorded, and the mail is taken up again by the next worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from zhengji.logs import configure as configure_logging
from zhengji.mailbox.doorbell import Doorbell
from zhengji.mailbox.pipeline import PROCESSING, SENDING_ORDER, Pipeline
from zhengji.parsers.isolation import lower_priority, set_parse_priority, shutdown_pool, start_forkserver
from zhengji.settings import Settings
from zhengji.storage.claims import free_dead_claims, worker_name
from zhengji.storage.models import Message

log = logging.getLogger("zhengji.mailbox.pipeline")

STOP_GRACE = 5.0
"""Seconds the workers get to finish at shutdown, once the parsers' worker processes are stopped."""
SENDERS = 2
CHILD_STOP_SECONDS = 2 * STOP_GRACE + 1
"""Seconds the child process gets after SIGTERM (its parsers, then its threads) before it is killed."""
RESTART_PAUSE = (1.0, 30.0)
"""The pause before a child that ended by itself is started again, doubling from the first to the second."""


class PipelineComponent:
    """The mailbox workers as a part of ``zhengji serve`` (see the module's docstring)."""

    name = "pipeline"

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        idle_seconds: float = 0.2,
        workers: int | None = None,
        doorbell: Doorbell | None = None,
        senders: int = SENDERS,
    ) -> None:
        count = workers or os.cpu_count() or 1
        self.engine = engine
        self.stopping = threading.Event()
        self.idle_seconds = idle_seconds
        self.doorbell = doorbell or Doorbell()
        self.outbox_bell = Doorbell()
        base = worker_name()
        self.pipelines = [
            Pipeline(
                engine,
                settings,
                worker=f"{base}/{index}",
                states=PROCESSING,
                stopping=self.stopping,
                on_checked=self.outbox_bell.ring,
            )
            for index in range(count)
        ]
        self.senders = [
            Pipeline(engine, settings, worker=f"{base}/s{index}", states=SENDING_ORDER, stopping=self.stopping)
            for index in range(senders)
        ]

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.to_thread(self._prepare)
        threads = [
            threading.Thread(target=self._loop, args=(pipeline, bell), name=f"worker {pipeline.worker}", daemon=True)
            for pipelines, bell in ((self.pipelines, self.doorbell), (self.senders, self.outbox_bell))
            for pipeline in pipelines
        ]
        for thread in threads:
            thread.start()
        try:
            await stop.wait()
        finally:
            await self._halt(threads)

    def _prepare(self) -> None:
        try:
            start_forkserver()
        except Exception:  # the first mail starts it then; only that mail waits longer
            log.warning("could not start the parsers' forkserver ahead of the first mail", exc_info=True)
        try:
            free_dead_claims(self.engine)
        except Exception:  # the claims then run out with their lease
            log.warning("could not free the claims of this host's dead workers", exc_info=True)

    def _loop(self, pipeline: Pipeline, bell: Doorbell) -> None:
        while not self.stopping.is_set():
            mark = bell.mark()
            try:
                busy = pipeline.run_once()
            except Exception:
                # A database that is briefly unavailable must not stop intake: log, pause, and go on.
                log.exception("pipeline step failed; retrying shortly")
                busy = False
            if not busy and not self.stopping.is_set():
                bell.wait(mark, self.idle_seconds)

    async def _halt(self, threads: list[threading.Thread]) -> None:
        self.stopping.set()
        self.doorbell.ring()
        self.outbox_bell.ring()
        try:  # a parse in progress ends now; its request fails and the step records nothing
            await asyncio.to_thread(shutdown_pool, STOP_GRACE)
        except Exception:
            log.warning("the parsers' workers did not stop cleanly", exc_info=True)
        deadline = time.monotonic() + STOP_GRACE
        while any(thread.is_alive() for thread in threads) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        stuck = [pipeline for pipeline in (*self.pipelines, *self.senders) if pipeline.holding is not None]
        if stuck:
            busy = ", ".join(f"{pipeline.worker} (message {pipeline.holding})" for pipeline in stuck)
            log.warning("stopping while workers are still busy: %s; their mail is given back", busy)
            await asyncio.to_thread(self._give_back, [pipeline.worker for pipeline in stuck])

    def _give_back(self, workers: list[str]) -> None:
        """Free the claims of threads still blocked at exit, without counting a try: the mail was not at fault."""
        with Session(self.engine) as session:
            session.exec(
                update(Message).where(col(Message.claimed_by).in_(workers)).values(claimed_by=None, claimed_until=None)
            )
            session.commit()


class PipelineProcess:
    """The mailbox workers of ``zhengji serve`` in a child process (see the module's docstring).

    The child is spawned, not forked: the parent's threads, sockets and event loop must not be copied into it. It
    gets the settings, opens its own engine and runs :class:`PipelineComponent` until its parent sends SIGTERM or
    goes away (the doorbell's pipe then reads end-of-file, so a parent killed with SIGKILL leaves no orphan that
    keeps working). It ignores SIGINT: Ctrl-C reaches every process of the terminal, and the parent alone decides
    how the service stops. A child that ends by itself (killed by the kernel for memory, say) is started again
    after a pause; what it held is freed by the next one (its claims name a process that is gone).
    """

    name = "pipeline"

    def __init__(self, settings: Settings, *, workers: int | None = None) -> None:
        self.settings = settings
        self.workers = workers
        self.process: BaseProcess | None = None
        self._context = multiprocessing.get_context("spawn")
        self._bell: int | None = None  # the parent's end of the doorbell's pipe, non-blocking
        self._bell_lock = threading.Lock()  # a ring never writes to a descriptor closed (and reused) meanwhile

    def ring(self) -> None:
        """Wake the child's idle workers; safe from any thread, never blocks (a full pipe has rings enough)."""
        with self._bell_lock:
            if self._bell is None:
                return
            with contextlib.suppress(OSError):  # full (BlockingIOError), or the child is gone (BrokenPipeError)
                os.write(self._bell, b"\x01")

    async def run(self, stop: asyncio.Event) -> None:
        pause = RESTART_PAUSE[0]
        while not stop.is_set():
            started = time.monotonic()
            process = self._start()
            ended = asyncio.ensure_future(_ended(process))
            stopping = asyncio.ensure_future(stop.wait())
            try:
                await asyncio.wait({ended, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if not ended.done():  # the service stops: SIGTERM, and the child's own orderly stop
                    process.terminate()
                    await asyncio.wait({ended}, timeout=CHILD_STOP_SECONDS)
                    if not ended.done():
                        log.warning("the pipeline process did not stop in time; killing it")
                        process.kill()
                        await ended
                    return
            except asyncio.CancelledError:  # a second signal, or the service's wait ran out
                process.kill()
                await asyncio.to_thread(process.join, STOP_GRACE)
                raise
            finally:
                stopping.cancel()
                ended.cancel()
                self._close_bell()
            if stop.is_set():  # the signal reached the child too (systemd signals the whole control group)
                return
            log.error("the pipeline process ended by itself (exit status %s); starting it again", process.exitcode)
            pause = RESTART_PAUSE[0] if time.monotonic() - started > 60 else min(pause * 2, RESTART_PAUSE[1])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)

    def _start(self) -> BaseProcess:
        reader, writer = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=run_child, args=(self.settings, reader, self.workers), name="zhengji pipeline", daemon=False
        )
        process.start()
        reader.close()  # the child holds the reading end; the parent only writes
        bell = os.dup(writer.fileno())
        writer.close()
        os.set_blocking(bell, False)
        with self._bell_lock:
            self._bell = bell
        self.process = process
        return process

    def _close_bell(self) -> None:
        with self._bell_lock:
            bell, self._bell = self._bell, None
            if bell is not None:
                os.close(bell)


async def _ended(process: BaseProcess) -> None:
    """Until ``process`` has ended (its sentinel becomes readable), without a thread of its own."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def ended() -> None:
        if not done.done():
            done.set_result(None)

    loop.add_reader(process.sentinel, ended)
    try:
        await done
    finally:
        loop.remove_reader(process.sentinel)
    process.join()


def run_child(settings: Settings, bell: Connection, workers: int | None = None) -> None:
    """The child process of :class:`PipelineProcess`: the workers at the parsers' priority, until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    lower_priority(settings.parse_nice)
    configure_logging(settings.log_level, settings.log_format)
    set_parse_priority(settings.parse_nice)
    from zhengji.storage.db import make_engine

    engine = make_engine(settings.resolved_database_url)
    if engine.dialect.name == "sqlite":
        from zhengji.storage.locks import WriteGate, gate_between_processes

        # One of this process's transactions at a time, and intake's (in the parent) before the next of them.
        WriteGate(between_processes=gate_between_processes(engine)).install(engine, urgent=False)
    try:
        asyncio.run(_child(engine, settings, bell, workers))
    finally:
        engine.dispose()


async def _child(engine: Engine, settings: Settings, bell: Connection, workers: int | None) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    doorbell = Doorbell()

    def listen() -> None:
        """Ring for every byte the parent writes; at end-of-file (the parent is gone) stop."""
        while True:
            try:
                data = os.read(bell.fileno(), 4096)
            except InterruptedError:
                continue
            except OSError:
                data = b""
            if not data:
                loop.call_soon_threadsafe(stop.set)
                return
            doorbell.ring()

    threading.Thread(target=listen, name="doorbell", daemon=True).start()
    component = PipelineComponent(engine, settings, workers=workers, doorbell=doorbell)
    log.info("mailbox workers running in process %d", os.getpid())
    await component.run(stop)
