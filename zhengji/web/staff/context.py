"""What the staff routes share: the settings, the database engine, the blob store, the reply queue, the templates."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from sqlalchemy.engine import Engine
from sqlmodel import Session

from zhengji.clock import SHANGHAI, Clock, now
from zhengji.mailbox.replies import Replies
from zhengji.review.fields import show
from zhengji.review.labels import action_label, code_label, status_label, track_label
from zhengji.settings import Settings
from zhengji.storage.blobs import BlobStore, blob_store
from zhengji.textsafe import clean_line

TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "templates"


def settings_of(request: Request) -> Settings:
    settings = request.app.state.staff_settings
    assert isinstance(settings, Settings)
    return settings


def clock_of(request: Request) -> Clock:
    """The service's clocks; the machine clock times sign-in lockouts and login forms (a test moves it)."""
    clock = getattr(request.app.state, "staff_clock", None)
    return clock if isinstance(clock, Clock) else Clock(settings_of(request).now)


def engine_of(request: Request) -> Engine:
    engine = request.app.state.staff_engine
    assert isinstance(engine, Engine)
    return engine


def blobs_of(request: Request) -> BlobStore:
    return blob_store(settings_of(request))


def pipeline_of(request: Request) -> Replies:
    """The reply queue a decision's mail is queued in (the pipeline's reply step, in ``serve``, sends it)."""
    return Replies(settings_of(request))


def business_now(request: Request) -> datetime:
    return now(settings_of(request).now)


def local_time(moment: datetime | None, *, seconds: bool = False) -> str:
    """An instant as Beijing time, the way a clerk writes it (2025-06-21 10:00)."""
    if moment is None:
        return ""
    local = moment.astimezone(SHANGHAI)
    return local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def _clean(value: Any, limit: int = 200) -> str:
    return clean_line(str(value) if value is not None else None, limit)


@cache
def templates() -> Jinja2Templates:
    found = Jinja2Templates(directory=TEMPLATE_DIR)
    environment = found.env
    environment.filters.update(
        {
            "status_label": status_label,
            "code_label": code_label,
            "track_label": track_label,
            "action_label": action_label,
            "local_time": local_time,
            "clean": _clean,
            "show": show,
        }
    )
    environment.trim_blocks = True
    environment.lstrip_blocks = True
    return found


def database(request: Request) -> Session:
    """A session whose objects stay readable after a commit, so that a page is rendered from what it loaded."""
    return Session(engine_of(request), expire_on_commit=False)
