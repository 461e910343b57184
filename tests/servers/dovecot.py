"""A throw-away Dovecot IMAP server on loopback for the IMAP watcher tests.

Debian's ``dovecot-imapd`` started with ``-F -c <tmp>/dovecot.conf``: every path it writes (``base_dir``,
``state_dir``, the log, the Maildir store, the passwd-file) lives in one temporary directory, it listens on a
free high port on 127.0.0.1 with plain IMAP only, and everything is removed afterwards.

Dovecot runs unprivileged: all its processes run as the user who starts it, which is why the internal and login
users are that user and the login and anvil services lose their ``chroot``. Its login process refuses to run as
root, so as root (CI) the whole server runs as the ``dovecot`` user that Debian's package creates, as
``tests/servers/postgres.py`` runs PostgreSQL as ``postgres`` (here by ``Popen(user=...)``: ``runuser`` would hold
every stop up by two seconds before it lets go).
"""

from __future__ import annotations

import grp
import imaplib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.servers.ports import free_port

DOVECOT = Path("/usr/sbin/dovecot")
USER = "zhengji"
PASSWORD = "Sq7-authcode"


class DovecotUnavailable(RuntimeError):
    """Dovecot is not installed, or it would not start."""


def _run_as() -> tuple[str, str, bool]:
    """The user and group Dovecot runs as, and whether this process must switch to them first."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid()).pw_name, grp.getgrgid(os.getegid()).gr_name, False
    try:
        entry = pwd.getpwnam("dovecot")
    except KeyError:
        raise DovecotUnavailable("running as root, and there is no 'dovecot' user to run Dovecot as") from None
    return entry.pw_name, grp.getgrgid(entry.pw_gid).gr_name, True


class ThrowawayDovecot:
    """One Dovecot with one account (``USER``/``PASSWORD``); ``restart()`` keeps its mail, port and UIDVALIDITY."""

    def __init__(self) -> None:
        if not DOVECOT.exists():
            raise DovecotUnavailable(f"{DOVECOT} is not installed (Debian package dovecot-imapd)")
        self.user, self.group, self._switch = _run_as()
        self.host = "127.0.0.1"
        self.port = free_port()
        self.username = USER
        self.password = PASSWORD
        self.root = Path(tempfile.mkdtemp(prefix="zhengji-dovecot-"))
        self.log_path = self.root / "dovecot.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._write_config()

    @property
    def url(self) -> str:
        """The account as ``ZHENGJI_IMAP_URL`` takes it."""
        return f"imap://{self.username}:{self.password}@{self.host}:{self.port}/INBOX"

    def _write_config(self) -> None:
        for name in ("base", "state", "mail"):
            (self.root / name).mkdir()
        (self.root / "passwd").write_text(f"{self.username}:{{PLAIN}}{self.password}::::::\n")
        root = self.root
        # imap_id_log records the RFC 2971 ID a client sends, which the tests read back from the log.
        (root / "dovecot.conf").write_text(
            f"""\
protocols = imap
listen = {self.host}
base_dir = {root}/base
state_dir = {root}/state
log_path = {self.log_path}
info_log_path = {self.log_path}
debug_log_path = {self.log_path}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = {self.user}
default_internal_group = {self.group}
default_login_user = {self.user}
first_valid_uid = 0
mail_location = maildir:{root}/mail/%u
mail_fsync = always
imap_id_log = *
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = home={root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = {self.host}
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""
        )
        if self._switch:
            for path in [root, *root.rglob("*")]:
                shutil.chown(path, self.user, self.group)
            os.chmod(root, 0o700)

    def start(self) -> None:
        """Start Dovecot and return once it answers with its IMAP greeting."""
        # Its own session, so that stop() can signal Dovecot's whole process tree and nothing else.
        switch: dict[str, Any] = {"user": self.user, "group": self.group, "extra_groups": []} if self._switch else {}
        self.process = subprocess.Popen(
            [str(DOVECOT), "-F", "-c", str(self.root / "dovecot.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
            **switch,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                error = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                raise DovecotUnavailable(f"dovecot exited: {error.strip()} {self.log()[-2000:]}")
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as probe:
                    probe.settimeout(2)
                    if probe.recv(200).startswith(b"* OK"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise DovecotUnavailable(f"dovecot did not answer within 20 s: {self.log()[-2000:]}")

    def _halt(self) -> None:
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            except ProcessLookupError:
                process.wait()
        if process.stderr:
            process.stderr.close()
        self.process = None
        # The master is gone; wait until its children have let go of the port so that a restart can bind it.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    pass
            except OSError:
                return
            time.sleep(0.05)

    def restart(self) -> None:
        """Stop Dovecot (every client connection drops) and start it again on the same port with the same mail."""
        self._halt()
        self.start()

    def stop(self) -> None:
        """Stop Dovecot and remove everything it wrote."""
        self._halt()
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def client(self) -> imaplib.IMAP4:
        """A logged-in imaplib client, for the tests' own view of the mailbox."""
        client = imaplib.IMAP4(self.host, self.port, timeout=10)
        client.login(self.username, self.password)
        return client

    def append(self, raw: bytes, folder: str = "INBOX", when: datetime | None = None) -> int:
        """APPEND ``raw`` to ``folder`` (created when missing) and return the UID the server gave it."""
        client = self.client()
        try:
            client.create(folder)  # NO when it exists, which is fine
            typ, data = client.append(folder, None, when or time.time(), raw)
            if typ != "OK":
                raise RuntimeError(f"APPEND failed: {data!r}")
            code = data[0].decode() if isinstance(data[0], bytes) else str(data[0])
            # [APPENDUID <uidvalidity> <uid>] (UIDPLUS, which Dovecot has).
            return int(code.split("APPENDUID", 1)[1].split("]", 1)[0].split()[1])
        finally:
            client.logout()

    def recreate(self, folder: str) -> None:
        """Delete ``folder`` with its mail and create it again: the server gives it a new UIDVALIDITY."""
        client = self.client()
        try:
            client.delete(folder)
            client.create(folder)
        finally:
            client.logout()

    def uidvalidity(self, folder: str = "INBOX") -> int:
        client = self.client()
        try:
            typ, data = client.status(folder, "(UIDVALIDITY)")
            if typ != "OK":
                raise RuntimeError(f"STATUS failed: {data!r}")
            return int(data[0].decode().rsplit("UIDVALIDITY", 1)[1].strip(" )"))
        finally:
            client.logout()

    def flags(self, uid: int, folder: str = "INBOX") -> list[str]:
        """The flags of one mail, as another client sees them."""
        client = self.client()
        try:
            client.select(folder, readonly=True)
            typ, data = client.uid("FETCH", str(uid), "(FLAGS)")
            if typ != "OK" or not data or data[0] is None:
                raise RuntimeError(f"FETCH FLAGS failed: {data!r}")
            flags = imaplib.ParseFlags(data[0] if isinstance(data[0], bytes) else data[0][0])
            return [flag.decode() for flag in flags]
        finally:
            client.logout()

    def count(self, folder: str = "INBOX") -> int:
        client = self.client()
        try:
            _, data = client.status(folder, "(MESSAGES)")
            return int(data[0].decode().rsplit("MESSAGES", 1)[1].strip(" )"))
        finally:
            client.logout()


@contextmanager
def running_dovecot() -> Iterator[ThrowawayDovecot]:
    """A started server, stopped and removed afterwards; raises DovecotUnavailable when it cannot start."""
    server = ThrowawayDovecot()
    try:
        server.start()
        yield server
    finally:
        server.stop()
