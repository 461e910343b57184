"""The FastAPI application served by ``zhengji serve`` on ``ZHENGJI_WEB_LISTEN``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from zhengji import __version__
from zhengji.clock import now, shanghai_date
from zhengji.notices.calendar import position
from zhengji.notices.registry import load_registry
from zhengji.settings import Settings

TEMPLATES = Jinja2Templates(directory=Path(__file__).with_name("templates"))


def window_overview(moment: datetime) -> list[dict[str, Any]]:
    """Every track of every notice with its current and next window, as the public page shows them."""
    registry = load_registry()
    rows = []
    for notice in registry.notices:
        for rule in notice.tracks:
            pos = position(rule.id, moment, registry)
            rows.append(
                {
                    "notice": notice.number,
                    "notice_title": notice.title,
                    "track": rule.id.value,
                    "name": rule.name,
                    "mailbox": rule.mailbox,
                    "in_window": pos.in_window,
                    "window": pos.window.as_json() if pos.window else None,
                    "next_window": pos.next_window.as_json() if pos.next_window else None,
                    "days_left": pos.days_left(),
                }
            )
    return rows


def create_app(settings: Settings) -> FastAPI:
    app = FastAPI(title="zhengji 征集", version=__version__, docs_url=None, redoc_url=None)

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

    return app
