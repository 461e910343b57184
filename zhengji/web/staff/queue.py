"""The queue page, its JSON twin, saved filters, and acting on many submissions at once."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlmodel import Session, col, select

from zhengji.clock import real_now
from zhengji.review import queue as queues
from zhengji.review.decisions import DecisionError, assign, check_decision, decide, prepare
from zhengji.review.decisions import templates as reason_templates
from zhengji.review.index import duplicates, rebuild, sync
from zhengji.review.labels import CODE_LABELS, DECISION_LABELS, QUEUE_STATUSES, track_names
from zhengji.storage.models import QueueEntry, SavedFilter, StaffUser, Submission
from zhengji.web.staff.context import business_now, database, pipeline_of, templates
from zhengji.web.staff.guard import staff_of

router = APIRouter()
BULK_LIMIT = 200
DONE_MESSAGES = {
    "accept": "已通过 {n} 件申报，受理通知已发出。",
    "return": "已退回 {n} 件申报，退回修改意见已发出。",
    "reject": "已对 {n} 件申报作出不予受理决定，通知已发出。",
    "assign": "已分配 {n} 件申报。",
    "saved": "已保存筛选条件。",
    "deleted": "已删除筛选条件。",
}


def _query(request: Request) -> queues.QueueQuery:
    return queues.QueueQuery.from_params(dict(request.query_params), me=staff_of(request).staff_id)


def _reviewers(session: Session) -> list[StaffUser]:
    return list(
        session.exec(select(StaffUser).where(col(StaffUser.active).is_(True)).order_by(col(StaffUser.name))).all()
    )


def queue_context(request: Request, session: Session, query: queues.QueueQuery) -> dict[str, Any]:
    sync(session)
    total, entries = queues.page(session, query)
    counts = queues.counts(session, query)
    reviewers = _reviewers(session)
    staff = staff_of(request)
    saved = session.exec(
        select(SavedFilter).where(SavedFilter.staff_id == staff.staff_id).order_by(col(SavedFilter.name))
    ).all()
    pages = max(1, -(-total // query.per_page))
    done = request.query_params.get("done", "")
    return {
        "mailboxes": queues.mailbox_labels(),
        "marks": queues.MARK_LABELS,
        "duplicates": duplicates(session, [entry.submission_id for entry in entries]),
        "staff": staff,
        "csrf": staff.csrf,
        "query": query,
        "total": total,
        "entries": entries,
        "counts": counts,
        "all_count": sum(counts.values()),
        "statuses": [status.value for status in QUEUE_STATUSES],
        "tracks": track_names(),
        "codes": CODE_LABELS,
        "reviewers": reviewers,
        "reviewer_names": {user.id: user.name for user in reviewers},
        "windows": queues.windows_in_queue(session, query.track),
        "saved": saved,
        "pages": pages,
        "sorts": queues.SORT_LABELS,
        "reasons": [template for template in reason_templates(session, at=real_now()) if template.action == "return"],
        "message": DONE_MESSAGES.get(done, "").format(n=request.query_params.get("n", "")),
        "failures": request.query_params.getlist("failed"),
        "self_url": str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
    }


@router.get("/queue", response_class=HTMLResponse)
def queue_page(request: Request) -> Response:
    with database(request) as session:
        context = queue_context(request, session, _query(request))
    name = "staff/_queue_results.html" if request.headers.get("hx-request") else "staff/queue.html"
    return templates().TemplateResponse(request, name, context)


@router.get("/", include_in_schema=False)
def home() -> Response:
    return RedirectResponse("/staff/queue", status_code=303)


@router.get("/api/submissions")
def api_submissions(request: Request) -> Response:
    query = _query(request)
    with database(request) as session:
        sync(session)
        total, entries = queues.page(session, query)
        counts = queues.counts(session, query)
        shared = duplicates(session, [entry.submission_id for entry in entries])
        # The verdict and the decision apart (the contract), read from the page's own cases.
        apart = {
            row[0]: (str(row[1]), str(row[2]) if row[2] is not None else None, str(row[3]))
            for row in session.exec(
                select(Submission.id, Submission.verdict, Submission.decision, Submission.status).where(
                    col(Submission.id).in_([entry.submission_id for entry in entries])
                )
            ).all()
        }
    return JSONResponse(
        {
            "total": total,
            "page": query.page,
            "per_page": query.per_page,
            "counts": counts,
            "items": [
                {
                    "reference": entry.reference,
                    "track": entry.track,
                    # The status shown; the queue's own bucket of a case set aside is no status of the contract.
                    "status": apart.get(entry.submission_id, (None, None, entry.status))[2],
                    "verdict": apart.get(entry.submission_id, (None, None, None))[0],
                    "decision": apart.get(entry.submission_id, (None, None, None))[1],
                    "sender": entry.sender,
                    "received": entry.received_at.isoformat(),
                    "findings": entry.codes.split() if entry.codes else [],
                    "mailbox": entry.center,
                    "marks": _marks(entry, shared),
                }
                for entry in entries
            ],
        }
    )


def _marks(entry: QueueEntry, shared: dict[int, dict[str, list[str]]]) -> list[str]:
    """The queue's marks of a case (``duplicate``, ``new_mail``, ``not_submission``) for the JSON twin."""
    found = ["duplicate"] if entry.submission_id in shared else []
    found += ["new_mail"] if entry.mail_after_decision else []
    return found + (["not_submission"] if entry.not_submission else [])


FILTER_FIELDS = ("track", "status", "code", "q", "window", "reviewer", "mailbox", "mark", "sort")


@router.post("/filters")
async def save_filter(request: Request) -> Response:
    """Save the filter on screen under a name.

    The queue's filter form changes the list without reloading the page, so the filter is what its fields hold
    now: the page posts them beside the name (``hx-include``), and only without them (no script) does the
    query the page was loaded with (``query``) stand for it.
    """
    staff = staff_of(request)
    form = await request.form()
    name = str(form.get("name") or "").strip()[:60]
    shown = {key: str(form.get(key) or "") for key in FILTER_FIELDS if key in form}
    values = shown if shown else dict(_pairs(str(form.get("query") or "")))
    parsed = queues.QueueQuery.from_params(values, me=staff.staff_id)
    target = parsed.url()
    if not name:
        return _go(request, target)
    stored = target.removeprefix("/staff/queue").removeprefix("?")
    with database(request) as session:
        found = session.exec(
            select(SavedFilter).where(SavedFilter.staff_id == staff.staff_id, SavedFilter.name == name)
        ).first()
        found = found or SavedFilter(staff_id=staff.staff_id, name=name, query=stored, created_at=real_now())
        found.query = stored
        session.add(found)
        session.commit()
    joiner = "&" if "?" in target else "?"
    return _go(request, f"{target}{joiner}done=saved")


def _go(request: Request, target: str) -> Response:
    """A redirect; for a page script's request (htmx) the header that makes the browser load ``target``."""
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


@router.post("/filters/{filter_id}/delete")
def delete_filter(request: Request, filter_id: int) -> Response:
    staff = staff_of(request)
    with database(request) as session:
        found = session.get(SavedFilter, filter_id)
        if found is not None and found.staff_id == staff.staff_id:
            session.delete(found)
            session.commit()
    return RedirectResponse("/staff/queue?done=deleted", status_code=303)


def _pairs(query: str) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    return parse_qsl(query.removeprefix("?"), keep_blank_values=False)


def _back(target: str) -> str:
    return target if target.startswith("/staff/queue") else "/staff/queue"


@router.post("/bulk")
def bulk(
    request: Request,
    action: str = Form(""),
    references: list[str] = Form([]),
    reason: str = Form(""),
    template: str = Form(""),
    assignee: str = Form(""),
    confirm: str = Form(""),
    previewed: str = Form(""),
    back: str = Form("/staff/queue"),
) -> Response:
    """Act on the selected submissions: assign at once; accept, return or reject after the reviewer has read
    the mail (the first applicant's, as a sample) and confirmed."""
    staff = staff_of(request)
    chosen = list(dict.fromkeys(reference.strip() for reference in references if reference.strip()))[:BULK_LIMIT]
    back = _back(back)
    if confirm == "1" and action != "assign" and reason.strip() != previewed.strip():
        confirm = ""  # the reason changed after the preview: show the mail again before anything is sent
    if not chosen or action not in {"accept", "return", "reject", "assign"}:
        return RedirectResponse(back, status_code=303)
    pipeline = pipeline_of(request)
    with database(request) as session:
        submissions = [
            found
            for reference in chosen
            if (found := session.exec(select(Submission).where(Submission.reference == reference)).first())
        ]
        if action == "assign":
            reviewer = session.get(StaffUser, int(assignee)) if assignee.isdigit() else None
            for submission in submissions:
                assign(session, submission, reviewer, actor=staff.name, at=business_now(request))
            rebuild(session, [submission.id for submission in submissions if submission.id])
            session.commit()
            return RedirectResponse(_with(back, done="assign", n=str(len(submissions))), status_code=303)
        reasons = reason_templates(session, at=real_now())
        if not reason.strip() and template.isdigit():
            reason = next((item.body for item in reasons if item.id == int(template)), "")
        problems: dict[str, str] = {}
        for submission in submissions:
            try:
                check_decision(submission, action, reason)
            except DecisionError as problem:
                problems[submission.reference] = str(problem)
        sample = next((s for s in submissions if s.reference not in problems), None)
        preview = prepare(session, pipeline, sample, action, reason) if sample is not None else None
        if confirm != "1" or preview is None:
            asked = confirm == "1" or bool(reason.strip()) or action == "accept"
            return templates().TemplateResponse(
                request,
                "staff/bulk.html",
                {
                    "staff": staff,
                    "csrf": staff.csrf,
                    "action": action,
                    "action_label": DECISION_LABELS[action],
                    "submissions": submissions,
                    "entries": {
                        entry.submission_id: entry
                        for entry in session.exec(
                            select(QueueEntry).where(col(QueueEntry.submission_id).in_([s.id for s in submissions]))
                        )
                    },
                    "reason": reason,
                    "reasons": [item for item in reasons if item.action == action],
                    "preview": preview,
                    "sample": sample,
                    "problems": problems if asked else {},
                    "back": back,
                },
                status_code=400 if confirm == "1" else 200,
            )
    done: list[str] = []
    failed: list[str] = []
    for submission in submissions:
        with database(request) as session:
            current = session.get(Submission, submission.id)
            try:
                assert current is not None
                decide(session, pipeline, current, action, reason, actor=staff.name)
                rebuild(session, [current.id or 0])
                session.commit()
                done.append(current.reference)
            except DecisionError as problem:
                session.rollback()
                failed.append(f"{submission.reference}：{problem}")
    return RedirectResponse(_with(back, done=action, n=str(len(done)), failed=failed), status_code=303)


def _with(target: str, **values: str | list[str]) -> str:
    from urllib.parse import urlencode

    pairs: list[tuple[str, str]] = []
    for key, value in values.items():
        pairs.extend((key, item) for item in (value if isinstance(value, list) else [value]))
    joiner = "&" if "?" in target else "?"
    return f"{target}{joiner}{urlencode(pairs)}"
