"""A local server that speaks enough of the Telegram Bot API for python-telegram-bot's real ``Application``:
``getMe``, ``deleteWebhook``, ``getUpdates`` (long polling) and ``sendMessage``, at ``/bot{TOKEN}/{method}``.

PTB posts its parameters form-encoded (each value JSON where it is not a plain string); the server reads them as
Telegram does, keeps the updates a test queues, and records every message the bot sends.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

BOT_ID = 7_000_000_001
LONG_POLL_CAP = 1.0
"""How long one getUpdates waits at most here, whatever timeout PTB asks for, so that a test stops quickly."""


@dataclass
class Sent:
    chat_id: int
    text: str


@dataclass
class BotAPI:
    token: str
    updates: list[dict[str, Any]] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    content_types: set[str] = field(default_factory=set)
    next_update: int = 1
    next_message: int = 1
    condition: threading.Condition = field(default_factory=threading.Condition)

    def say(self, chat_id: int, text: str, *, private: bool = True) -> None:
        """Queue a message from a user, as Telegram would deliver it to the bot."""
        entities = []
        if text.startswith("/"):
            entities.append({"type": "bot_command", "offset": 0, "length": len(text.split()[0])})
        with self.condition:
            self.updates.append(
                {
                    "update_id": self.next_update,
                    "message": {
                        "message_id": self.next_message,
                        "date": int(time.time()),
                        "chat": {"id": chat_id, "type": "private" if private else "group", "first_name": "申报人"}
                        if private
                        else {"id": chat_id, "type": "group", "title": "群"},
                        "from": {"id": chat_id if private else 42, "is_bot": False, "first_name": "申报人"},
                        "text": text,
                        "entities": entities,
                    },
                }
            )
            self.next_update += 1
            self.next_message += 1
            self.condition.notify_all()

    def messages_to(self, chat_id: int) -> list[str]:
        with self.condition:
            return [message.text for message in self.sent if message.chat_id == chat_id]

    def handle(self, method: str, params: dict[str, str]) -> Any:
        self.calls.append(method)
        if method == "getMe":
            return {"id": BOT_ID, "is_bot": True, "first_name": "征集咨询", "username": "zhengji_test_bot",
                    "can_join_groups": False, "can_read_all_group_messages": False,
                    "supports_inline_queries": False}  # fmt: skip
        if method == "deleteWebhook":
            return True
        if method == "getUpdates":
            offset = int(params.get("offset", "0") or 0)
            wait = min(float(params.get("timeout", "0") or 0), LONG_POLL_CAP)
            deadline = time.monotonic() + wait
            with self.condition:
                while True:
                    ready = [update for update in self.updates if update["update_id"] >= offset]
                    remaining = deadline - time.monotonic()
                    if ready or remaining <= 0:
                        return ready
                    self.condition.wait(remaining)
        if method == "sendMessage":
            chat_id = int(params["chat_id"])
            with self.condition:
                self.sent.append(Sent(chat_id, params["text"]))
                number = self.next_message
                self.next_message += 1
                self.condition.notify_all()
            return {"message_id": number, "date": int(time.time()), "text": params["text"],
                    "chat": {"id": chat_id, "type": "private"},
                    "from": {"id": BOT_ID, "is_bot": True, "first_name": "征集咨询"}}  # fmt: skip
        raise LookupError(method)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A long poll the bot gave up on while it was stopping is no error of the test."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class BotAPIServer:
    def __init__(self, api: BotAPI) -> None:
        self.api = api
        handler = _handler(api)
        self.server = _Server(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> BotAPIServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def _handler(api: BotAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # the test output stays readable
            pass

        def do_POST(self) -> None:
            prefix = f"/bot{api.token}/"
            if not self.path.startswith(prefix):
                self._reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                return
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length).decode("utf-8")
            content_type = self.headers.get("Content-Type", "").split(";")[0]
            if body:
                api.content_types.add(content_type)
            if content_type == "application/json":
                params = {key: str(value) for key, value in (json.loads(body) if body else {}).items()}
            else:
                params = {key: values[0] for key, values in parse_qs(body, keep_blank_values=True).items()}
            try:
                result = api.handle(self.path[len(prefix) :], params)
            except LookupError:
                self._reply(404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"})
                return
            self._reply(200, {"ok": True, "result": result})

        def _reply(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler
