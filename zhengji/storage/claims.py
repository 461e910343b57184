"""Who holds a mail: the names workers claim mail under, and freeing the claims of workers that are gone.

A claim names its worker as ``host:pid@start/index``: the host and process that run it, the process's start time
(which tells it from a later process that got the same pid, as a container's service is often pid 1 on every
start) and which worker thread of that process. So a service that starts can tell, without waiting for a lease
to run out, which claims of its own host belong to processes that no longer run: those of a crash or a SIGKILL.

"Its own host" is where a pid names a process: this boot of this kernel and this pid namespace, not the host
name alone. Machines cloned from one image, or containers sharing the host's name (``network_mode: host``), have
the same name; a service starting there must not take another machine's pids, which it cannot see, for dead
workers and free claims that are live (two workers would then send the same reply). So the host part of a name is
the host name and a short digest of the boot id and the pid namespace.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
import socket
from pathlib import Path

import psutil
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from zhengji.storage.models import Message

log = logging.getLogger(__name__)

_CLAIMANT = re.compile(r"(?P<host>.+):(?P<pid>\d+)@(?P<start>\d+|None)(?:/.*)?")


@functools.cache
def _pid_scope() -> str:
    """A digest of where this process's pid means something (the kernel's boot id, the pid namespace); empty
    where neither can be read, so that the name is then the host name alone, as before."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        boot = ""
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = ""
    if not (boot or namespace):
        return ""
    return hashlib.sha256(f"{boot} {namespace}".encode()).hexdigest()[:8]


def host_name() -> str:
    """The host part of a claim: the host name, and ``~`` with the digest of :func:`_pid_scope` where it exists."""
    scope = _pid_scope()
    name = socket.gethostname()[:64]
    return f"{name}~{scope}" if scope else name


def process_token(pid: int) -> str | None:
    """The process's start time as the claim records it; None when there is no such process (or a zombie)."""
    try:
        return str(int(psutil.Process(pid).create_time() * 100))
    except psutil.NoSuchProcess:
        return None


def worker_name(index: int | str | None = None) -> str:
    """``host:pid@start`` (``/index`` for one of several workers of a process): what a claim records."""
    base = f"{host_name()}:{os.getpid()}@{process_token(os.getpid())}"
    return base if index is None else f"{base}/{index}"


def holder_is_gone(holder: str) -> bool:
    """True when ``holder`` names a process of this host that no longer runs; False when alive or not ours."""
    found = _CLAIMANT.fullmatch(holder)
    if found is None or found.group("host") != host_name():
        return False
    try:
        token = process_token(int(found.group("pid")))
    except psutil.Error:  # e.g. AccessDenied: the process exists and may be the holder
        return False
    return token is None or token != found.group("start")


def free_dead_claims(engine: Engine) -> list[int]:
    """Free the claims held by this host's worker processes that are gone, so that the mail they were working on
    at a crash is taken up at once, not when their lease runs out. The holder's name stays on the row, so that
    the next claim counts the step that was cut off as a try. Returns the mails freed."""
    prefix = f"{host_name()}:"
    with Session(engine) as session:
        held = session.exec(
            select(Message.id, Message.claimed_by).where(
                col(Message.claimed_by).startswith(prefix, autoescape=True), col(Message.claimed_until).is_not(None)
            )
        ).all()
    dead = [(message_id, holder) for message_id, holder in held if holder and holder_is_gone(holder)]
    if not dead:
        return []
    freed: list[int] = []
    with Session(engine) as session:
        for message_id, holder in dead:
            result = session.exec(
                update(Message)
                .where(col(Message.id) == message_id, col(Message.claimed_by) == holder)
                .values(claimed_until=None)
            )
            if result.rowcount == 1 and message_id is not None:
                freed.append(message_id)
        session.commit()
    log.warning("freed the claims of this host's workers that are gone: messages %s", freed)
    return freed
