"""`make bench`: mails answered per second by one ``zhengji serve`` and by two sharing a database and a bucket.

Run from the repository root: ``.venv/bin/python -m benchmarks.instances [--mails 200] [--clients 4]``. Each run
gets a fresh database on a throw-away PostgreSQL, a fresh bucket on a throw-away SeaweedFS (``weed server -s3``)
and an aiosmtpd sink as the outgoing SMTP account, exactly as the two-instance test sets them up
(``tests/servers/instances.py``); the instances are real ``python -m zhengji serve`` processes as ``make run``
starts them. Once every instance listens, ``--clients`` SMTP clients send ``--mails`` mails (half a filled
建议书 docx, half a question without a file) as fast as the servers take them, spread over the instances' ports;
the time runs from the first mail sent to the last reply the sink received. "Answered per second" is mails over
that time; the ratio says what a second instance adds. On one machine both instances share its cores, so the
ratio measures the cost of sharing (claims, the bucket) rather than the gain of a second machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import smtplib
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tests.conftest import fresh_postgres_database
from tests.mailbox.crash_support import MAILBOX, Service, TestMail
from tests.servers.instances import burst, instance_environment, make_instance, running_sink
from tests.servers.postgres import ThrowawayPostgres
from tests.servers.seaweed import ThrowawaySeaweed, running_seaweed
from zhengji.clock import SHANGHAI

NOW = datetime(2025, 6, 23, 16, 45, tzinfo=SHANGHAI)  # inside the June window: every submission is checked


@dataclass
class Result:
    instances: int
    mails: int
    seconds: float  # first mail sent to last reply received
    intake_seconds: float  # first mail sent to the last 250

    @property
    def per_second(self) -> float:
        return self.mails / self.seconds


def _send(port: int, mails: list[TestMail], errors: list[str]) -> None:
    """One client: every mail over one connection, the next as soon as the server answers 250."""
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
        for mail in mails:
            refused = client.sendmail(mail.sender, [MAILBOX], mail.raw)
            if refused:
                errors.append(f"{mail.message_id}: {refused}")


def run(count: int, mails: int, clients: int, postgres: str, store: ThrowawaySeaweed, root: Path) -> Result:
    """``count`` instances take ``mails`` mails; returns when every mail was answered."""
    bucket = store.create_bucket(f"zj-{uuid.uuid4().hex[:12]}")
    database_url = fresh_postgres_database(postgres)
    batch = burst(f"bench{count}", mails)
    with running_sink() as (sink, sink_port):
        shared = instance_environment(
            database_url=database_url, bucket=bucket, sink_port=sink_port, lease_seconds=120, store=store
        )
        services: list[Service] = [
            make_instance(f"run{count}-{index}", root, imap_url=None, environment=shared) for index in range(count)
        ]
        try:
            for service in services:  # one after the other: the first migrates the empty database
                service.start(NOW)
                service.wait_listening()
            errors: list[str] = []
            threads = [
                threading.Thread(
                    target=_send, args=(services[index % count].smtp_port, batch[index::clients], errors), daemon=True
                )
                for index in range(clients)
            ]
            started = time.monotonic()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            intake = time.monotonic() - started
            if errors:
                raise RuntimeError(f"mails refused: {errors[:3]}")
            if not sink.wait_for(mails, 600):
                raise RuntimeError(f"only {len(sink.replies)} of {mails} mails answered within 10 minutes")
            answered = time.monotonic() - started
            if len(sink.answered()) != mails:
                raise RuntimeError("a mail was answered twice or a reply answers no mail of the batch")
        finally:
            for service in services:
                if service.alive():
                    service.stop()
                service.ensure_dead()
    return Result(count, mails, answered, intake)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=200)
    parser.add_argument("--clients", type=int, default=4)
    arguments = parser.parse_args()
    for name in [name for name in os.environ if name.startswith(("ZHENGJI_", "AWS_"))]:
        del os.environ[name]  # the instances get their settings from instance_environment only
    root = Path(tempfile.mkdtemp(prefix="zhengji-bench-instances-"))
    postgres = ThrowawayPostgres()
    postgres.start()
    try:
        with running_seaweed() as store:
            results = [run(count, arguments.mails, arguments.clients, postgres.url, store, root) for count in (1, 2)]
    finally:
        postgres.stop()
        shutil.rmtree(root, ignore_errors=True)
    print(f"mails answered per second, {arguments.mails} mails ({arguments.clients} SMTP clients), "
          f"half 建议书 docx and half questions; {os.cpu_count()} cores")  # fmt: skip
    for result in results:
        print(f"  {result.instances} instance{'s' if result.instances > 1 else ' '}: {result.per_second:6.1f} /s "
              f"(all answered in {result.seconds:.1f} s; all accepted in {result.intake_seconds:.1f} s)")  # fmt: skip
    one, two = results
    print(f"  ratio two / one: {two.per_second / one.per_second:.2f}")


if __name__ == "__main__":
    main()
