"""The throw-away Dovecot that the IMAP tests rely on: it must behave like the real account it stands for."""

from __future__ import annotations

import imaplib
import socket
import time
from collections.abc import Iterator

import pytest

from tests.conftest import need_server
from tests.servers.dovecot import DovecotUnavailable, ThrowawayDovecot, running_dovecot


@pytest.fixture
def dovecot() -> Iterator[ThrowawayDovecot]:
    try:
        with running_dovecot() as server:
            yield server
    except DovecotUnavailable as error:
        need_server(f"Dovecot: {error}")


def test_it_greets_and_takes_only_the_right_password(dovecot: ThrowawayDovecot) -> None:
    client = dovecot.client()
    assert b"Dovecot" in client.welcome and client.state == "AUTH"
    client.logout()
    # Last: after a failure Dovecot slows the next login from the same address down.
    client = imaplib.IMAP4(dovecot.host, dovecot.port, timeout=10)
    with pytest.raises(imaplib.IMAP4.error):
        client.login(dovecot.username, "wrong-code")
    client.logout()


def test_everything_it_writes_is_in_its_own_directory(dovecot: ThrowawayDovecot) -> None:
    dovecot.append(b"Subject: x\r\n\r\nbody\r\n")
    assert (dovecot.root / "base" / "master.pid").exists()
    assert (dovecot.root / "mail" / dovecot.username / "dovecot-uidlist").exists()
    assert "starting up for imap" in dovecot.log()


def test_appended_mail_keeps_its_uid_and_uidvalidity_across_a_restart(dovecot: ThrowawayDovecot) -> None:
    assert [dovecot.append(b"Subject: %d\r\n\r\nbody\r\n" % n) for n in (1, 2)] == [1, 2]
    uidvalidity, port = dovecot.uidvalidity(), dovecot.port
    dovecot.restart()
    assert (dovecot.port, dovecot.uidvalidity(), dovecot.count()) == (port, uidvalidity, 2)
    assert dovecot.append(b"Subject: 3\r\n\r\nbody\r\n") == 3


def test_recreating_a_folder_gives_it_a_new_uidvalidity(dovecot: ThrowawayDovecot) -> None:
    dovecot.append(b"Subject: x\r\n\r\nbody\r\n", "Applications")
    before = dovecot.uidvalidity("Applications")
    dovecot.recreate("Applications")
    assert dovecot.uidvalidity("Applications") != before
    assert dovecot.count("Applications") == 0


def test_an_idling_client_hears_of_an_append(dovecot: ThrowawayDovecot) -> None:
    client = dovecot.client()
    client.select("INBOX")
    client.sock.settimeout(15)  # bounded: a missing notification fails the test instead of hanging it
    client.send(b"I1 IDLE\r\n")  # Python 3.11's imaplib has no IDLE of its own
    assert client.readline().startswith(b"+ idling")
    dovecot.append(b"Subject: x\r\n\r\nbody\r\n")
    assert client.readline() == b"* 1 EXISTS\r\n"
    client.send(b"DONE\r\n")
    while not client.readline().startswith(b"I1 OK"):
        pass
    client.logout()


def test_stop_removes_everything_and_frees_the_port() -> None:
    try:
        server = ThrowawayDovecot()
        server.start()
    except DovecotUnavailable as error:
        need_server(f"Dovecot: {error}")
        return
    server.append(b"Subject: x\r\n\r\nbody\r\n")
    server.stop()
    assert not server.root.exists()
    deadline = time.monotonic() + 5
    refused = False
    while not refused and time.monotonic() < deadline:
        try:
            socket.create_connection((server.host, server.port), timeout=0.5).close()
        except OSError:
            refused = True
    assert refused
