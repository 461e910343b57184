"""``zhengji serve``: every part of the service, stopped cleanly by Ctrl-C or SIGTERM.

Intake (the SMTP server, the IMAP watcher), the web server and the bot run in this process; the mailbox workers
in a child process that the service starts and stops with the rest (:class:`zhengji.mailbox.workers.PipelineProcess`).

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
from typing import TYPE_CHECKING, Protocol

import uvicorn
from sqlalchemy.engine import Engine

from zhengji.settings import Settings

if TYPE_CHECKING:
    from zhengji.storage.blobs import S3BlobStore

log = logging.getLogger("zhengji.service")

STOP_SECONDS = 10.0
"""How long the components get to stop after a signal before the service ends without them."""

BLOB_PROBE = b"zhengji: the blob store is writable\n"
"""What :func:`check_blob_store` writes at start-up; content-addressed, so every start writes the same object."""


class StartupError(Exception):
    """A setting points at something the service cannot use; ``str()`` is the line the operator reads."""


def check_blob_store(settings: Settings) -> None:
    """Write and read back one small blob, so that a store that cannot be reached or written stops ``serve`` at
    once with the setting to fix, instead of turning every applicant's mail away with ``451`` for hours.

    The probe is named by its content like any blob, so it is written once and never needs deleting (zhengji
    deletes nothing from the store).
    """
    from zhengji.storage.blobs import BlobNotFound, S3BlobStore, blob_store

    store = blob_store(settings)
    try:
        if isinstance(store, S3BlobStore):
            _check_bucket(store)
        digest = store.put(BLOB_PROBE)
        if store.get(digest) != BLOB_PROBE:
            raise OSError("the blob read back differs from the one written")
    except (OSError, BlobNotFound) as error:
        if settings.blob_url:
            raise StartupError(
                f"无法写入 S3 存储 {settings.blob_url}：请检查 ZHENGJI_BLOB_URL（存储桶须已创建）以及 "
                "AWS_ENDPOINT_URL_S3、AWS_ACCESS_KEY_ID、AWS_SECRET_ACCESS_KEY、AWS_DEFAULT_REGION。"
                f" / The S3 store {settings.blob_url} cannot be written; check ZHENGJI_BLOB_URL (the bucket must"
                f" exist) and the AWS_* variables. ({error})"
            ) from None
        raise StartupError(
            f"无法写入邮件存储目录 {settings.blob_dir}：请检查 ZHENGJI_DATA_DIR 及该目录的权限。"
            f" / The blob directory {settings.blob_dir} cannot be written; check ZHENGJI_DATA_DIR and its"
            f" permissions. ({error})"
        ) from None


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


def intake_engine(engine: Engine, settings: Settings) -> Engine:
    """The engine intake (SMTP, IMAP) stores mail through: on SQLite an engine of its own whose transactions go
    before the pipeline's (:class:`zhengji.storage.locks.WriteGate`), so that a burst of mail is accepted at the
    rate the disk allows however busy the workers are; on PostgreSQL, which locks rows, the shared one."""
    if engine.dialect.name != "sqlite":
        return engine
    from zhengji.storage.db import make_engine
    from zhengji.storage.locks import WriteGate, gate_between_processes

    intake = make_engine(settings.resolved_database_url)
    gate = WriteGate(between_processes=gate_between_processes(engine))  # the workers' process meets it there
    gate.install(engine, urgent=False)
    gate.install(intake, urgent=True)
    return intake


def _check_bucket(store: S3BlobStore) -> None:
    """Refuse a bucket the store says does not exist: some stores (SeaweedFS) create one on the first write, and
    mail would then go to a bucket nobody backs up. A refusal to look (403: the keys may put and get objects but
    not list the bucket, as a minimal policy allows) is left to the write that follows."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        store.client.head_bucket(Bucket=store.location.bucket)
    except ClientError as error:
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status == 404:
            raise OSError(f"the bucket {store.location.bucket!r} does not exist") from None
        if status != 403:
            raise OSError(str(error)) from None
    except BotoCoreError as error:
        raise OSError(str(error)) from None


def build_components(settings: Settings) -> list[Component]:
    """Every part the settings turn on: the web server and the mailbox workers always."""
    from zhengji.mailbox.smtp_server import SMTPComponent
    from zhengji.mailbox.workers import PipelineProcess
    from zhengji.parsers.isolation import set_parse_priority
    from zhengji.storage.db import make_engine

    set_parse_priority(settings.parse_nice)  # before the pipeline starts its workers: intake comes first
    engine = make_engine(settings.resolved_database_url)
    if engine.dialect.name != "sqlite" and settings.outbound_smtp_url is None:
        # Whether DATA_DIR/outbox is on storage the other instances share cannot be told reliably from here (a
        # network file system, a cluster volume, a bind mount all look alike), so this is a warning, not a refusal.
        log.warning(
            "replies go to the Maildir %s of this host; when several instances share the database, each writes its "
            "own replies there: set ZHENGJI_OUTBOUND_SMTP_URL (see README, Several machines)",
            settings.outbox_dir,
        )
    intake = intake_engine(engine, settings)
    # The workers run in a child process, so that intake keeps this process's interpreter lock and, at the
    # parsers' priority, the kernel's preference; intake rings them through a pipe as soon as a mail is stored.
    pipeline = PipelineProcess(settings)
    components: list[Component] = [WebComponent(settings), pipeline]
    if settings.smtp_listen is not None:
        components.append(SMTPComponent(settings, engine=intake, on_stored=pipeline.ring))
    if settings.imap_url is not None:
        from zhengji.mailbox.imap_watcher import IMAPComponent

        components.append(IMAPComponent(settings, engine=intake, on_stored=pipeline.ring))
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
