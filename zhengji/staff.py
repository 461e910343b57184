"""Staff accounts of the web queue: creation, password checks and changes.

Passwords are hashed with Argon2id (argon2-cffi's RFC 9106 profile). A hash made with other parameters, or an
older scrypt hash of the first release, is still verified, and replaced by a current one as soon as its owner
signs in with the right password (:func:`verify_and_update`), so that raising the parameters needs no reset.

A hash costs tens of milliseconds of CPU and 64 MiB, by design. The web server runs them in a pool of their own
of :data:`HASHING_THREADS` threads (:func:`off_the_loop`), never on the thread pool that serves pages: fifty
people signing in at once (or a script pretending to) then queue for those threads while every page goes on
answering, instead of taking every thread and all the memory at once.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlmodel import Session, select

from zhengji.storage.models import AuditEvent, StaffUser

MIN_PASSWORD = 8
_HASHER = PasswordHasher()
HASHING_THREADS = 2
"""Password hashes the web server computes at once: one a core of the two-core machine it was sized on."""
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
T = TypeVar("T")


class StaffError(ValueError):
    """A staff account cannot be created or changed as asked; ``str()`` is a sentence for the operator."""


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def hashing_pool() -> ThreadPoolExecutor:
    """The threads that compute password hashes for the web server (made on first use, shared after)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=HASHING_THREADS, thread_name_prefix="zhengji-password")
        return _pool


async def off_the_loop(work: Callable[..., T], *args: object) -> T:
    """Run a password check or hash in :func:`hashing_pool` and wait for it without holding any other thread."""
    return await asyncio.wrap_future(hashing_pool().submit(work, *args))


def _verify_scrypt(password: str, stored: str) -> bool:
    """The first release's ``scrypt$N$r$p$salt$digest`` hashes, verified until their owners sign in again."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode("utf-8"),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
            maxmem=256 * 1024 * 1024,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches the stored hash (Argon2, or a legacy scrypt hash)."""
    if stored.startswith("scrypt$"):
        return _verify_scrypt(password, stored)
    try:
        return _HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """A legacy scheme, or Argon2 with other parameters than the current ones."""
    if stored.startswith("scrypt$"):
        return True
    try:
        return _HASHER.check_needs_rehash(stored)
    except InvalidHashError:
        return True


def check_password(password: str, stored: str) -> tuple[bool, str | None]:
    """Whether a sign-in's password matches, and the hash to store instead when the stored one is outdated.

    It reads no account, so that it can run in :func:`hashing_pool` away from the database session.
    """
    if not verify_password(password, stored):
        return False, None
    return True, hash_password(password) if needs_rehash(stored) else None


def verify_and_update(user: StaffUser, password: str) -> bool:
    """Check a sign-in's password; on success a legacy or outdated hash is replaced (the caller commits)."""
    ok, fresh = check_password(password, user.password_hash)
    if fresh is not None:
        user.password_hash = fresh
    return ok


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise StaffError(f"密码至少应有 {MIN_PASSWORD} 个字符。")


def add_staff(
    session: Session, name: str, password: str, *, admin: bool, at: datetime, actor: str = "cli"
) -> StaffUser:
    """Create a reviewer account; the audit log records who was created and with which rights."""
    name = name.strip()
    if not name:
        raise StaffError("账号名称不能为空。")
    if len(name) > 80:
        raise StaffError("账号名称不能超过 80 个字符。")
    _check_password(password)
    if session.exec(select(StaffUser).where(StaffUser.name == name)).first():
        raise StaffError(f"账号“{name}”已存在。")
    user = StaffUser(name=name, password_hash=hash_password(password), is_admin=admin, created_at=at)
    session.add(user)
    session.add(AuditEvent(at=at, actor=actor, action="staff_add", detail={"name": name, "admin": admin}))
    return user


def find_staff(session: Session, name: str) -> StaffUser | None:
    return session.exec(select(StaffUser).where(StaffUser.name == name.strip())).first()


def revoke_sessions(session: Session, staff_id: int, at: datetime) -> None:
    """End every open session of an account (password changed, account switched off)."""
    from sqlalchemy import update
    from sqlmodel import col

    from zhengji.storage.models import StaffSession

    session.exec(
        update(StaffSession)
        .where(col(StaffSession.staff_id) == staff_id, col(StaffSession.revoked_at).is_(None))
        .values(revoked_at=at)
    )


def change_password(session: Session, user: StaffUser, password: str, *, at: datetime, actor: str) -> None:
    """Set a new password and end every session of the account (the caller commits both together).

    ``at`` is the real time: sessions run on the machine's clock, whatever ``ZHENGJI_NOW`` says.
    """
    _check_password(password)
    user.password_hash = hash_password(password)
    session.add(user)
    assert user.id is not None
    revoke_sessions(session, user.id, at)
    session.add(AuditEvent(at=at, actor=actor, action="staff_password", detail={"name": user.name}))


def set_active(session: Session, user: StaffUser, active: bool, *, at: datetime, actor: str) -> None:
    """Switch an account on or off; switching it off ends its sessions."""
    user.active = active
    session.add(user)
    if not active:
        assert user.id is not None
        revoke_sessions(session, user.id, at)
    session.add(AuditEvent(at=at, actor=actor, action="staff_active", detail={"name": user.name, "active": active}))
