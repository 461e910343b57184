"""The staff review queue under ``/staff``: sign-in, the queue, one submission, decisions, exports, dashboard.

:func:`mount` adds it to the app. Every route of the staff router runs behind :func:`guard.guard` (sign-in;
for a POST, its origin and CSRF token), so no route can be added that skips them.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import HTTPException as FastAPIHTTPException
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from zhengji.clock import Clock
from zhengji.settings import Settings
from zhengji.storage.db import make_engine
from zhengji.web.staff import admin, auth, dashboard, exports, queue, submission
from zhengji.web.staff.context import templates
from zhengji.web.staff.guard import API_PREFIX, Forbidden, LoginRequired, guard, login_url

STATIC = Path(__file__).resolve().parents[1] / "static"
_TITLES = {400: "请求有误", 403: "无权访问", 404: "未找到", 405: "不支持的请求", 429: "请求过于频繁"}


MODULES = (auth, queue, submission, exports, dashboard, admin)
PREFIX = "/staff"


def _router() -> APIRouter:
    router = APIRouter(prefix=PREFIX, dependencies=[Depends(guard)], include_in_schema=False)
    for module in MODULES:
        router.include_router(module.router)
    return router


def staff_routes() -> list[tuple[str, str]]:
    """(method, path) of every staff route, for the tests that knock on each door."""
    found = []
    for module in MODULES:
        for route in module.router.routes:
            for method in sorted(getattr(route, "methods", set()) - {"HEAD"}):
                found.append((method, PREFIX + str(getattr(route, "path", ""))))
    return found


def _error(request: Request, status: int, message: str) -> Response:
    if request.url.path.startswith(API_PREFIX):
        return JSONResponse({"detail": message}, status_code=status)
    staff = getattr(request.state, "staff", None)
    return templates().TemplateResponse(
        request,
        "staff/error.html",
        {
            "staff": staff,
            "csrf": staff.csrf if staff else "",
            "title": _TITLES.get(status, "出错了"),
            "message": message,
        },
        status_code=status,
    )


async def _login_required(request: Request, problem: Exception) -> Response:
    assert isinstance(problem, LoginRequired)
    if problem.api:
        return JSONResponse({"detail": "请先登录。"}, status_code=401, headers={"WWW-Authenticate": "Session"})
    return RedirectResponse(login_url(problem.target), status_code=303)


async def _forbidden(request: Request, problem: Exception) -> Response:
    return _error(request, 403, str(problem))


async def _http_error(request: Request, problem: Exception) -> Response:
    assert isinstance(problem, HTTPException)
    if not request.url.path.startswith("/staff"):
        return JSONResponse({"detail": problem.detail}, status_code=problem.status_code, headers=problem.headers)
    detail = problem.detail if isinstance(problem.detail, str) and not problem.detail.isascii() else "页面不存在。"
    if problem.status_code == 405:
        detail = "不支持该请求方式。"
    return _error(request, problem.status_code, detail)


def mount(app: FastAPI, settings: Settings) -> None:
    """Add the staff queue, its static files and its error pages to ``app``."""
    app.state.staff_settings = settings
    app.state.staff_clock = Clock(settings.now)
    app.state.staff_engine = make_engine(settings.resolved_database_url)
    app.include_router(_router())
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(Forbidden, _forbidden)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(FastAPIHTTPException, _http_error)
