"""The web chat on the public page: no login for public questions, the same mailbox proof for status.

Routes (the contract's ``POST /chat/messages`` and what the page needs around it):

- ``GET /chat``: the chat page; ``GET /chat/chat.js`` and ``/chat/chat.css``: its script and style, served from
  this site (the Content-Security-Policy allows no inline script and no CDN);
- ``POST /chat/messages`` ``{"chat": ID, "text": TEXT}`` → ``{"reply": TEXT}``;
- ``POST /chat/updates`` ``{"chat": ID}`` → ``{"messages": [TEXT, …]}``: status notices waiting for the chat.

The chat id is made by the browser (32 random bytes) and is the chat's only key; a status is shown only to a
chat that proved the sender's mailbox, so a guessed id of a chat that never bound shows nothing.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field

from zhengji.bot.conversation import Chat
from zhengji.bot.links import Origin
from zhengji.bot.runtime import BotRuntime
from zhengji.bot.text import MAX_QUESTION
from zhengji.settings import Settings

log = logging.getLogger(__name__)

CHANNEL = "web"
_HERE = Path(__file__).resolve().parent.parent
TEMPLATES = Jinja2Templates(directory=_HERE / "templates")
STATIC = _HERE / "static"
ChatId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    chat: ChatId
    text: Annotated[str, Field(min_length=1, max_length=MAX_QUESTION)]


class ChatPoll(BaseModel):
    model_config = ConfigDict(extra="ignore")

    chat: ChatId


def _json_only(request: Request) -> None:
    """Only a script of this site posts JSON here: a form on another site can send text/plain, never JSON
    without the browser asking this site first (CORS), which it never allows."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise HTTPException(status_code=415, detail="application/json required")


def _origin(request: Request) -> Origin:
    """The web chat's client is its network address (the proxy's X-Forwarded-For where ZHENGJI_WEB_TRUSTED_PROXIES
    trusts it): a browser makes new chat ids at will, so the code mails' per-client cap counts addresses."""
    return Origin(client=request.client.host if request.client else None)


def web_routes(runtime: BotRuntime) -> APIRouter:
    router = APIRouter()

    @router.get("/chat", response_class=HTMLResponse)
    def chat_page(request: Request) -> HTMLResponse:
        return TEMPLATES.TemplateResponse(request, "chat.html", {})

    @router.get("/chat/chat.js")
    def chat_script() -> FileResponse:
        return FileResponse(STATIC / "chat.js", media_type="text/javascript; charset=utf-8")

    @router.get("/chat/chat.css")
    def chat_style() -> FileResponse:
        return FileResponse(STATIC / "chat.css", media_type="text/css; charset=utf-8")

    @router.post("/chat/messages")
    async def chat_message(request: Request, message: ChatMessage) -> JSONResponse:
        _json_only(request)
        answer = await runtime.answer(Chat(CHANNEL, message.chat), message.text, _origin(request))
        return JSONResponse({"reply": answer.text}, headers={"Cache-Control": "no-store"})

    @router.post("/chat/updates")
    async def chat_updates(request: Request, poll: ChatPoll) -> JSONResponse:
        _json_only(request)
        notices = await runtime.run(runtime.desk.collect_notices, Chat(CHANNEL, poll.chat), origin=_origin(request))
        return JSONResponse({"messages": notices}, headers={"Cache-Control": "no-store"})

    return router


def chat_router(settings: Settings) -> APIRouter:
    """Every chat route of the web app: the web chat always, the WeChat callback when its token is set."""
    runtime = BotRuntime(settings)
    router = web_routes(runtime)
    if settings.wechat_token is not None:
        from zhengji.bot.channels.wechat import WeChatCallback

        aes_key = settings.wechat_aes_key.get_secret_value() if settings.wechat_aes_key else None
        callback = WeChatCallback(runtime, settings.wechat_token.get_secret_value(), settings.wechat_appid, aes_key)
        router.include_router(callback.router())
    return router
