"""Mail that is not a submission (a question, a cover letter alone): what a clerk does with it.

The pipeline files such a mail as a case of track and verdict ``unknown`` (待人工确认). A clerk who has read it
takes one of three paths:

- **set the track** (:func:`set_track`): the mail was a submission after all (a cover letter whose forms the
  checks could not place); the case is judged again under that track, as the pipeline would have judged it
  (:func:`zhengji.review.recheck.recheck`), and is then an ordinary case;
- **mark it as not a submission** (:func:`set_aside`): a question or a courtesy mail. Nobody decides on it, so it
  is not a decision (``accepted``, ``returned``, ``declined`` are a reviewer's word on a submission); its verdict
  stays ``unknown``, which is what the machine said and what the contract's statuses offer, and an audit event
  ``not_submission`` with the clerk's reason marks it. The queue index reads that mark
  (:func:`zhengji.review.index.refresh`) and takes the case out of the open work; a later verdict (the sender's
  forms arrive, a clerk sets the track) or :func:`restore` puts it back;
- **answer it** (:func:`answer`): a free-text reply in the voice of the center whose mailbox received it,
  threaded under the mail and sent through the same reply path as a decision's mail
  (:func:`zhengji.mailbox.replies.queue_reply`), audited as ``staff_answer``.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from zhengji.mailbox.compose import ComposedReply, reply_subject
from zhengji.mailbox.envelope import stored_envelope
from zhengji.mailbox.replies import ReplyDesk
from zhengji.notices.registry import Track, load_registry
from zhengji.parsers.tracks import governing_notice
from zhengji.review.decisions import (
    REASON_LIMIT,
    DecisionError,
    _busy,
    _indented,
    _latest_message,
    _queue,
    letter,
)
from zhengji.review.index import NOT_SUBMISSION
from zhengji.review.labels import track_names
from zhengji.review.recheck import Case, latest_message, recheck
from zhengji.storage.blobs import BlobStore
from zhengji.storage.models import AuditEvent, Message, ReplyState, Submission

RESTORED = "not_submission_cleared"


class TriageError(ValueError):
    """The clerk's action cannot be taken as asked; ``str()`` is a sentence for the clerk."""


def _undecided(submission: Submission) -> None:
    if submission.decision is not None:
        raise TriageError("该申报已有审核决定，不能再作此项处理。")


def set_track(
    session: Session, submission: Submission, track: str, *, actor: str, at: datetime, blobs: BlobStore | None
) -> Case:
    """Put the case under ``track`` and judge it again under it, in the caller's transaction (audited
    ``track_set``, then the re-check's ``recheck``)."""
    _undecided(submission)
    if track not in Track.__members__:
        raise TriageError("请选择征集事项。")
    if latest_message(session, submission.id or 0) is None:
        raise TriageError("该申报没有可核验的邮件。")
    message = latest_message(session, submission.id or 0)
    assert message is not None
    before = submission.track
    submission.track = track
    submission.notice = governing_notice(Track(track), message.received_at, load_registry()).number
    session.add(submission)
    session.add(
        AuditEvent(
            at=at,
            actor=actor,
            action="track_set",
            submission_id=submission.id,
            detail={"from": before, "to": track, "label": track_names().get(track, track)},
        )
    )
    case = recheck(session, submission, actor=actor, at=at, blobs=blobs, reason="设定征集事项后重新核验", track=track)
    return case


def set_aside(session: Session, submission: Submission, reason: str, *, actor: str, at: datetime) -> None:
    """Mark the case as not a submission, with the clerk's reason (audited ``not_submission``); its verdict stays."""
    _undecided(submission)
    if str(submission.verdict) != "unknown":
        raise TriageError("只有系统未能确定征集事项的邮件可标为非申报来信。")
    reason = reason.strip()
    if not reason:
        raise TriageError("请填写理由，例如“咨询来信，已答复”。")
    if len(reason) > REASON_LIMIT:
        raise TriageError(f"理由不能超过 {REASON_LIMIT} 字。")
    session.add(
        AuditEvent(at=at, actor=actor, action=NOT_SUBMISSION, submission_id=submission.id, detail={"reason": reason})
    )


def restore(session: Session, submission: Submission, *, actor: str, at: datetime) -> None:
    """Undo :func:`set_aside`: the case is open work again (audited)."""
    session.add(AuditEvent(at=at, actor=actor, action=RESTORED, submission_id=submission.id, detail={}))


def compose_answer(submission: Submission, message: Message, text: str, *, today: datetime) -> ComposedReply:
    """A clerk's answer in the voice of the center whose mailbox received the mail, as a decision's mail is."""
    body = letter(
        "answer.txt.j2", submission, message, today=today, about="来信", greeting="您好", text=_indented(text)
    )
    return ComposedReply(f"{reply_subject(submission.subject, submission.reference)}（答复）", body)


def answer(session: Session, pipeline: ReplyDesk, submission: Submission, text: str, *, actor: str) -> ReplyState:
    """Mail the clerk's answer, threaded under the case's latest mail, in the caller's transaction (audited
    ``staff_answer`` with the text); the reply step sends it at once."""
    text = text.strip()
    if not text:
        raise TriageError("请填写答复内容。")
    if len(text) > REASON_LIMIT:
        raise TriageError(f"答复内容不能超过 {REASON_LIMIT} 字。")
    try:
        message = _latest_message(session, submission, lock=True)
    except DecisionError as problem:
        raise TriageError(str(problem)) from None
    if _busy(message):
        raise TriageError("该邮件正在处理中，请稍候片刻再答复。")
    envelope = stored_envelope(message, pipeline.blobs)
    to_address = envelope.reply_to
    at = pipeline.now()
    composed = compose_answer(submission, message, text, today=at)
    try:
        reply = _queue(session, pipeline, submission, message, composed, to_address, envelope, actor=actor, at=at)
    except DecisionError as problem:
        raise TriageError(str(problem)) from None
    session.add(
        AuditEvent(
            at=at,
            actor=actor,
            action="staff_answer",
            submission_id=submission.id,
            message_id=message.id,
            detail={"text": text, "subject": composed.subject, "to_address": to_address, "mail": reply.state.value},
        )
    )
    return reply.state
