"""The WeChat Official Account (服务号) message callback at ``/channels/wechat``.

- ``GET``: the server check; ``echostr`` is echoed when ``signature`` (SHA1 of token, timestamp, nonce) is right.
- ``POST``: a user's message, signed the same way; in safe mode (an EncodingAESKey is set) the body holds the
  message encrypted and signed again with ``msg_signature``. The answer is a passive reply in the same mode,
  given within WeChat's 5 seconds (the core is given :data:`ANSWER_SECONDS`).
- A wrong signature, or a message encrypted for another account, is refused with ``403``; so is a signed URL
  whose timestamp is more than ``ZHENGJI_WECHAT_TIMESTAMP_SECONDS`` from the real clock, or whose nonce already
  carried another message (the nonces are kept in the database, as several processes may serve the callback).
- WeChat sends a message again when no answer came in 5 seconds; a repeated (openid, ``MsgId``) gets the first
  answer, never a second one.
- Plain mode signs the URL only, never the body: a body may claim any openid. There the callback binds nothing
  and shows no status (the chat is told to use the web chat) unless ``ZHENGJI_WECHAT_PLAIN_STATUS`` accepts the
  risk; the service says so in its log at start.

The callback only turns WeChat's XML into text and back; the answers are the core's.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from lxml import etree
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from zhengji.bot.channels.wechat_crypto import CryptoError, MessageCipher, signature, signature_valid
from zhengji.bot.conversation import Chat
from zhengji.bot.links import Origin
from zhengji.bot.runtime import BotRuntime
from zhengji.storage.models import ChannelNonce

log = logging.getLogger(__name__)

CHANNEL = "wechat"
ANSWER_SECONDS = 4.0
MAX_REPLY_BYTES = 2000
"""WeChat shows a passive text reply up to about 2048 bytes; a longer answer is cut on a line boundary."""
REMEMBERED = 2000
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
NOT_TEXT = "目前只能回答文字消息，请用文字提问，例如“新职业什么时候截止”。"
WELCOME = "感谢关注！我可以回答征集通知中的受理时间、申报条件、申报材料和申报进度等问题，发送“帮助”可查看示例。"
BUSY = "系统繁忙，请稍后再发送一次您的问题。"
FAILED = "抱歉，系统暂时无法答复，请稍后再试。"
TOO_LONG = "\n……（答复较长，完整内容请在本中心网站的在线咨询中查看。）"


@dataclass(frozen=True)
class Incoming:
    to_user: str
    from_user: str
    kind: str
    content: str
    event: str
    key: str  # what identifies a retry of the same message: the sender and its MsgId


def parse(xml: bytes | str) -> dict[str, str]:
    """The top-level fields of WeChat's XML; entities and DTDs are never resolved."""
    root = etree.fromstring(xml.encode("utf-8") if isinstance(xml, str) else xml, parser=_PARSER)
    return {child.tag: (child.text or "") for child in root if isinstance(child.tag, str)}


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply(to_user: str, from_user: str, content: str) -> str:
    return (
        f"<xml><ToUserName>{_cdata(to_user)}</ToUserName><FromUserName>{_cdata(from_user)}</FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{_cdata(content)}</Content></xml>"
    )


def fit(text: str, limit: int = MAX_REPLY_BYTES) -> str:
    """``text`` cut to ``limit`` UTF-8 bytes at a line end, with a note where to read the rest."""
    if len(text.encode("utf-8")) <= limit:
        return text
    room = limit - len(TOO_LONG.encode("utf-8"))
    kept: list[str] = []
    used = 0
    for line in text.split("\n"):
        size = len(line.encode("utf-8")) + 1
        if used + size > room:
            break
        kept.append(line)
        used += size
    return "\n".join(kept) + TOO_LONG


class WeChatCallback:
    """The callback of one account (token, AppID, EncodingAESKey from the settings)."""

    def __init__(self, runtime: BotRuntime, token: str, app_id: str | None, aes_key: str | None) -> None:
        self.runtime = runtime
        self.token = token
        self.app_id = app_id or ""
        self.cipher = MessageCipher(aes_key, self.app_id) if aes_key else None
        self.window = runtime.settings.wechat_timestamp_seconds
        # Only an authenticated body may bind or see a status (see the module's docstring).
        self.trusted = self.cipher is not None or runtime.settings.wechat_plain_status
        self._answers: OrderedDict[str, asyncio.Future[str]] = OrderedDict()
        if self.cipher is None:
            log.warning(
                "wechat: plain mode: message bodies are not authenticated, any body may claim any openid; %s",
                "binding and status are ON anyway (ZHENGJI_WECHAT_PLAIN_STATUS)"
                if self.trusted
                else "binding and status are off (set ZHENGJI_WECHAT_AES_KEY for safe mode)",
            )

    def router(self) -> APIRouter:
        router = APIRouter()
        router.add_api_route("/channels/wechat", self.handshake, methods=["GET"])
        router.add_api_route("/channels/wechat", self.message, methods=["POST"])
        return router

    def _signed(self, request: Request) -> bool:
        """The URL's signature is right and its timestamp is within the window of the real clock."""
        query = request.query_params
        timestamp = query.get("timestamp", "")
        if not signature_valid(query.get("signature", ""), self.token, timestamp, query.get("nonce", "")):
            return False
        try:
            stamped = int(timestamp)
        except ValueError:
            return False
        return abs(self.runtime.clock.machine().timestamp() - stamped) <= self.window

    def _first_use(self, timestamp: int, nonce: str, key: str) -> bool:
        """Remember the URL's timestamp and nonce with the message it carried; False when they already carried
        another message (a replay with a new body). The same message again is WeChat's retry, and welcome."""
        moment = self.runtime.clock.machine()
        with Session(self.runtime.engine) as session:
            session.exec(
                delete(ChannelNonce).where(col(ChannelNonce.seen_at) < moment - timedelta(seconds=2 * self.window))
            )
            try:
                with session.begin_nested():
                    session.add(ChannelNonce(channel=CHANNEL, timestamp=timestamp, nonce=nonce[:64], message_key=key,
                                             seen_at=moment))  # fmt: skip
            except IntegrityError:
                seen = session.exec(
                    select(ChannelNonce.message_key).where(
                        ChannelNonce.channel == CHANNEL, ChannelNonce.timestamp == timestamp,
                        ChannelNonce.nonce == nonce[:64],
                    )
                ).first()  # fmt: skip
                session.commit()
                return seen == key[:200]
            session.commit()
        return True

    async def handshake(self, request: Request) -> Response:
        if not self._signed(request):
            return PlainTextResponse("forbidden", status_code=403)
        return PlainTextResponse(request.query_params.get("echostr", ""))

    async def message(self, request: Request) -> Response:
        query = request.query_params
        if not self._signed(request):
            return PlainTextResponse("forbidden", status_code=403)
        body = await request.body()  # at most ZHENGJI_WEB_MAX_BODY_BYTES (zhengji.web.app.BodyLimit)
        try:
            fields = parse(body)
            safe = query.get("encrypt_type", "").lower() == "aes"
            if self.cipher is not None and not safe:
                return PlainTextResponse("safe mode required", status_code=400)
            if safe:
                if self.cipher is None:
                    return PlainTextResponse("safe mode not configured", status_code=400)
                encrypted = fields.get("Encrypt", "")
                timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
                if not signature_valid(query.get("msg_signature", ""), self.token, timestamp, nonce, encrypted):
                    return PlainTextResponse("forbidden", status_code=403)
                fields = parse(self.cipher.decrypt(encrypted))
        except CryptoError:
            return PlainTextResponse("forbidden", status_code=403)
        except etree.XMLSyntaxError:
            return PlainTextResponse("bad request", status_code=400)
        incoming = Incoming(
            to_user=fields.get("ToUserName", ""),
            from_user=fields.get("FromUserName", ""),
            kind=fields.get("MsgType", ""),
            content=fields.get("Content", ""),
            event=fields.get("Event", "").lower(),
            # An event has no MsgId; WeChat's retries of it repeat its sender, time and event.
            key=fields.get("FromUserName", "")
            + "|"
            + (fields.get("MsgId") or ":".join(fields.get(name, "") for name in ("CreateTime", "Event"))),
        )
        if not incoming.from_user:
            return PlainTextResponse("bad request", status_code=400)
        if not await asyncio.to_thread(self._first_use, int(query["timestamp"]), query.get("nonce", ""), incoming.key):
            log.warning("wechat: a signed URL used again for another message; refused")
            return PlainTextResponse("forbidden", status_code=403)
        answer = await self._answer_once(incoming)
        if not answer:
            return PlainTextResponse("success")  # WeChat's word for "no reply"
        reply = text_reply(incoming.from_user, incoming.to_user, fit(answer))
        if self.cipher is None:
            return Response(reply, media_type="application/xml")
        return Response(self._wrap(reply), media_type="application/xml")

    def _wrap(self, reply: str) -> str:
        assert self.cipher is not None
        encrypted = self.cipher.encrypt(reply)
        timestamp, nonce = str(int(time.time())), secrets.token_hex(8)
        signed = signature(self.token, timestamp, nonce, encrypted)
        return (
            f"<xml><Encrypt>{_cdata(encrypted)}</Encrypt><MsgSignature>{_cdata(signed)}</MsgSignature>"
            f"<TimeStamp>{timestamp}</TimeStamp><Nonce>{_cdata(nonce)}</Nonce></xml>"
        )

    async def _answer_once(self, incoming: Incoming) -> str:
        """The answer to a message; a retry of it (same key) shares the first computation."""
        future = self._answers.get(incoming.key)
        if future is None:
            future = asyncio.ensure_future(self._answer(incoming))
            self._answers[incoming.key] = future
            while len(self._answers) > REMEMBERED:
                self._answers.popitem(last=False)
        try:
            return await asyncio.wait_for(asyncio.shield(future), ANSWER_SECONDS)
        except TimeoutError:
            log.warning("wechat: no answer within %s s for %s", ANSWER_SECONDS, incoming.key)
            return BUSY

    async def _answer(self, incoming: Incoming) -> str:
        if incoming.kind == "event":
            return WELCOME if incoming.event == "subscribe" else ""
        if incoming.kind != "text":
            return NOT_TEXT
        chat = Chat(CHANNEL, incoming.from_user[:64])
        origin = Origin(client=incoming.from_user[:64], verified=self.trusted)
        try:
            answer = await self.runtime.answer(chat, incoming.content, origin)
        except Exception:  # the applicant gets a polite word, and the fault goes to the log, not to WeChat
            log.exception("wechat: the core failed on a message")
            return FAILED
        return answer.text
