"""Helpers for tests that drive the pipeline by hand on a real database, blob store and Maildir."""

from __future__ import annotations

import contextlib
import mailbox as std_mailbox
import socket
import threading
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from zhengji.clock import Clock, real_now
from zhengji.mailbox.envelope import receipt_time
from zhengji.mailbox.intake import Receipt, keep
from zhengji.mailbox.pipeline import Pipeline
from zhengji.settings import Settings
from zhengji.storage.blobs import blob_store
from zhengji.storage.models import Message, MessageSource, MessageState

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "mail"
SH = "yanfa312@126.com"
WAITING = (MessageState.received, MessageState.parsed, MessageState.checked, MessageState.escalated)


def arrive(engine: Engine, settings: Settings, raw: bytes, to: str = SH) -> int:
    """Store ``raw`` as the SMTP server would, received when its topmost Received: header says."""
    received = receipt_time(raw)
    assert received is not None
    row = keep(engine, blob_store(settings), raw, Receipt(MessageSource.smtp, to, received, None, [to]))
    assert row.id is not None
    return row.id


def drain(pipeline: Pipeline, limit: int = 100) -> int:
    """Run every step that is due now; returns how many ran."""
    steps = 0
    while pipeline.run_once():
        steps += 1
        assert steps < limit
    return steps


def frozen(moment: datetime, business: datetime | None = None) -> Clock:
    """Clocks whose real time stands at ``moment`` (the business clock too, unless ``business`` fixes it)."""
    return Clock(business, real=lambda: moment)


def settle(engine: Engine, settings: Settings, limit: int = 200) -> timedelta:
    """Run the pipeline, moving its real clock to each planned retry, until no mail waits; returns how far the
    clock moved. The retries a step plans for an hour later happen without the test waiting an hour; the
    business clock (``settings.now``) stays where the settings put it, or follows the real one when unset."""
    start = moment = real_now()
    for _ in range(limit):
        drain(Pipeline(engine, settings, clock=frozen(moment, settings.now)), limit=1000)
        with Session(engine) as session:
            due = session.exec(
                select(Message.next_attempt_at)
                .where(col(Message.state).in_(WAITING), col(Message.next_attempt_at).is_not(None))
                .order_by(col(Message.next_attempt_at))
            ).first()
        if due is None:
            return moment - start
        moment = max(moment, due)
    raise AssertionError(f"the pipeline did not settle within {limit} rounds")


def outbox(settings: Settings) -> list[std_mailbox.MaildirMessage]:
    root = settings.outbox_dir
    return list(std_mailbox.Maildir(root, create=False)) if root.exists() else []


def body_of(raw: bytes) -> str:
    parsed = message_from_bytes(raw, policy=policy.default)
    return str(parsed.get_body().get_content())  # type: ignore[union-attr]


class SilentProvider:
    """An outgoing mail server that accepts TCP connections and never says a word, as a provider under attack
    or behind a broken firewall does: a client waits for its greeting until its own time-out."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.connections: list[socket.socket] = []
        self.connected = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return  # closed
            self.connections.append(connection)
            self.connected.set()

    def close(self) -> None:
        """Hang up on every client and stop listening."""
        self.listener.close()
        for connection in self.connections:
            with contextlib.suppress(OSError):
                connection.close()

    def __enter__(self) -> SilentProvider:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
