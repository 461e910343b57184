"""Status notices for linked chats, read from the audit log after a stored cursor (the outbox pattern).

Every verdict and every decision is written by ``storage.status.record_verdict`` / ``record_decision`` as an
``AuditEvent`` in the same transaction as the change itself, so the log is the one place where no change can be
missed. A chat is told of a reviewer's decision (with the reviewer's reason for 退回修改 and 不予受理), of each new
version checked, and of a re-check that changed the status shown; never of a step it cannot see. The notifier:

1. reads the events after its cursor (``chat_cursors``), and for each status change writes one ``ChatPush`` per
   linked chat, moving the cursor in the same transaction with a compare-and-set (two notifiers on one
   database never write a notice twice: the loser's transaction is rolled back);
2. delivers the pending pushes of the channels that can write unprompted (Telegram), each marked sent in its
   own commit, retried with growing waits, given up for good when the channel refuses the chat;
3. leaves the notices of the channels that cannot (the web chat, WeChat's passive replies, the command line)
   for the chat's next message (:meth:`zhengji.bot.links.Desk.collect_notices`), and lets the notices nobody
   delivers expire after :data:`KEEP_PULLED`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from zhengji.bot.answers.windows import track_name
from zhengji.clock import Clock
from zhengji.notices.registry import Track
from zhengji.storage.models import AuditEvent, ChatCursor, ChatLink, ChatPush, ChatPushState, Submission
from zhengji.storage.status import SubmissionStatus, move_pushes
from zhengji.textsafe import clean_line

log = logging.getLogger(__name__)

CURSOR = "chat_pushes"
BATCH = 500
MAX_ATTEMPTS = 10
MAX_WAIT = timedelta(hours=1)
KEEP_PULLED = timedelta(days=7)
POLL_SECONDS = 1.0


class Undeliverable(Exception):
    """The channel refused the chat for good (the user blocked the bot, the chat is gone)."""


Sender = Callable[[str, str], Awaitable[None]]


# Audit actions that may change what a chat sees: the pipeline's verdict on a new version, a reviewer's decision,
# a re-check or a reprocess (told only when the status shown changed), and "status", the single action before 0008.
NOTIFIED = ("verdict", "decision", "recheck", "reprocess", "resubmitted", "status")


def _shown(event: AuditEvent) -> str | None:
    """The status shown after the event, or None when the chat is not to be told of it."""
    detail = event.detail
    if event.action == "status":  # written before verdicts and decisions were kept apart
        return None if detail.get("to") == "in_review" else str(detail.get("to"))
    if "shown" not in detail:
        return None
    if event.action in {"verdict", "decision"}:
        return str(detail["shown"])
    return str(detail["shown"]) if detail.get("shown") != detail.get("shown_from") else None


def notice_text(event: AuditEvent, submission: Submission) -> str:
    """One status change as the chat reads it; a reviewer's 退回修改 or 不予受理 with the reviewer's reason."""
    new = SubmissionStatus(_shown(event) or str(submission.status))
    name = track_name(Track(submission.track)) if submission.track in Track.__members__ else "申报材料"
    text = f"【进度通知】申报编号 {submission.reference}（{name}）："
    version = event.detail.get("version")
    if event.actor == "pipeline" and isinstance(version, int) and version > 1:
        text += f"已收到第 {version} 版材料并完成检查，"
    text += f"当前状态为“{new.label}”。"
    reason = clean_line(str(event.detail.get("reason") or ""), 300)
    told = event.action in {"decision", "status"}  # the reason is the reviewer's, kept on the decision's event
    if reason and told and new in {SubmissionStatus.returned, SubmissionStatus.declined}:
        text += f"审核意见：{reason}。" if not reason.endswith(("。", "！", "？")) else f"审核意见：{reason}"
    return text + "发送“进度”可查看详情。"


def _cursor(session: Session, now: datetime) -> ChatCursor:
    cursor = session.get(ChatCursor, CURSOR)
    if cursor is None:
        # A new notifier starts from now: chats linked later must not be told of old changes.
        last = session.exec(select(func.max(AuditEvent.id))).one() or 0
        cursor = ChatCursor(name=CURSOR, last_event_id=last, updated_at=now)
        session.add(cursor)
        session.commit()
    return cursor


def collect(engine: Engine, clock: Clock) -> int:
    """Turn the status events after the cursor into pushes; returns how many pushes were written."""
    now = clock.machine()
    with Session(engine) as session:
        cursor = _cursor(session, now)
        start = cursor.last_event_id
        events = session.exec(
            select(AuditEvent).where(col(AuditEvent.id) > start).order_by(col(AuditEvent.id)).limit(BATCH)
        ).all()
        if not events:
            return 0
        written = 0
        for event in events:
            if event.action not in NOTIFIED or event.submission_id is None or _shown(event) is None:
                continue
            if event.action == "resubmitted":
                continue  # the new version's verdict follows in the same transaction and is told instead
            submission = session.get(Submission, event.submission_id)
            if submission is None:
                continue
            links = session.exec(select(ChatLink).where(ChatLink.submission_id == event.submission_id)).all()
            for link in links:
                session.add(
                    ChatPush(
                        channel=link.channel,
                        chat_id=link.chat_id,
                        submission_id=event.submission_id,
                        event_id=event.id or 0,
                        text=notice_text(event, submission),
                        created_at=now,
                    )
                )
                written += 1
        last = events[-1].id
        moved = session.exec(
            update(ChatCursor)
            .where(col(ChatCursor.name) == CURSOR, col(ChatCursor.last_event_id) == start)
            .values(last_event_id=last, updated_at=now)
        )
        if moved.rowcount != 1:
            session.rollback()  # another notifier took these events
            return 0
        session.commit()
        return written


def due(engine: Engine, channel: str, now: datetime, limit: int = 50) -> list[ChatPush]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(ChatPush)
                .where(ChatPush.channel == channel, ChatPush.state == ChatPushState.pending)
                .where((col(ChatPush.next_attempt_at).is_(None)) | (col(ChatPush.next_attempt_at) <= now))
                .order_by(col(ChatPush.id))
                .limit(limit)
            ).all()
        )


def claim(engine: Engine, push: ChatPush, now: datetime) -> bool:
    """Take one push for a delivery try (a compare-and-set on its attempts), so that two senders never both send
    it; a sender that dies leaves it to the next try after the wait."""
    with Session(engine) as session:
        result = session.exec(
            update(ChatPush)
            .where(col(ChatPush.id) == push.id, col(ChatPush.state) == ChatPushState.pending)
            .where(col(ChatPush.attempts) == push.attempts)
            .values(attempts=push.attempts + 1, next_attempt_at=now + _wait(push.attempts + 1))
        )
        session.commit()
        return result.rowcount == 1


def _wait(attempts: int) -> timedelta:
    return min(timedelta(seconds=30) * 2 ** (attempts - 1), MAX_WAIT)


def settle(engine: Engine, push_id: int, state: ChatPushState, now: datetime) -> None:
    """Record how a claimed push's delivery ended (through ``move_pushes``: only a pending push is settled)."""
    with Session(engine) as session:
        values: dict[str, object] = {"sent_at": now} if state is ChatPushState.sent else {}
        move_pushes(session, ChatPushState.pending, state, col(ChatPush.id) == push_id, **values)
        session.commit()


def expire_unsent(engine: Engine, now: datetime, senders: frozenset[str]) -> None:
    """Notices no sender of this service delivers (a pull channel's chat that never came back, a channel that
    was turned off) expire after :data:`KEEP_PULLED`, so that a returning chat is not told of old news."""
    with Session(engine) as session:
        move_pushes(
            session,
            ChatPushState.pending,
            ChatPushState.expired,
            col(ChatPush.channel).not_in(senders),
            col(ChatPush.created_at) < now - KEEP_PULLED,
        )
        session.commit()


class Notifier:
    """The notifier's loop inside ``zhengji serve``: collect, deliver, expire, every :data:`POLL_SECONDS`."""

    def __init__(self, engine: Engine, clock: Clock, senders: dict[str, Sender]) -> None:
        self.engine = engine
        self.clock = clock
        self.senders = senders

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception:  # a database hiccup must not end the notices for good
                log.exception("chat notifier: a round failed; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), POLL_SECONDS)

    async def run_once(self) -> None:
        await asyncio.to_thread(collect, self.engine, self.clock)
        now = self.clock.machine()
        for channel, send in self.senders.items():
            for push in await asyncio.to_thread(due, self.engine, channel, now):
                await self._deliver(push, send)
        await asyncio.to_thread(expire_unsent, self.engine, now, frozenset(self.senders))

    async def _deliver(self, push: ChatPush, send: Sender) -> None:
        now = self.clock.machine()
        if not await asyncio.to_thread(claim, self.engine, push, now):
            return
        assert push.id is not None
        try:
            await send(push.chat_id, push.text)
        except Undeliverable as refusal:
            log.info("chat notice %s to %s:%s refused for good: %s", push.id, push.channel, push.chat_id, refusal)
            await asyncio.to_thread(settle, self.engine, push.id, ChatPushState.failed, now)
            return
        except Exception as error:
            if push.attempts + 1 >= MAX_ATTEMPTS:
                log.warning("chat notice %s to %s:%s given up: %s", push.id, push.channel, push.chat_id, error)
                await asyncio.to_thread(settle, self.engine, push.id, ChatPushState.failed, now)
            else:
                log.info(
                    "chat notice %s to %s:%s failed, tried again later: %s", push.id, push.channel, push.chat_id, error
                )
            return
        await asyncio.to_thread(settle, self.engine, push.id, ChatPushState.sent, self.clock.machine())
