"""`make bench`: mails the built-in SMTP server accepts and durably stores per second, beside aiosmtpd alone.

Run from the repository root: ``.venv/bin/python -m benchmarks.smtp [--clients 8] [--seconds 5]``. The clients
(the standard library's ``smtplib``, one connection each, several mails per connection) run in a separate
process so that they do not share the server's interpreter lock; everything stays on loopback. "aiosmtpd alone"
answers ``250`` and forgets the mail; zhengji answers ``250`` only after the raw mail is fsynced into the blob
store and its row committed to SQLite (WAL, ``synchronous=FULL``), the rows of the mails that arrive together in
one transaction (``intake.GroupCommit``). The issue asks for at least 200 a second on two cores; the ratio says
what durability costs over the bare protocol. ``--workers`` sets the threads that write blobs. ``--blob-url
s3://BUCKET/PREFIX`` stores the blobs in an S3 store instead (``ZHENGJI_BLOB_URL``; the endpoint and keys from
the AWS variables), so that the two backends can be compared: a mail is then ``250`` once ``PutObject`` returned.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import smtplib
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlmodel import Session as DBSession
from sqlmodel import func, select

from zhengji.mailbox.smtp_server import DEFAULT_WORKERS, SMTPComponent
from zhengji.settings import HostPort, Settings
from zhengji.storage.db import make_engine
from zhengji.storage.migrate import upgrade
from zhengji.storage.models import Message

MAILBOX = "yanfa312@126.com"
MAX_MAILS_PER_CLIENT = 100_000  # a bound on each client's loop, far above what a few seconds allow


def sample_mail(client: int, number: int, size: int) -> bytes:
    """A distinct mail of about ``size`` bytes (distinct, so that the blob store never skips a write)."""
    line = "附件为新职业建议书，请查收。".encode() + b" " * 34 + b"\r\n"  # 76 bytes with CRLF
    body = line * max(1, size // len(line))
    headers = (
        f"Message-ID: <bench.{client}.{number}.{time.monotonic_ns()}@foxmail.com>\r\n"
        f"From: zhangwei@foxmail.com\r\nTo: {MAILBOX}\r\nSubject: bench {client}-{number}\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    )
    return headers.encode() + body


def _one_client(port: int, client: int, deadline: float, size: int) -> int:
    sent = 0
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as connection:
        while sent < MAX_MAILS_PER_CLIENT and time.monotonic() < deadline:
            connection.sendmail("zhangwei@foxmail.com", [MAILBOX], sample_mail(client, sent, size))
            sent += 1
    return sent


def run_clients(port: int, clients: int, seconds: float, size: int) -> tuple[int, float]:
    """In the client process: ``clients`` connections sending for ``seconds``; the mails accepted and the time."""
    results = [0] * clients
    errors: list[BaseException] = []
    started = time.monotonic()
    deadline = started + seconds

    def worker(index: int) -> None:
        try:
            results[index] = _one_client(port, index, deadline, size)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return sum(results), time.monotonic() - started


class Forgetful:
    """aiosmtpd with nothing behind it: the protocol's own speed, the ceiling for ours."""

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return "250 OK"


async def drive(pool: ProcessPoolExecutor, port: int, clients: int, seconds: float, size: int) -> tuple[int, float]:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(pool, run_clients, port, clients, seconds, size)


async def bare_aiosmtpd(pool: ProcessPoolExecutor, clients: int, seconds: float, size: int) -> tuple[int, float]:
    loop = asyncio.get_running_loop()
    factory: Callable[[], SMTP] = lambda: SMTP(Forgetful(), hostname="bench", loop=loop)  # noqa: E731
    server = await loop.create_server(factory, host="127.0.0.1", port=0)
    try:
        return await drive(pool, server.sockets[0].getsockname()[1], clients, seconds, size)
    finally:
        server.close()
        await server.wait_closed()


async def zhengji_server(
    pool: ProcessPoolExecutor,
    directory: Path,
    clients: int,
    seconds: float,
    size: int,
    workers: int,
    blob_url: str | None = None,
) -> tuple[int, float, int]:
    settings = Settings(
        data_dir=directory,
        mailboxes=[MAILBOX],
        smtp_listen=HostPort("127.0.0.1", 0),
        now=datetime(2025, 6, 21, 2, 0, tzinfo=UTC),
        blob_url=blob_url,
    )
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    component = SMTPComponent(settings, engine=engine, workers=workers)
    stop = asyncio.Event()
    running = asyncio.create_task(component.run(stop))
    await component.started.wait()
    assert component.address is not None
    try:
        accepted, elapsed = await drive(pool, component.address[1], clients, seconds, size)
    finally:
        stop.set()
        await running
    with DBSession(engine) as session:
        rows = session.exec(select(func.count()).select_from(Message)).one()
    engine.dispose()
    return accepted, elapsed, rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--clients", type=int, default=8, help="concurrent SMTP connections (default 8)")
    parser.add_argument("--seconds", type=float, default=5.0, help="how long each run sends (default 5)")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="threads that write blobs")
    parser.add_argument("--size", type=int, default=20_000, help="bytes per mail (default 20000)")
    parser.add_argument("--blob-url", default=None, help="s3://BUCKET/PREFIX: blobs in S3 (default: local, fsynced)")
    args = parser.parse_args(argv)

    # Spawned, not forked: the client process must not inherit the server's threads and sockets.
    context: Any = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool, tempfile.TemporaryDirectory() as scratch:
        pool.submit(time.sleep, 0).result()  # start the client process before timing anything
        cpu = time.process_time()
        bare, bare_time = asyncio.run(bare_aiosmtpd(pool, args.clients, args.seconds, args.size))
        bare_cpu, cpu = time.process_time() - cpu, time.process_time()
        ours, our_time, rows = asyncio.run(
            zhengji_server(pool, Path(scratch), args.clients, args.seconds, args.size, args.workers, args.blob_url)
        )
        our_cpu = time.process_time() - cpu

    bare_rate, our_rate = bare / bare_time, ours / our_time
    verdict = "ok" if our_rate >= 200 else "BELOW TARGET"
    print(
        f"SMTP intake: {args.clients} clients × {args.seconds:g} s, {args.size:,} bytes a mail, {os.cpu_count()} cores"
    )
    print(
        f"  aiosmtpd alone, storing nothing     {bare_rate:7.0f} mails/s  {bare_cpu / bare * 1000:5.2f} ms CPU a mail"
    )
    stored_as = "S3 object + SQLite row " if args.blob_url else "fsynced blob + SQLite row"
    print(f"  zhengji, {stored_as}  {our_rate:7.0f} mails/s  {our_cpu / ours * 1000:5.2f} ms CPU a mail")
    print(f"  ratio zhengji / aiosmtpd alone      {our_rate / bare_rate:7.2f}   target ≥ 200 mails/s stored: {verdict}")
    print(f"  ({bare} and {ours} mails accepted; {rows} rows stored)")
    if rows != ours:
        raise SystemExit(f"stored {rows} rows for {ours} accepted mails: every 250 must mean exactly one row")


if __name__ == "__main__":
    main()
