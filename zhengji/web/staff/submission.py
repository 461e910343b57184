"""One submission: its page, its original files, and what a reviewer does on it (correct, decide, note, assign,
let it in late). Every action ends in a redirect to the page (or, with "save and next", to the next case of the
queue the reviewer came from), so that a reload never repeats it."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, col, select

from zhengji.clock import real_now, shanghai_date
from zhengji.review import queue as queues
from zhengji.review.corrections import CorrectionError, correct
from zhengji.review.decisions import ACTIONS, DecisionError, announce_late, assign, decide, note, prepare
from zhengji.review.decisions import templates as reason_templates
from zhengji.review.index import rebuild, sync
from zhengji.review.labels import DECISION_LABELS, decision_label, track_names, verdict_label
from zhengji.review.late import LateError, exceptions_of, grant
from zhengji.review.originals import OriginalMissing, content_type, document_bytes
from zhengji.review.recheck import load_case, recheck
from zhengji.review.triage import TriageError, answer, restore, set_aside, set_track
from zhengji.review.versions import versions
from zhengji.storage.models import Assignment, Document, QueueEntry, StaffUser, Submission
from zhengji.storage.status import decidable
from zhengji.textsafe import clean_line
from zhengji.web.staff.context import blobs_of, business_now, database, pipeline_of, templates
from zhengji.web.staff.formview import form_views, pdf_pages, twin_mismatch
from zhengji.web.staff.guard import staff_of
from zhengji.web.staff.history import thread, trail
from zhengji.web.staff.layout import document_view

router = APIRouter()
NOTICES = {
    "corrected": "已保存更正，并已重新核验。",
    "decided": "已记录审核决定，邮件已排队发送。",
    "noted": "已添加备注。",
    "assigned": "已更新审核人。",
    "late": "已准许逾期提交，并已重新核验；通知邮件已排队发送给申报人。",
    "rechecked": "已重新核验。",
    "track_set": "已设定征集事项，并已按该事项重新核验。",
    "set_aside": "已标为非申报来信，移出待办。",
    "restored": "已重新列入待办。",
    "answered": "答复邮件已排队发送。",
}


def _submission(session: Session, reference: str) -> Submission:
    found = session.exec(select(Submission).where(Submission.reference == reference)).first()
    if found is None:
        raise HTTPException(status_code=404, detail="没有该受理编号的申报。")
    return found


def _back(back: str) -> str:
    return back if back.startswith("/staff/queue") else "/staff/queue"


def _page_url(reference: str, back: str, **extra: str) -> str:
    values = {"back": back} if back != "/staff/queue" else {}
    values.update({key: value for key, value in extra.items() if value})
    encoded = urlencode(values)
    return f"/staff/submissions/{quote(reference)}" + (f"?{encoded}" if encoded else "")


def _queue_of(back: str, me: int) -> queues.QueueQuery:
    return queues.QueueQuery.from_params(dict(parse_qsl(urlsplit(back).query)), me=me)


def _after(
    request: Request, session: Session, submission: Submission, back: str, then: str, done: str, anchor: str = ""
) -> Response:
    """Where an action leads: the same page, or with "save and next" the next case of the reviewer's queue."""
    if then == "next":
        assert submission.id is not None
        following = queues.neighbour(session, _queue_of(back, staff_of(request).staff_id), submission.id)
        if following is not None:
            return RedirectResponse(_page_url(following, back, done=done), status_code=303)
        return RedirectResponse(back, status_code=303)
    fragment = f"#{anchor}" if anchor else ""
    return RedirectResponse(_page_url(submission.reference, back, done=done) + fragment, status_code=303)


def _context(request: Request, session: Session, submission: Submission, **extra: Any) -> dict[str, Any]:
    staff = staff_of(request)
    assert submission.id is not None
    sync(session)
    case = load_case(session, submission)
    back = _back(request.query_params.get("back", "/staff/queue"))
    documents = [document_view(reviewed) for reviewed in case.documents]
    forms = form_views(case, pdf_pages(session, blobs_of(request)))  # each form once, its PDF beside it
    assignment = session.get(Assignment, submission.id)
    reviewers = session.exec(select(StaffUser).where(col(StaffUser.active).is_(True)).order_by(col(StaffUser.name)))
    entry = session.get(QueueEntry, submission.id)
    following = queues.neighbour(session, _queue_of(back, staff.staff_id), submission.id)
    today = shanghai_date(business_now(request))
    return {
        "staff": staff,
        "csrf": staff.csrf,
        "submission": submission,
        "entry": entry,
        "case": case,
        "documents": documents,
        "pdfs": [view for view in documents if view.is_pdf],
        "forms": forms,
        "case_findings": [finding for finding in case.findings if not twin_mismatch(finding, forms)],
        "thread": thread(session, submission.id, blobs_of(request)),
        "trail": trail(session, submission.id),
        "versions": versions(session, submission.id),
        "assignee": session.get(StaffUser, assignment.staff_id) if assignment else None,
        "reviewers": list(reviewers),
        "reasons": reason_templates(session, at=real_now()),
        "actions": DECISION_LABELS,
        "decidable": decidable(submission),
        # Shown apart, so that a reviewer sees what the machine says beside what a person decided.
        "verdict_text": verdict_label(str(submission.verdict)),
        "decision_text": decision_label(str(submission.decision) if submission.decision else None),
        # The decision form preselects nothing; after an error it keeps what the reviewer chose and typed.
        "chosen_action": request.query_params.get("decide", ""),
        "chosen_reason": "",
        "late": exceptions_of(session, submission),
        # Mail that is not a submission (issue 15): the clerk's three paths, while no decision stands.
        "triage": submission.decision is None
        and (submission.track == "unknown" or bool(entry and entry.not_submission)),
        "track_options": track_names(),
        "answer_text": "",
        "late_default": (today + timedelta(days=7)).isoformat(),
        "back": back,
        "next_reference": following,
        "notice": NOTICES.get(request.query_params.get("done", ""), ""),
        "sender": clean_line(
            f"{submission.sender_name} <{submission.sender}>" if submission.sender_name else submission.sender, 300
        ),
        **extra,
    }


@router.get("/submissions/{reference}", response_class=HTMLResponse)
def submission_page(request: Request, reference: str) -> Response:
    with database(request) as session:
        submission = _submission(session, reference)
        context = _context(request, session, submission)
    return templates().TemplateResponse(request, "staff/submission.html", context)


def _error_page(request: Request, session: Session, submission: Submission, error: str, **kept: str) -> Response:
    """The page again with the error in Chinese and, for a decision, the action and reason the reviewer gave."""
    context = _context(request, session, submission, error=error, **kept)
    return templates().TemplateResponse(request, "staff/submission.html", context, status_code=400)


@router.post("/submissions/{reference}/corrections")
def correction(
    request: Request,
    reference: str,
    document_id: int = Form(...),
    path: str = Form(...),
    value: str = Form(""),
    back: str = Form("/staff/queue"),
    then: str = Form(""),
) -> Response:
    staff = staff_of(request)
    with database(request) as session:
        submission = _submission(session, reference)
        try:
            correct(
                session,
                submission,
                document_id,
                path,
                value,
                actor=staff.name,
                at=business_now(request),
                blobs=blobs_of(request),
            )
        except CorrectionError as problem:
            session.rollback()
            return _error_page(request, session, _submission(session, reference), str(problem))
        rebuild(session, [submission.id or 0])
        session.commit()
        return _after(request, session, submission, _back(back), then, "corrected", f"doc-{document_id}")


@router.post("/submissions/{reference}/decision/preview", response_class=HTMLResponse)
def decision_preview(
    request: Request,
    reference: str,
    action: str = Form(""),
    reason: str = Form(""),
    template: str = Form(""),
    back: str = Form("/staff/queue"),
) -> Response:
    """The mail the decision will send, for the reviewer to read before confirming."""
    staff = staff_of(request)
    with database(request) as session:
        submission = _submission(session, reference)
        if not reason.strip() and template.isdigit():
            reason = next((t.body for t in reason_templates(session, at=real_now()) if t.id == int(template)), "")
        try:
            prepared = prepare(session, pipeline_of(request), submission, action, reason)
        except DecisionError as problem:
            return _error_page(request, session, submission, str(problem), chosen_action=action, chosen_reason=reason)
        return templates().TemplateResponse(
            request,
            "staff/decision.html",
            {
                "staff": staff,
                "csrf": staff.csrf,
                "submission": submission,
                "prepared": prepared,
                "action_label": DECISION_LABELS[action],
                "back": _back(back),
            },
        )


@router.post("/submissions/{reference}/decision")
def decision(
    request: Request,
    reference: str,
    action: str = Form(""),
    reason: str = Form(""),
    back: str = Form("/staff/queue"),
    then: str = Form(""),
) -> Response:
    """The contract's decision: record it and send its mail at once (through the pipeline's reply step)."""
    staff = staff_of(request)
    with database(request) as session:
        submission = _submission(session, reference)
        if action not in ACTIONS:
            return _error_page(
                request, session, submission, "请选择审核决定：通过、退回修改或不予受理。", chosen_reason=reason
            )
        try:
            decide(session, pipeline_of(request), submission, action, reason, actor=staff.name)
        except DecisionError as problem:
            session.rollback()
            return _error_page(
                request, session, _submission(session, reference), str(problem), chosen_action=action,
                chosen_reason=reason,
            )  # fmt: skip
        rebuild(session, [submission.id or 0])
        session.commit()
        return _after(request, session, submission, _back(back), then, "decided")


@router.post("/submissions/{reference}/note")
def add_note(request: Request, reference: str, text: str = Form(""), back: str = Form("/staff/queue")) -> Response:
    staff = staff_of(request)
    with database(request) as session:
        submission = _submission(session, reference)
        try:
            note(session, submission, text, actor=staff.name, at=business_now(request))
        except DecisionError as problem:
            return _error_page(request, session, submission, str(problem))
        session.commit()
        return RedirectResponse(_page_url(reference, _back(back), done="noted"), status_code=303)


@router.post("/submissions/{reference}/assign")
def assign_to(request: Request, reference: str, assignee: str = Form(""), back: str = Form("/staff/queue")) -> Response:
    staff = staff_of(request)
    with database(request) as session:
        submission = _submission(session, reference)
        reviewer = session.get(StaffUser, int(assignee)) if assignee.isdigit() else None
        assign(session, submission, reviewer, actor=staff.name, at=business_now(request))
        rebuild(session, [submission.id or 0])
        session.commit()
    return RedirectResponse(_page_url(reference, _back(back), done="assigned"), status_code=303)


@router.post("/submissions/{reference}/late")
def late(
    request: Request,
    reference: str,
    until: str = Form(""),
    reason: str = Form(""),
    back: str = Form("/staff/queue"),
) -> Response:
    """Let the sender submit after the window; the case is checked again at once."""
    staff = staff_of(request)
    with database(request) as session:
        submission = _submission(session, reference)
        try:
            day = date.fromisoformat(until.strip())
        except ValueError:
            return _error_page(request, session, submission, "请按“年-月-日”填写截止日期，例如 2025-07-10。")
        moment = business_now(request)
        try:
            grant(session, submission, until=day, reason=reason, actor=staff.name, at=moment)
            session.flush()
            recheck(
                session,
                submission,
                actor=staff.name,
                at=moment,
                blobs=blobs_of(request),
                reason="准许逾期提交后重新核验",
            )
            announce_late(session, pipeline_of(request), submission, until=day, actor=staff.name, at=moment)
        except (LateError, DecisionError) as problem:
            session.rollback()
            return _error_page(request, session, _submission(session, reference), str(problem))
        rebuild(session, [submission.id or 0])
        session.commit()
    return RedirectResponse(_page_url(reference, _back(back), done="late"), status_code=303)


@router.get("/submissions/{reference}/files/{document_id}")
def original_file(request: Request, reference: str, document_id: int, download: int = 0) -> Response:
    """An original file, as the applicant sent it. Only what the bytes prove to be a PDF is shown in the
    browser; anything else is a download whatever its name says, so an HTML page named ``x.pdf`` is never
    rendered as a page of this site."""
    with database(request) as session:
        submission = _submission(session, reference)
        document = session.get(Document, document_id)
        if document is None or document.submission_id != submission.id:
            raise HTTPException(status_code=404, detail="没有该文件。")
        try:
            data = document_bytes(session, document, blobs_of(request))
        except OriginalMissing:
            raise HTTPException(status_code=404, detail="原始文件缺失。") from None
    kind = content_type(document.format, data)
    inline = kind == "application/pdf" and not download
    name = clean_line(document.filename.replace("\\", "/").split("/")[-1].split(" › ")[-1], 150) or "file"
    ascii_name = "".join(char if (char.isascii() and char.isalnum()) or char in "._-" else "_" for char in name)
    disposition = f"{'inline' if inline else 'attachment'}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    return Response(
        data,
        media_type=kind,
        headers={
            "Content-Disposition": disposition,
            "Cache-Control": "private, no-store",
            "X-Download-Options": "noopen",
        },
    )


def _triaged(request: Request, reference: str, back: str, act: Any, done: str, **kept: str) -> Response:
    """Run one of the clerk's actions on mail that is not a submission; the page again with the error, if any."""
    with database(request) as session:
        submission = _submission(session, reference)
        try:
            act(session, submission)
        except (TriageError, DecisionError) as problem:
            session.rollback()
            return _error_page(request, session, _submission(session, reference), str(problem), **kept)
        rebuild(session, [submission.id or 0])
        session.commit()
    return RedirectResponse(_page_url(reference, _back(back), done=done), status_code=303)


@router.post("/submissions/{reference}/track")
def choose_track(request: Request, reference: str, track: str = Form(""), back: str = Form("/staff/queue")) -> Response:
    """Set the track of a mail the checks could not place, and judge it again under that track."""
    staff = staff_of(request)
    moment = business_now(request)
    return _triaged(
        request,
        reference,
        back,
        lambda session, submission: set_track(
            session, submission, track, actor=staff.name, at=moment, blobs=blobs_of(request)
        ),
        "track_set",
    )


@router.post("/submissions/{reference}/not-submission")
def not_submission(
    request: Request, reference: str, reason: str = Form(""), undo: str = Form(""), back: str = Form("/staff/queue")
) -> Response:
    """Mark the mail as not a submission (it leaves the open work), or, with ``undo``, put it back."""
    staff = staff_of(request)
    moment = business_now(request)
    if undo:
        return _triaged(
            request, reference, back,
            lambda session, submission: restore(session, submission, actor=staff.name, at=moment), "restored",
        )  # fmt: skip
    return _triaged(
        request,
        reference,
        back,
        lambda session, submission: set_aside(session, submission, reason, actor=staff.name, at=moment),
        "set_aside",
        set_aside_reason=reason,
    )


@router.post("/submissions/{reference}/answer")
def answer_mail(request: Request, reference: str, text: str = Form(""), back: str = Form("/staff/queue")) -> Response:
    """Answer the mail in the center's voice, threaded, through the reply path decisions use."""
    staff = staff_of(request)
    return _triaged(
        request,
        reference,
        back,
        lambda session, submission: answer(session, pipeline_of(request), submission, text, actor=staff.name),
        "answered",
        answer_text=text,
    )
