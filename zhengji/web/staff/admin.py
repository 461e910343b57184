"""Reason templates (any reviewer edits them) and staff accounts (administrators only)."""

from __future__ import annotations

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import col, select

from zhengji.clock import real_now
from zhengji.review.decisions import templates as reason_templates
from zhengji.staff import StaffError, add_staff, change_password, set_active
from zhengji.storage.models import AuditEvent, DecisionTemplate, StaffUser
from zhengji.web.staff.context import database, templates
from zhengji.web.staff.guard import staff_of

router = APIRouter()


@router.get("/templates", response_class=HTMLResponse)
def reason_page(request: Request) -> Response:
    staff = staff_of(request)
    with database(request) as session:
        items = reason_templates(session, at=real_now())
    return templates().TemplateResponse(
        request,
        "staff/templates.html",
        {
            "staff": staff,
            "csrf": staff.csrf,
            "nav": "templates",
            "items": items,
            "saved": request.query_params.get("saved"),
        },
    )


@router.post("/templates")
def save_reason(
    request: Request,
    template_id: str = Form(""),
    action: str = Form("return"),
    title: str = Form(""),
    body: str = Form(""),
    delete: str = Form(""),
) -> Response:
    staff = staff_of(request)
    if action not in {"return", "reject"}:
        action = "return"
    with database(request) as session:
        found = session.get(DecisionTemplate, int(template_id)) if template_id.isdigit() else None
        if delete and found is not None:
            session.delete(found)
        elif title.strip() and body.strip():
            found = found or DecisionTemplate(action=action, title="", body="", updated_by="", updated_at=real_now())
            found.action, found.title, found.body = action, title.strip()[:80], body.strip()[:4000]
            found.updated_by, found.updated_at = staff.name, real_now()
            session.add(found)
        else:
            return RedirectResponse("/staff/templates?saved=empty", status_code=303)
        session.add(AuditEvent(at=real_now(), actor=staff.name, action="template", detail={"title": title.strip()}))
        session.commit()
    return RedirectResponse("/staff/templates?saved=1", status_code=303)


def _admin(request: Request) -> None:
    if not staff_of(request).is_admin:
        raise HTTPException(status_code=403, detail="只有管理员可以管理账号。")


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, error: str = "") -> Response:
    _admin(request)
    staff = staff_of(request)
    with database(request) as session:
        users = session.exec(select(StaffUser).order_by(col(StaffUser.name))).all()
    return templates().TemplateResponse(
        request,
        "staff/users.html",
        {
            "staff": staff,
            "csrf": staff.csrf,
            "nav": "users",
            "users": users,
            "error": error,
            "done": request.query_params.get("done", ""),
        },
        status_code=400 if error else 200,
    )


@router.post("/admin/users")
def add_user(request: Request, name: str = Form(""), password: str = Form(""), admin: str = Form("")) -> Response:
    _admin(request)
    with database(request) as session:
        try:
            add_staff(session, name, password, admin=bool(admin), at=real_now(), actor=staff_of(request).name)
        except StaffError as problem:
            return users_page(request, error=str(problem))
        session.commit()
    return RedirectResponse("/staff/admin/users?done=added", status_code=303)


@router.post("/admin/users/{user_id}")
def change_user(request: Request, user_id: int, password: str = Form(""), active: str = Form("")) -> Response:
    _admin(request)
    actor = staff_of(request).name
    with database(request) as session:
        user = session.get(StaffUser, user_id)
        if user is None:
            raise HTTPException(status_code=404, detail="没有该账号。")
        try:
            if password:
                change_password(session, user, password, at=real_now(), actor=actor)
            if active in {"0", "1"} and user.id != staff_of(request).staff_id:
                set_active(session, user, active == "1", at=real_now(), actor=actor)
        except StaffError as problem:
            return users_page(request, error=str(problem))
        session.commit()
    return RedirectResponse("/staff/admin/users?done=changed", status_code=303)
