"""`zhengji serve` runs the mailbox workers in a child process, started and stopped with the service.

The SMTP server then has its process (and its interpreter lock) to itself, and the workers run at the parsers'
priority. What an operator relies on: mail is still accepted while the workers are stuck, the workers answer
what intake stored, Ctrl-C or SIGTERM stops every process of the service, and a service killed outright leaves
no worker behind.
"""

from __future__ import annotations

import mailbox as std_mailbox
import os
import signal
import smtplib
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psutil
import pytest

from tests.mailbox.crash_support import MAILBOX, Service, small_mail
from tests.servers.ports import free_port

NOW = datetime(2025, 6, 23, 8, 40, tzinfo=UTC)  # inside the June window of 77号


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    (tmp_path / "logs").mkdir()
    running = Service(tmp_path / "var", tmp_path / "logs", imap_url="", smtp_port=free_port(), web_port=free_port())
    running.start(NOW)
    try:
        running.wait_listening()
        yield running
    finally:
        running.ensure_dead()


def _workers(service: Service) -> psutil.Process:
    """The service's child process that runs the mailbox workers (spawned by multiprocessing)."""
    assert service.process is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = [
            child
            for child in psutil.Process(service.process.pid).children()
            if "multiprocessing.spawn" in " ".join(child.cmdline())
        ]
        if found:
            assert len(found) == 1, found
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"no mailbox workers' process under serve:\n{service.output()[-3000:]}")


def _replies(data_dir: Path) -> int:
    outbox = data_dir / "outbox"
    return len(std_mailbox.Maildir(outbox, create=False)) if (outbox / "new").exists() else 0


def _wait_for_replies(service: Service, count: int, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while _replies(service.data_dir) < count:
        assert service.alive(), service.output()[-3000:]
        assert time.monotonic() < deadline, f"{_replies(service.data_dir)} replies:\n{service.output()[-3000:]}"
        time.sleep(0.1)


def _send(port: int, number: int) -> None:
    mail = small_mail("process", number, with_attachment=False)
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        refused = client.sendmail(mail.sender, [MAILBOX], mail.raw)
    assert refused == {}


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_mail_is_accepted_while_the_workers_process_is_stopped_and_a_signal_stops_every_process(
    service: Service, signum: signal.Signals
) -> None:
    assert service.process is not None
    workers = _workers(service)
    assert workers.pid != service.process.pid
    workers.suspend()  # the workers frozen mid-work: intake, in the other process, goes on
    try:
        _send(service.smtp_port, 1)
        _send(service.smtp_port, 2)
    finally:
        workers.resume()
    _wait_for_replies(service, 2)  # and what intake stored, the workers' process answers
    everything = [psutil.Process(service.process.pid), *psutil.Process(service.process.pid).children(recursive=True)]
    if signum == signal.SIGINT:
        os.killpg(service.process.pid, signal.SIGINT)  # Ctrl-C reaches every process of the terminal's group
    else:
        service.process.send_signal(signal.SIGTERM)  # as an init system stops the main process
    assert service.process.wait(timeout=30) == 0, service.output()[-3000:]
    _, alive = psutil.wait_procs(everything, timeout=10)
    assert alive == []
    assert "did not stop in time" not in service.output()


def test_a_service_killed_outright_leaves_no_worker_behind(service: Service) -> None:
    assert service.process is not None
    workers = _workers(service)
    service.process.kill()  # the main process only, as the OOM killer takes one process
    service.process.wait()
    workers.wait(timeout=30)  # the doorbell's pipe reads end-of-file: the workers stop, their parsers with them
    assert not workers.is_running()
