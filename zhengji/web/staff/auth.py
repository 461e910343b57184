"""Signing in and out, and changing one's password."""

from __future__ import annotations

import secrets
from functools import cache

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from zhengji.clock import real_now
from zhengji.staff import (
    StaffError,
    change_password,
    find_staff,
    hash_password,
    verify_and_update,
    verify_password,
)
from zhengji.web.staff.context import database, settings_of, templates
from zhengji.web.staff.guard import LOGIN_COOKIE, LOGIN_PATH, staff_of
from zhengji.web.staff.lockout import locked, record
from zhengji.web.staff.sessions import COOKIE, end, start

router = APIRouter()
LOCKED_MESSAGE = "登录失败次数过多，该账号或地址已被暂时锁定，请 {minutes} 分钟后再试。"
WRONG_MESSAGE = "用户名或密码不正确。"


@cache
def _decoy() -> str:
    """A hash to verify for an unknown name: it costs what a real check costs, so timing tells no names."""
    return hash_password(secrets.token_hex(16))


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/staff/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/staff/queue"


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _login_page(request: Request, *, error: str = "", name: str = "", target: str = "", status: int = 200) -> Response:
    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
    page: Response = templates().TemplateResponse(
        request,
        "staff/login.html",
        {"csrf": token, "error": error, "name": name, "next": target},
        status_code=status,
    )
    page.set_cookie(LOGIN_COOKIE, token, path=LOGIN_PATH, httponly=True, samesite="strict", secure=_secure(request))
    return page


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "") -> Response:
    return _login_page(request, target=_safe_next(next) if next else "")


@router.post("/login")
def login(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    next: str = Form(""),
) -> Response:
    settings = settings_of(request)
    name = username.strip()[:80]
    address = _address(request)
    moment = real_now()
    with database(request) as session:
        if locked(session, name, address, settings, moment):
            record(session, name, address, False, moment)
            session.commit()
            message = LOCKED_MESSAGE.format(minutes=settings.staff_lockout_minutes)
            return _login_page(request, error=message, name=name, target=next, status=429)
        user = find_staff(session, name) if name else None
        if user is None or not user.active:
            verify_password(password, _decoy())
            ok = False
        else:
            ok = verify_and_update(user, password)
        record(session, name, address, ok, moment)
        if not ok or user is None:
            session.commit()
            return _login_page(request, error=WRONG_MESSAGE, name=name, target=next, status=401)
        token = start(session, user, settings, address=address, agent=request.headers.get("user-agent", ""))
        session.commit()
    answer = RedirectResponse(_safe_next(next), status_code=303)
    answer.set_cookie(COOKIE, token, path="/staff", httponly=True, samesite="lax", secure=_secure(request))
    answer.delete_cookie(LOGIN_COOKIE, path=LOGIN_PATH)
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
        from zhengji.storage.models import StaffUser

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
