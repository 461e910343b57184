"""The FastAPI application served by ``zhengji serve`` on ``ZHENGJI_WEB_LISTEN``.

The app is the public face of an office, and staff pages will sit beside the public one, so every response it
makes carries the browser protections a security review expects: no MIME sniffing, no framing (clickjacking),
no Referer to other sites, and a Content-Security-Policy that lets a page load nothing but this site's own
files (its inline style only with the nonce of that response). It answers only to its trusted host names
(``ZHENGJI_WEB_TRUSTED_HOSTS``) and publishes no API schema or documentation pages. Nothing under ``/staff``
(pages, the API, exports, applicants' files) is kept by a browser or a proxy cache (``Cache-Control:
no-store``: a shared office computer must not show the last reviewer's cases from its cache), and behind a TLS
proxy (``ZHENGJI_WEB_PUBLIC_URL`` starting with https://) every response carries Strict-Transport-Security.

No request body is read beyond its limit (:class:`BodyLimit`: ``ZHENGJI_WEB_MAX_BODY_BYTES`` for the chat, the
WeChat callback and every public route, ``ZHENGJI_STAFF_MAX_BODY_BYTES`` under ``/staff``), and a request that
fails validation is told what is wrong, never shown its own input back (:func:`_invalid_request`).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zhengji import __version__
from zhengji.clock import now, shanghai_date
from zhengji.settings import Settings

TEMPLATES = Jinja2Templates(directory=Path(__file__).with_name("templates"))

# Anything that is not a page (JSON, text, errors) may load, run or embed nothing at all.
NOTHING_POLICY = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
PDF_POLICY = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
HSTS = "max-age=31536000"  # a year; no includeSubDomains: the other hosts of the domain are not this service's
STAFF_PREFIX = "/staff"


def page_policy(nonce: str) -> str:
    """A page may load this site's own files, its inline style only with this response's nonce, and no plugin;
    it posts forms only here and is framed by nobody."""
    return (
        f"default-src 'self'; style-src 'self' 'nonce-{nonce}'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    )


def security_headers(content_type: str, nonce: str) -> dict[str, str]:
    """The headers every response carries; the Content-Security-Policy depends on whether it is a page.

    A PDF (an applicant's original, which the staff page shows beside its fields) may load nothing either, and
    only this site's own pages may frame it.
    """
    pdf = content_type.startswith("application/pdf")
    policy = page_policy(nonce) if content_type.startswith("text/html") else PDF_POLICY if pdf else NOTHING_POLICY
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "SAMEORIGIN" if pdf else "DENY",  # frame-ancestors for browsers that predate CSP 2
        "Referrer-Policy": "same-origin",  # a reference number in a staff page's address stays on this site
        "Cross-Origin-Opener-Policy": "same-origin",
    }


class SecurityHeaders:
    """ASGI middleware that adds :func:`security_headers` to every response of the app, error pages included.

    Each request gets a fresh CSP nonce in ``request.state.csp_nonce`` for the page's ``<style nonce=…>``. Staff
    responses get ``Cache-Control: no-store`` here, after their route, so that no route can forget it; ``hsts``
    adds Strict-Transport-Security to every response.
    """

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})["csp_nonce"] = nonce
        path = str(scope.get("path", ""))
        private = path == STAFF_PREFIX or path.startswith(STAFF_PREFIX + "/")

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in security_headers(headers.get("content-type", ""), nonce).items():
                    headers[name] = value
                if private:
                    headers["Cache-Control"] = "no-store"
                if self.hsts:
                    headers["Strict-Transport-Security"] = HSTS
            await send(message)

        await self.app(scope, receive, send_secured)


TOO_LARGE = "请求内容过大，未予处理。"


class BodyTooLarge(StarletteHTTPException):
    """Raised from inside a route's body reading: an HTTPException, so that FastAPI passes it on as it is (any other
    error while reading a body becomes its 400) and the app's handlers answer it with 413."""

    def __init__(self) -> None:
        super().__init__(status_code=413, detail=TOO_LARGE)


class BodyLimit:
    """ASGI middleware that reads no request body beyond its limit, before any route parses it.

    A declared ``Content-Length`` over the limit is refused at once, unread; a body sent without one (chunked)
    is counted as it arrives and refused as soon as it passes the limit. The limit is ``staff`` under
    ``/staff`` (its forms and bulk actions; no staff route takes a file upload) and ``default`` everywhere
    else: the chat's and WeChat's messages are a few kilobytes, and no other public route takes a body.
    """

    def __init__(self, app: ASGIApp, *, default: int, staff: int) -> None:
        self.app = app
        self.default = default
        self.staff = staff

    def limit_for(self, path: str) -> int:
        return self.staff if path == STAFF_PREFIX or path.startswith(STAFF_PREFIX + "/") else self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(str(scope.get("path", "")))
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self._refuse(send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge()
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except BodyTooLarge:
            if started:
                raise
            await self._refuse(send)

    @staticmethod
    async def _refuse(send: Send) -> None:
        body = TOO_LARGE.encode("utf-8")
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode("ascii")),
                    (b"connection", b"close"),  # the rest of the body is never read
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    """The declared body length; an unreadable one counts as too large (no honest client sends it)."""
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 1 << 62
    return None


PROBLEMS = {
    "missing": "缺少此项",
    "string_too_long": "过长",
    "string_too_short": "过短或为空",
    "string_pattern_mismatch": "格式不符",
    "string_type": "应为文字",
    "json_invalid": "不是有效的 JSON",
    "model_attributes_type": "应为 JSON 对象",
    "dict_type": "应为 JSON 对象",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
}


async def _invalid_request(request: Request, error: Exception) -> Response:
    """The 422: which field is wrong and how, in Chinese, and never the value sent (a client's body echoed back
    can be megabytes, or a script another page gets this site to show)."""
    assert isinstance(error, RequestValidationError)
    problems = []
    for item in error.errors()[:10]:
        where = ".".join(str(part) for part in item.get("loc", ()) if part != "body") or "请求内容"
        problems.append({"field": where, "problem": PROBLEMS.get(str(item.get("type")), "不符合要求")})
    text = "请求内容有误：" + "；".join(f"{p['field']} {p['problem']}" for p in problems) + "。"
    return JSONResponse({"detail": text, "problems": problems}, status_code=422)


async def _server_error(request: Request, error: Exception) -> Response:
    """The 500 page. Starlette sends it from outside every middleware, so it carries its headers itself."""
    return PlainTextResponse(
        "服务器内部错误，请稍后再试。",
        status_code=500,
        headers=security_headers("text/plain", secrets.token_urlsafe(16)),
    )


def window_overview(moment: datetime) -> list[dict[str, Any]]:
    """Every track of every notice with its current and next window, as the public page shows them (a notice
    whose own period is over is shown as ended and replaced by its successor: :mod:`zhengji.web.overview`)."""
    from zhengji.web.overview import window_overview as overview

    return overview(moment)


def create_app(settings: Settings) -> FastAPI:
    app = FastAPI(
        title="zhengji 征集",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # no schema of the routes for a stranger to map (nor the docs pages that need it)
        exception_handlers={Exception: _server_error},
    )
    app.add_exception_handler(RequestValidationError, _invalid_request)
    # Innermost of the three: no body is read past its limit, and its 413 carries the security headers.
    app.add_middleware(BodyLimit, default=settings.web_max_body_bytes, staff=settings.staff_max_body_bytes)
    # Added last, so outermost: a request for an unknown host is refused with the security headers too.
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.trusted_hosts)
    app.add_middleware(SecurityHeaders, hsts=settings.behind_https)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.get("/api/windows")
    def api_windows() -> list[dict[str, Any]]:
        return window_overview(now(settings.now))

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request) -> HTMLResponse:
        moment = now(settings.now)
        return TEMPLATES.TemplateResponse(
            request,
            "index.html",
            {"rows": window_overview(moment), "today": shanghai_date(moment).isoformat()},
        )

    from zhengji.bot.channels.web import chat_router  # the web chat, and the WeChat callback when configured

    app.include_router(chat_router(settings))
    from zhengji.web.staff import mount as mount_staff

    mount_staff(app, settings)  # the staff review queue under /staff, its static files under /static
    _public_not_found(app)
    return app


# Paths whose answers are for programs (JSON, files), not for a person reading a page.
_NOT_PAGES = (STAFF_PREFIX, "/api/", "/chat/", "/channels/", "/static/", "/healthz")


def _public_not_found(app: FastAPI) -> None:
    """A mistyped public address answers a Chinese page, not ``{"detail":"Not Found"}``: an applicant who follows
    an old link reads where to go. The staff pages keep their own error pages and the APIs their JSON."""
    from starlette.exceptions import HTTPException

    previous = app.exception_handlers.get(HTTPException)

    async def not_found(request: Request, problem: Exception) -> Response:
        assert isinstance(problem, HTTPException)
        path = request.url.path
        if problem.status_code == 404 and request.method in {"GET", "HEAD"} and not path.startswith(_NOT_PAGES):
            return TEMPLATES.TemplateResponse(request, "not_found.html", {}, status_code=404)
        if previous is not None:
            answer = previous(request, problem)
            return await answer if isinstance(answer, Awaitable) else answer
        return PlainTextResponse(str(problem.detail), status_code=problem.status_code, headers=problem.headers)

    app.add_exception_handler(HTTPException, not_found)
