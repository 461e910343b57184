"""What a chat was talking about, so that "那材料呢？" after a question on 新职业 means the 新职业's materials.

The context is small (the last intent, tracks and occupations) and only a convenience: losing it costs the
applicant one longer question, never a wrong answer. The service keeps it in memory, bounded and expiring;
``zhengji ask --chat`` keeps it in the database, since every command is a new process.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from zhengji.clock import real_now

TTL = timedelta(minutes=30)
"""How long a chat's context lasts without a new message: a follow-up comes within minutes."""
MAX_CHATS = 20_000


@dataclass(frozen=True)
class Chat:
    """One conversation on one channel (``web``, ``wechat``, ``telegram``, ``cli``)."""

    channel: str
    id: str

    def __str__(self) -> str:
        return f"{self.channel}:{self.id}"


@dataclass
class Context:
    intents: list[str] = field(default_factory=list)
    tracks: list[str] = field(default_factory=list)
    occupations: list[int] = field(default_factory=list)  # catalog seq numbers
    region: str | None = None  # guangdong or shanghai, from a place name or a track
    place: str | None = None  # the place name as typed (广州, 浦东, 省属)
    topic: str | None = None  # the last question act answered (can_now, channel, field …)
    field: int | None = None  # the vocabulary's field asked about last (its index in data/vocabulary.toml)
    at: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["at"] = self.at.isoformat() if self.at else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Context:
        at = data.get("at")
        return cls(
            intents=list(data.get("intents", [])),
            tracks=list(data.get("tracks", [])),
            occupations=[int(seq) for seq in data.get("occupations", [])],
            region=data.get("region"),
            place=data.get("place"),
            topic=data.get("topic"),
            field=data.get("field"),
            at=datetime.fromisoformat(at) if at else None,
        )


class Conversations(Protocol):
    def get(self, chat: Chat) -> Context: ...

    def put(self, chat: Chat, context: Context) -> None: ...


class MemoryConversations:
    """Contexts in this process: a bounded LRU whose entries expire after :data:`TTL`."""

    def __init__(self, now: Callable[[], datetime] = real_now, limit: int = MAX_CHATS) -> None:
        self._now = now
        self._limit = limit
        self._items: OrderedDict[Chat, Context] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, chat: Chat) -> Context:
        with self._lock:
            context = self._items.get(chat)
            if context is None or context.at is None or self._now() - context.at > TTL:
                return Context()
            self._items.move_to_end(chat)
            return context

    def put(self, chat: Chat, context: Context) -> None:
        context.at = self._now()
        with self._lock:
            self._items[chat] = context
            self._items.move_to_end(chat)
            while len(self._items) > self._limit:
                self._items.popitem(last=False)


class DatabaseConversations:
    """Contexts in the ``chat_states`` table, for a channel whose every message is a new process (the CLI)."""

    def __init__(self, engine: Engine, now: Callable[[], datetime] = real_now) -> None:
        self._engine = engine
        self._now = now

    def get(self, chat: Chat) -> Context:
        from zhengji.storage.models import ChatState

        with Session(self._engine) as session:
            row = session.exec(
                select(ChatState).where(ChatState.channel == chat.channel, ChatState.chat_id == chat.id)
            ).first()
            if row is None or self._now() - row.updated_at > TTL:
                return Context()
            return Context.from_json(row.context)

    def put(self, chat: Chat, context: Context) -> None:
        from zhengji.storage.models import ChatState

        moment = self._now()
        context.at = moment
        with Session(self._engine) as session:
            row = session.exec(
                select(ChatState).where(ChatState.channel == chat.channel, ChatState.chat_id == chat.id)
            ).first()
            if row is None:
                row = ChatState(channel=chat.channel, chat_id=chat.id, context={}, updated_at=moment)
            row.context = context.as_json()
            row.updated_at = moment
            session.add(row)
            session.commit()
