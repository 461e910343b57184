"""Signing in and out, and changing one's password.

Sign-in is an ``async`` route so that no page-serving thread waits for a password hash: the database work runs
briefly on the shared thread pool, and the hash itself in the small pool of :func:`zhengji.staff.off_the_loop`.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from zhengji.clock import real_now
from zhengji.staff import (
    StaffError,
    change_password,
    check_password,
    find_staff,
    hash_password,
    off_the_loop,
    verify_password,
)
from zhengji.storage.models import StaffUser
from zhengji.web.staff import presession
from zhengji.web.staff.context import clock_of, database, settings_of, templates
from zhengji.web.staff.guard import LOGIN_COOKIE, LOGIN_PATH, staff_of
from zhengji.web.staff.lockout import Lock, lock_of, record
from zhengji.web.staff.sessions import COOKIE, end, start

log = logging.getLogger(__name__)
router = APIRouter()
LOCKED_MESSAGE = "该账号在本地址登录失败次数过多，已被暂时锁定，请 {minutes} 分钟后再试。"
ADDRESS_LOCKED_MESSAGE = "本地址登录失败次数过多，已被暂时锁定，请 {minutes} 分钟后再试。"
WRONG_MESSAGE = "用户名或密码不正确。"


@cache
def _decoy() -> str:
    """A hash to verify for an unknown name: it costs what a real check costs, so timing tells no names."""
    return hash_password(secrets.token_hex(16))


def _check_decoy(password: str) -> tuple[bool, str | None]:
    verify_password(password, _decoy())
    return False, None


def _secure(request: Request) -> bool:
    """Cookies are Secure behind HTTPS: the public address says so, or the connection (or a trusted proxy) does."""
    return request.url.scheme == "https" or settings_of(request).behind_https


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/staff/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/staff/queue"


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _login_page(request: Request, *, error: str = "", name: str = "", target: str = "", status: int = 200) -> Response:
    """The login form with the token of this browser's pre-session (made now when it has none alive)."""
    with database(request) as session:
        cookie, token = presession.issue(session, request.cookies.get(LOGIN_COOKIE), clock_of(request).machine())
        session.commit()
    page: Response = templates().TemplateResponse(
        request,
        "staff/login.html",
        {"csrf": token, "error": error, "name": name, "next": target},
        status_code=status,
    )
    page.set_cookie(LOGIN_COOKIE, cookie, path=LOGIN_PATH, httponly=True, samesite="strict", secure=_secure(request))
    return page


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "") -> Response:
    return _login_page(request, target=_safe_next(next) if next else "")


@dataclass(frozen=True)
class _Attempt:
    """What the database says about a sign-in before its password is checked."""

    lock: Lock | None
    staff_id: int | None  # None: no such active account (a decoy hash is checked all the same)
    stored: str


def _look_up(request: Request, name: str, address: str, at: datetime) -> _Attempt:
    with database(request) as session:
        lock = lock_of(session, name, address, settings_of(request), at)
        if lock is not None:
            return _Attempt(lock, None, "")
        user = find_staff(session, name) if name else None
    if user is None or not user.active or user.id is None:
        return _Attempt(None, None, "")
    return _Attempt(None, user.id, user.password_hash)


def _conclude(
    request: Request, attempt: _Attempt, name: str, address: str, at: datetime, ok: bool, fresh: str | None
) -> str | None:
    """Record the try; on success open the session (its token returned) and spend the login form's pre-session."""
    with database(request) as session:
        user = session.get(StaffUser, attempt.staff_id) if attempt.staff_id is not None else None
        # The account may have been switched off or its password changed while the hash was computed.
        ok = ok and user is not None and user.active and user.password_hash == attempt.stored
        record(session, name, address, ok, at)
        if not ok or user is None:
            session.commit()
            return None
        if fresh is not None:
            user.password_hash = fresh
        token = start(session, user, settings_of(request), address=address, agent=request.headers.get("user-agent", ""))
        presession.consume(session, request.cookies.get(LOGIN_COOKIE))
        session.commit()
    return token


@router.post("/login")
async def login(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    next: str = Form(""),
) -> Response:
    name = username.strip()[:80]
    address = _address(request)
    moment = clock_of(request).machine()
    attempt = await run_in_threadpool(_look_up, request, name, address, moment)
    if attempt.lock is not None:
        # Refused unheard and not recorded, so that tries during a lock never make it longer.
        log.warning("sign-in refused during a lockout: name %r from %s", name, address)
        wording = ADDRESS_LOCKED_MESSAGE if attempt.lock.whole_address else LOCKED_MESSAGE
        message = wording.format(minutes=attempt.lock.minutes_left(moment))
        return await run_in_threadpool(lambda: _login_page(request, error=message, name=name, target=next, status=429))
    if attempt.staff_id is None:
        ok, fresh = await off_the_loop(_check_decoy, password)
    else:
        ok, fresh = await off_the_loop(check_password, password, attempt.stored)
    token = await run_in_threadpool(_conclude, request, attempt, name, address, moment, ok, fresh)
    if token is None:
        return await run_in_threadpool(
            lambda: _login_page(request, error=WRONG_MESSAGE, name=name, target=next, status=401)
        )
    answer = RedirectResponse(_safe_next(next), status_code=303)
    answer.set_cookie(COOKIE, token, path="/staff", httponly=True, samesite="lax", secure=_secure(request))
    answer.delete_cookie(LOGIN_COOKIE, path=LOGIN_PATH, httponly=True, samesite="strict", secure=_secure(request))
    return answer


@router.post("/logout")
def logout(request: Request) -> Response:
    with database(request) as session:
        end(session, request.cookies.get(COOKIE))
        session.commit()
    answer = RedirectResponse(LOGIN_PATH, status_code=303)
    answer.delete_cookie(COOKIE, path="/staff")
    return answer


@router.get("/account", response_class=HTMLResponse)
def account_form(request: Request) -> Response:
    staff = staff_of(request)
    return templates().TemplateResponse(request, "staff/account.html", {"staff": staff, "csrf": staff.csrf})


@router.post("/account")
def account(
    request: Request,
    current: str = Form(""),
    password: str = Form(""),
    again: str = Form(""),
) -> Response:
    staff = staff_of(request)
    error = ""
    with database(request) as session:
        user = session.get(StaffUser, staff.staff_id)
        assert user is not None
        if not verify_password(current, user.password_hash):
            error = "当前密码不正确。"
        elif password != again:
            error = "两次输入的新密码不一致。"
        else:
            try:
                change_password(session, user, password, at=real_now(), actor=staff.name)
            except StaffError as problem:
                error = str(problem)
        if error:
            return templates().TemplateResponse(
                request, "staff/account.html", {"staff": staff, "csrf": staff.csrf, "error": error}, status_code=400
            )
        token = start(
            session, user, settings_of(request), address=_address(request), agent=request.headers.get("user-agent", "")
        )
        session.commit()
    answer = RedirectResponse("/staff/account?changed=1", status_code=303)
    answer.set_cookie(COOKIE, token, path="/staff", httponly=True, samesite="lax", secure=_secure(request))
    return answer
