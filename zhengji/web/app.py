"""The FastAPI application served by ``zhengji serve`` on ``ZHENGJI_WEB_LISTEN``.

The app is the public face of an office, and staff pages will sit beside the public one, so every response it
makes carries the browser protections a security review expects: no MIME sniffing, no framing (clickjacking),
no Referer to other sites, and a Content-Security-Policy that lets a page load nothing but this site's own
files (its inline style only with the nonce of that response). It answers only to its trusted host names
(``ZHENGJI_WEB_TRUSTED_HOSTS``) and publishes no API schema or documentation pages.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import MutableHeaders
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zhengji import __version__
from zhengji.clock import now, shanghai_date
from zhengji.settings import Settings

TEMPLATES = Jinja2Templates(directory=Path(__file__).with_name("templates"))

# Anything that is not a page (JSON, text, errors) may load, run or embed nothing at all.
NOTHING_POLICY = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
PDF_POLICY = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"


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

    Each request gets a fresh CSP nonce in ``request.state.csp_nonce`` for the page's ``<style nonce=…>``.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})["csp_nonce"] = nonce

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in security_headers(headers.get("content-type", ""), nonce).items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_secured)


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
    # Added last, so outermost: a request for an unknown host is refused with the security headers too.
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.trusted_hosts)
    app.add_middleware(SecurityHeaders)

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
    return app
