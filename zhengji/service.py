"""``zhengji serve``: every part of the service in one process, stopped cleanly by Ctrl-C or SIGTERM.

Each part is a component with ``run(stop)``; the service starts them all, and when a signal arrives (or one of
them fails) it tells the rest to stop and waits for them, so that no mail is cut off half-stored. The wait is
bounded (:data:`STOP_SECONDS`), as an operator expects of ``systemctl stop``: the mailbox workers end their
parser processes at once and give back what they cannot finish (every step commits in one transaction, so what
is cut off is simply done again by the next start); a second signal stops at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator
from typing import Protocol

import uvicorn

from zhengji.settings import Settings

log = logging.getLogger("zhengji.service")

STOP_SECONDS = 10.0
"""How long the components get to stop after a signal before the service ends without them."""


class Component(Protocol):
    name: str

    async def run(self, stop: asyncio.Event) -> None: ...


class _QuietServer(uvicorn.Server):
    """uvicorn that leaves signal handling to the service (it would otherwise re-raise SIGINT on exit)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class WebComponent:
    """The web server: the public window page now, the staff queue later."""

    name = "web"

    def __init__(self, settings: Settings) -> None:
        from zhengji.web.app import create_app

        self.settings = settings
        config = uvicorn.Config(
            create_app(settings),
            host=settings.web_listen.host,
            port=settings.web_listen.port,
            log_level=settings.log_level.lower(),
            lifespan="off",
            server_header=False,  # no "server: uvicorn": which software runs the office's site is nobody's business
            forwarded_allow_ips=settings.web_trusted_proxies,  # X-Forwarded-For/-Proto believed only from these
            timeout_graceful_shutdown=3,  # an open keep-alive connection must not hold the shutdown
        )
        self.server = _QuietServer(config)

    async def run(self, stop: asyncio.Event) -> None:
        serving = asyncio.create_task(self.server.serve())
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
        self.server.should_exit = True
        stopping.cancel()
        await serving
        if not self.server.started and not stop.is_set():
            raise OSError(f"网页服务未能在 {self.settings.web_listen} 启动（端口可能已被占用）")


def build_components(settings: Settings) -> list[Component]:
    """Every part the settings turn on: the web server and the mailbox workers always."""
    from zhengji.mailbox.doorbell import Doorbell
    from zhengji.mailbox.smtp_server import SMTPComponent
    from zhengji.mailbox.workers import PipelineComponent
    from zhengji.storage.db import make_engine

    engine = make_engine(settings.resolved_database_url)
    doorbell = Doorbell()  # intake wakes the workers of this process as soon as a mail is stored
    components: list[Component] = [WebComponent(settings), PipelineComponent(engine, settings, doorbell=doorbell)]
    if settings.smtp_listen is not None:
        components.append(SMTPComponent(settings, engine=engine, on_stored=doorbell.ring))
    if settings.imap_url is not None:
        from zhengji.mailbox.imap_watcher import IMAPComponent

        components.append(IMAPComponent(settings, engine=engine, on_stored=doorbell.ring))
    from zhengji.bot.component import BotComponent  # the status notifier, and Telegram when a token is set

    components.append(BotComponent(settings, engine))
    return components


async def _stopped(tasks: set[asyncio.Task[None]], hurry: asyncio.Event) -> None:
    """Wait until every component has stopped, :data:`STOP_SECONDS` passed or a second signal came; then cancel
    the components still running."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STOP_SECONDS
    hurrying = asyncio.create_task(hurry.wait())
    try:
        running = {task for task in tasks if not task.done()}
        while running and not hurry.is_set() and loop.time() < deadline:
            await asyncio.wait({*running, hurrying}, timeout=deadline - loop.time(), return_when="FIRST_COMPLETED")
            running = {task for task in tasks if not task.done()}
    finally:
        hurrying.cancel()
    for task in running:
        log.warning("%s did not stop in time; the service ends without it", task.get_name())
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def run_service(settings: Settings) -> None:
    """Run every component until a signal arrives or one of them fails."""
    stop = asyncio.Event()
    hurry = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        if stop.is_set():
            log.warning("a second signal: stopping now")
            hurry.set()
        else:
            log.info("stopping (a second signal stops at once)")
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal)
    components = build_components(settings)
    tasks = {asyncio.create_task(component.run(stop), name=component.name) for component in components}
    smtp = f"; smtp on {settings.smtp_listen}" if settings.smtp_listen else ""
    names = ", ".join(component.name for component in components)
    log.info("zhengji serving: %s; web on http://%s%s", names, settings.web_listen, smtp)
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        stop.set()
        await _stopped(tasks, hurry)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    log.info("zhengji stopped")
