"""Handing a reply over: to the configured SMTP account, or to the local Maildir ``DATA_DIR/outbox``.

The Maildir is what makes the embedded default work offline: a clerk (or a test) reads the replies there.
Delivery there is idempotent: the file is named after the reply's Message-ID, so a worker that crashed after
delivering and before recording it delivers nothing new when it retries.
"""

from __future__ import annotations

import hashlib
import os
import smtplib
import ssl
import tempfile
from email.message import EmailMessage
from pathlib import Path

from zhengji.settings import ServerURL


def maildir_name(message_id: str) -> str:
    return hashlib.sha256(message_id.encode("utf-8")).hexdigest()[:32] + ".zhengji"


def deliver_to_maildir(root: Path, message: EmailMessage) -> Path:
    """Write ``message`` into the Maildir at ``root`` (tmp → new, fsynced); a second call is a no-op."""
    for sub in ("tmp", "new", "cur"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    name = maildir_name(str(message["Message-ID"]))
    target = root / "new" / name
    if target.exists() or (root / "cur" / name).exists():
        return target
    handle, temporary = tempfile.mkstemp(dir=root / "tmp")
    with os.fdopen(handle, "wb") as stream:
        stream.write(message.as_bytes())
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(temporary, target)
    directory = os.open(root / "new", os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return target


def send_smtp(account: ServerURL, message: EmailMessage, timeout: float = 60) -> None:
    """Send through the configured account (``smtps://`` implicit TLS, ``?starttls=true`` upgrades)."""
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if account.scheme == "smtps":
        client = smtplib.SMTP_SSL(account.host, account.port, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(account.host, account.port, timeout=timeout)
    with client:
        if account.starttls:
            client.starttls(context=context)
        if account.username and account.password:
            client.login(account.username, account.password.get_secret_value())
        client.send_message(message)
