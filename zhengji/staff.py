"""Staff accounts of the web queue: creation and password checks (scrypt, from the standard library)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime

from sqlmodel import Session, select

from zhengji.storage.models import AuditEvent, StaffUser

_N, _R, _P = 2**14, 8, 1


class StaffError(ValueError):
    """A staff account cannot be created as asked; ``str()`` is a sentence for the operator."""


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    encode = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${encode(salt).decode()}${encode(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
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
    )
    return hmac.compare_digest(actual, expected)


def add_staff(session: Session, name: str, password: str, *, admin: bool, at: datetime) -> StaffUser:
    """Create a reviewer account; the audit log records who was created and with which rights."""
    name = name.strip()
    if not name:
        raise StaffError("账号名称不能为空。")
    if len(password) < 8:
        raise StaffError("密码至少应有 8 个字符。")
    if session.exec(select(StaffUser).where(StaffUser.name == name)).first():
        raise StaffError(f"账号“{name}”已存在。")
    user = StaffUser(name=name, password_hash=hash_password(password), is_admin=admin, created_at=at)
    session.add(user)
    session.add(AuditEvent(at=at, actor="cli", action="staff_add", detail={"name": name, "admin": admin}))
    return user
