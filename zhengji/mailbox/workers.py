"""The mailbox workers inside ``zhengji serve``, and how they stop.

Threads claim work through the database like separate processes would, so they never take the same step.
``workers`` threads (one a core) parse and check; ``senders`` threads hand replies over, so that a provider that
never answers holds only the senders while parsing and checking go on (Postfix keeps its delivery agents apart
from intake the same way). Idle threads sleep until the next poll or a ring: intake in this process rings
``doorbell``, a finished check rings the senders'.

On stop (Ctrl-C, SIGTERM) the parsers' worker processes are killed at once, the steps in progress end without
recording anything (a parse interrupted so would otherwise be stored as unreadable files), and the threads get
:data:`STOP_GRACE` seconds. A thread still blocked then (a send to a provider that never answers) gives its
claim back, and the process exits without it: every step commits its result in one transaction, so nothing is
half-recorded, and the mail is taken up again by the next worker.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from zhengji.mailbox.doorbell import Doorbell
from zhengji.mailbox.pipeline import PROCESSING, SENDING_ORDER, Pipeline
from zhengji.parsers.isolation import shutdown_pool, start_forkserver
from zhengji.settings import Settings
from zhengji.storage.claims import free_dead_claims, worker_name
from zhengji.storage.models import Message

log = logging.getLogger("zhengji.mailbox.pipeline")

STOP_GRACE = 5.0
"""Seconds the workers get to finish at shutdown, once the parsers' worker processes are stopped."""
SENDERS = 2


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
