"""The summary tables of a window for the office upstream, and the accepted originals.

A summary table is its 推荐单位's to stamp, so a window whose accepted cases come from several 推荐单位 has one
table each: ``GET /staff/exports/{track}.xlsx?window=…&recommender=NAME`` is one of them,
``GET /staff/exports/{track}.xlsx.zip?window=…`` (or ``.docx.zip``) all of them in a zip, and the contract's
``.xlsx`` without ``recommender`` answers the table where there is one 推荐单位 and ``409`` with the links to each
table and to the zip where there are several (never one table mixing several units' rows).
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from sqlalchemy import func
from sqlmodel import col, select
from starlette.background import BackgroundTask

from zhengji.review.exports import (
    TRACKS_WITH_TABLES,
    ExportError,
    SeveralRecommenders,
    originals_zip,
    recommenders,
    summary_table,
    summary_tables,
    tables_zip,
    to_docx,
    to_xlsx,
)
from zhengji.review.index import sync
from zhengji.review.labels import track_names
from zhengji.storage.models import QueueEntry
from zhengji.storage.status import SubmissionStatus
from zhengji.web.staff.context import blobs_of, database, templates
from zhengji.web.staff.guard import staff_of

router = APIRouter()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _attachment(name: str) -> str:
    fallback = "".join(char if char.isascii() and (char.isalnum() or char in "._-") else "_" for char in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"


@router.get("/exports", response_class=HTMLResponse)
def exports_page(request: Request) -> Response:
    staff = staff_of(request)
    with database(request) as session:
        sync(session)
        rows = session.exec(
            select(col(QueueEntry.track), col(QueueEntry.window_start), func.count())
            .where(QueueEntry.status == SubmissionStatus.accepted.value, col(QueueEntry.window_start).is_not(None))
            .group_by(col(QueueEntry.track), col(QueueEntry.window_start))
        ).all()
        windows = sorted(
            ((str(track), start, int(count)) for track, start, count in rows), key=lambda r: (r[1], r[0]), reverse=True
        )
        units = {
            (track, start): recommenders(session, track, start)
            for track, start, _ in windows
            if track in TRACKS_WITH_TABLES and start is not None
        }
    return templates().TemplateResponse(
        request,
        "staff/exports.html",
        {
            "staff": staff,
            "csrf": staff.csrf,
            "nav": "exports",
            "windows": windows,
            "units": units,
            "tables": TRACKS_WITH_TABLES,
            "tracks": track_names(),
        },
    )


@router.get("/exports/{filename}")
def export(request: Request, filename: str, window: str = "", recommender: str = "") -> Response:
    track, _, kind = filename.rpartition(".")
    if kind == "zip" and track.endswith((".xlsx", ".docx")):
        track, _, inner = track.rpartition(".")
        return _tables_zip(request, track, window, inner)
    try:
        start = date.fromisoformat(window)
    except ValueError:
        raise HTTPException(status_code=400, detail="请用 window=YYYY-MM-DD 指明受理期的第一天。") from None
    if kind not in {"xlsx", "docx", "zip"}:
        raise HTTPException(status_code=404, detail="只能导出 xlsx、docx 或 zip。")
    with database(request) as session:
        sync(session)
        if kind == "zip":
            with tempfile.NamedTemporaryFile(prefix="zhengji-export-", suffix=".zip", delete=False) as handle:
                originals_zip(session, blobs_of(request), track, start, handle)
            name = f"{track_names().get(track, track)}_已受理原件_{start.isoformat()}.zip"
            path = Path(handle.name)
            return FileResponse(
                path,
                media_type="application/zip",
                headers={"Content-Disposition": _attachment(name)},
                background=BackgroundTask(path.unlink, missing_ok=True),
            )
        try:
            table = summary_table(session, track, start, recommender.strip() or None)
        except SeveralRecommenders as several:
            staff = staff_of(request)
            return templates().TemplateResponse(
                request,
                "staff/exports.html",
                {
                    "staff": staff,
                    "csrf": staff.csrf,
                    "nav": "exports",
                    "choose": {"track": track, "start": start, "kind": kind, "names": several.names},
                    "windows": [],
                    "units": {},
                    "tables": TRACKS_WITH_TABLES,
                    "tracks": track_names(),
                },
                status_code=409,
            )
        except ExportError as problem:
            raise HTTPException(status_code=404, detail=str(problem)) from None
    data, media = (to_xlsx(table), XLSX) if kind == "xlsx" else (to_docx(table), DOCX)
    return Response(data, media_type=media, headers={"Content-Disposition": _attachment(f"{table.file_stem}.{kind}")})


def _tables_zip(request: Request, track: str, window: str, kind: str) -> Response:
    """Every 推荐单位's summary table of the window, one file each, in one zip."""
    try:
        start = date.fromisoformat(window)
    except ValueError:
        raise HTTPException(status_code=400, detail="请用 window=YYYY-MM-DD 指明受理期的第一天。") from None
    with database(request) as session:
        sync(session)
        try:
            tables = summary_tables(session, track, start)
        except ExportError as problem:
            raise HTTPException(status_code=404, detail=str(problem)) from None
    name = f"{tables[0].title}（{start.isoformat()}）_按推荐单位_{'Excel' if kind == 'xlsx' else 'Word'}.zip"
    return Response(
        tables_zip(tables, kind), media_type="application/zip", headers={"Content-Disposition": _attachment(name)}
    )
