"""What every /staff request passes before its route runs: a signed-in account, and for a POST its CSRF token
and a same-origin check.

One dependency on the whole staff router does it, so that no route can be added without it: a page without a
session answers ``303`` to the login page, an API route ``401``; a POST from another site (``Origin`` or
``Sec-Fetch-Site``) or without the session's token (form field ``csrf_token`` or header ``X-CSRF-Token``)
answers ``403``. The login form, the one route open to strangers, carries the token of a pre-session the server
made when it served the form (:mod:`presession`), so that another site cannot sign a browser in under an account
of its choosing, even with a cookie it planted.
"""

from __future__ import annotations

import hmac
from urllib.parse import quote

from fastapi import Request

from zhengji.web.staff import presession
from zhengji.web.staff.context import clock_of, database, settings_of
from zhengji.web.staff.sessions import COOKIE, SignedIn, lookup

LOGIN_PATH = "/staff/login"
LOGIN_COOKIE = "zhengji_login"
API_PREFIX = "/staff/api/"


class LoginRequired(Exception):
    """No live session: a page goes to the login form, an API call gets 401."""

    def __init__(self, api: bool, target: str) -> None:
        super().__init__(target)
        self.api = api
        self.target = target


class Forbidden(Exception):
    """Refused with 403: ``str()`` says why, in Chinese."""


def _same_origin(request: Request) -> bool:
    """A browser's own word that the request comes from this site's pages (scripts and old browsers send
    neither header; the CSRF token still decides for them)."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in {"same-origin", "none"}:
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    host = request.headers.get("host", "")
    return origin in {f"http://{host}", f"https://{host}"}


async def _posted_token(request: Request) -> str:
    header = request.headers.get("x-csrf-token")
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get("csrf_token")
        return value if isinstance(value, str) else ""
    return ""


async def guard(request: Request) -> None:
    """The router-wide dependency: sign-in, then for POST the origin and the CSRF token."""
    path = request.url.path
    posting = request.method not in {"GET", "HEAD", "OPTIONS"}
    if path == LOGIN_PATH:
        if posting:
            if not _same_origin(request):
                raise Forbidden("请求来源不符，已拒绝。请从本系统的登录页面登录。")
            posted, cookie = await _posted_token(request), request.cookies.get(LOGIN_COOKIE)
            with database(request) as session:
                issued = presession.accepts(session, cookie, posted, clock_of(request).machine())
            if not issued:
                raise Forbidden("登录页面已过期，请刷新页面后重新登录。")
        return
    with database(request) as session:
        signed_in = lookup(session, request.cookies.get(COOKIE), settings_of(request))
    if signed_in is None:
        target = path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(path.startswith(API_PREFIX), target)
    request.state.staff = signed_in
    if posting:
        if not _same_origin(request):
            raise Forbidden("请求来源不符，已拒绝。")
        if not hmac.compare_digest(signed_in.csrf, await _posted_token(request)):
            raise Forbidden("页面已过期或缺少校验码，请刷新页面后重试。")


def staff_of(request: Request) -> SignedIn:
    signed_in = getattr(request.state, "staff", None)
    assert isinstance(signed_in, SignedIn), "the staff guard runs before every staff route"
    return signed_in


def login_url(target: str) -> str:
    return f"{LOGIN_PATH}?next={quote(target, safe='')}"
