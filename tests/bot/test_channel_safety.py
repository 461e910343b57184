"""Issue 18 item 4: the channels' safety, each finding of the probe tried again through the running service.

The web server runs as ``zhengji serve`` runs it (``WebComponent`` on a loopback port; the bot component beside
it where a test needs its threads), the WeChat side is signed with ``wechatpy``, Telegram is the real
python-telegram-bot ``Application`` against the local Bot API server.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select
from wechatpy import parse_message
from wechatpy.utils import WeChatSigner

from tests.bot.support import (
    RunningService,
    code_in,
    make_settings,
    make_submission,
    migrate,
    outbox_mails,
    wait_for,
)
from tests.bot.telegram_server import BotAPI, BotAPIServer
from zhengji.bot.codemail import CodeMailSender, RawMail
from zhengji.bot.component import BotComponent
from zhengji.bot.conversation import Chat
from zhengji.bot.links import CODES_BUSY_TEXT, CODES_PER_CLIENT_HOUR_TEXT, UNVERIFIED_TEXT, Desk, Origin
from zhengji.bot.runtime import BotRuntime
from zhengji.service import WebComponent
from zhengji.settings import Settings
from zhengji.storage.db import make_engine
from zhengji.storage.models import ChatCodeMail, ChatCodeMailState

WECHAT_TOKEN = "zhengjiToken2025"
ACCOUNT = "gh_0123456789ab"
TELEGRAM_TOKEN = "7000000002:AAF-zhengji-secret-token-abcdefghij"


def _serve(settings: Settings, *, bot: bool = False) -> Iterator[httpx.Client]:
    engine = migrate(make_engine(settings.resolved_database_url))
    web = WebComponent(settings)
    components: list[Any] = [web] + ([BotComponent(settings, engine)] if bot else [])
    with RunningService(components):
        wait_for(lambda: web.server.started, message="the web server")
        with httpx.Client(base_url=f"http://127.0.0.1:{settings.web_listen.port}", timeout=10) as client:
            yield client
    engine.dispose()


def _chat_id(number: int) -> str:
    return f"safety-chat-{number:024d}"


# --- request bodies ------------------------------------------------------------------------------------------


@pytest.fixture
def web(tmp_path: Path) -> Iterator[httpx.Client]:
    yield from _serve(make_settings(tmp_path, web_max_body_bytes=16 * 1024, staff_max_body_bytes=256 * 1024))


def test_a_body_over_the_limit_is_refused_before_it_is_read(web: httpx.Client) -> None:
    big = b'{"chat": "' + b"x" * (2 * 1024 * 1024) + b'", "text": "hi"}'
    declared = web.post("/chat/messages", content=big, headers={"Content-Type": "application/json"})
    assert declared.status_code == 413 and declared.text == "请求内容过大，未予处理。"
    assert declared.headers["x-content-type-options"] == "nosniff"  # refused inside the security headers

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"chat": "'
        for _ in range(64):
            yield b"y" * 1024

    streamed = web.post("/chat/messages", content=chunks(), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413 and "y" * 100 not in streamed.text
    assert web.get("/healthz").status_code == 200  # the service goes on


def test_the_staff_pages_have_their_own_larger_limit(web: httpx.Client) -> None:
    form = {"username": "a" * (64 * 1024), "password": "b"}  # over the chat's 16 KB, under the staff's 256 KB
    assert web.post("/staff/login", data=form).status_code != 413
    assert web.post("/staff/login", data={"username": "a" * (300 * 1024)}).status_code == 413
    assert web.post("/chat/messages", data=form).status_code == 413


def test_a_validation_error_never_echoes_the_input(web: httpx.Client) -> None:
    marker = "回显标记" + "问" * 3000  # within the body limit, over the question's 500 characters
    answer = web.post("/chat/messages", json={"chat": _chat_id(1), "text": marker})
    assert answer.status_code == 422
    assert "回显标记" not in answer.text and "问问" not in answer.text
    assert answer.json()["detail"] == "请求内容有误：text 过长。"
    bad_id = web.post("/chat/messages", json={"chat": "<script>alert(1)</script>", "text": "你好"})
    assert bad_id.status_code == 422 and "script" not in bad_id.text and "格式不符" in bad_id.json()["detail"]
    missing = web.post("/chat/messages", json={"chat": _chat_id(1)})
    assert missing.status_code == 422 and missing.json()["detail"] == "请求内容有误：text 缺少此项。"


# --- code mails -----------------------------------------------------------------------------------------------


def test_code_mails_are_capped_per_client_and_in_all(tmp_path: Path) -> None:
    """One client with many chat ids and many known addresses gets its hourly share, then is told so; the
    service's hourly total stops every client. The replies never depend on whether a reference exists."""
    settings = make_settings(tmp_path, chat_code_mails_per_client_hour=3, chat_code_mails_per_hour=5)
    engine = migrate(make_engine(settings.resolved_database_url))
    cases = [make_submission(engine, sender=f"applicant{number}@example.com") for number in range(8)]
    engine.dispose()
    client_a = {"X-Forwarded-For": "203.0.113.7"}  # the loopback proxy is trusted (ZHENGJI_WEB_TRUSTED_PROXIES)
    client_b = {"X-Forwarded-For": "198.51.100.9"}
    replies: list[str] = []
    for client in _serve(settings):

        def ask(number: int, headers: dict[str, str], client: httpx.Client = client) -> str:
            body = {"chat": _chat_id(number), "text": f"绑定 {cases[number].reference}"}
            answer = client.post("/chat/messages", json=body, headers=headers)
            assert answer.status_code == 200
            return str(answer.json()["reply"])

        replies = [ask(number, client_a) for number in range(4)] + [ask(number, client_b) for number in range(4, 8)]
        wait_for(lambda: len(outbox_mails(settings)) >= 5, message="the code mails")
        with Session(make_engine(settings.resolved_database_url)) as session:
            states = [mail.state for mail in session.exec(select(ChatCodeMail)).all()]
    assert ["验证码已发送" in reply for reply in replies[:3]] == [True] * 3
    assert replies[3] == CODES_PER_CLIENT_HOUR_TEXT
    assert ["验证码已发送" in reply for reply in replies[4:6]] == [True] * 2
    assert replies[6:] == [CODES_BUSY_TEXT] * 2
    assert len(outbox_mails(settings)) == 5 and states == [ChatCodeMailState.sent] * 5


def test_a_queued_code_mail_survives_a_restart(tmp_path: Path) -> None:
    """The code is committed with its mail; a process that dies before sending it leaves the mail queued, and
    the next start of the service sends it (and the code in it binds)."""
    settings = make_settings(tmp_path)
    engine = migrate(make_engine(settings.resolved_database_url))
    case = make_submission(engine)
    died = CodeMailSender(engine, lambda message: None)
    died.queued = lambda: None  # type: ignore[method-assign]  # the process is killed before its sender runs
    desk = Desk(engine, settings, mailer=died)
    chat = Chat("web", _chat_id(7))
    assert "验证码已发送" in desk.request_code(chat, [case.reference], [])
    assert outbox_mails(settings) == []
    for client in _serve(settings, bot=True):  # the service starts again: its sender finds the mail
        mail = wait_for(lambda: outbox_mails(settings), message="the queued code mail")[0]
        linked = client.post("/chat/messages", json={"chat": chat.id, "text": code_in(mail)})
        assert "验证成功" in linked.json()["reply"]
    with Session(engine) as session:
        queued = session.exec(select(ChatCodeMail)).one()
        assert queued.state == ChatCodeMailState.sent and queued.raw == b""  # the code is not kept once sent
    engine.dispose()


def test_the_answer_never_waits_for_the_mail_provider(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    engine = migrate(make_engine(settings.resolved_database_url))
    case = make_submission(engine)
    runtime = BotRuntime(settings, engine)
    provider_answers = threading.Event()
    sent: list[RawMail] = []

    def slow_provider(message: RawMail) -> None:
        provider_answers.wait(30)
        sent.append(message)

    runtime.mailer._send = slow_provider
    import asyncio

    try:
        answer = asyncio.run(runtime.answer(Chat("web", _chat_id(9)), f"绑定 {case.reference}", Origin("192.0.2.1")))
        assert "验证码已发送" in answer.text and sent == []  # answered while the provider still holds the mail
        provider_answers.set()
        assert runtime.mailer.flush() and len(sent) == 1
    finally:
        provider_answers.set()
        runtime.close()
        engine.dispose()


# --- WeChat plain mode ----------------------------------------------------------------------------------------


def _signed(timestamp: int, nonce: str) -> dict[str, str]:
    signer = WeChatSigner()
    signer.add_data(WECHAT_TOKEN, str(timestamp), nonce)
    return {"signature": str(signer.signature), "timestamp": str(timestamp), "nonce": nonce}


def _message(openid: str, content: str, msg_id: int) -> bytes:
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    ).encode()


def _reply(answer: httpx.Response) -> str:
    assert answer.status_code == 200, answer.text
    return str(parse_message(answer.text).content)


def test_wechat_plain_mode_refuses_old_and_reused_urls_and_shows_no_status(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(tmp_path, wechat_token=WECHAT_TOKEN)
    engine = migrate(make_engine(settings.resolved_database_url))
    case = make_submission(engine)
    engine.dispose()
    with caplog.at_level(logging.WARNING, logger="zhengji.bot.channels.wechat"):
        for client in _serve(settings):
            assert "plain mode" in caplog.text and "binding and status are off" in caplog.text
            old = client.post("/channels/wechat", params=_signed(1_590_000_000, "n2020"),
                              content=_message("oVictim", "我的申报进度", 1))  # fmt: skip
            assert old.status_code == 403  # signed, but in 2020

            query = _signed(int(time.time()), "n-now")
            first = _reply(client.post("/channels/wechat", params=query, content=_message("oAlice", "你好", 2)))
            retried = _reply(client.post("/channels/wechat", params=query, content=_message("oAlice", "你好", 2)))
            assert retried == first  # WeChat's own retry of the same message
            replayed = client.post("/channels/wechat", params=query, content=_message("oVictim", "/status", 3))
            assert replayed.status_code == 403  # the same URL with a body claiming another openid

            bind = _signed(int(time.time()), "n-bind")
            told = _reply(
                client.post("/channels/wechat", params=bind, content=_message("oAlice", f"绑定 {case.reference}", 4))
            )
            assert told == UNVERIFIED_TEXT
            status = _signed(int(time.time()), "n-status")
            assert (
                _reply(client.post("/channels/wechat", params=status, content=_message("oAlice", "/status", 5)))
                == UNVERIFIED_TEXT
            )
    assert outbox_mails(settings) == []  # fmt: skip


def test_wechat_plain_mode_binds_when_the_operator_accepts_the_risk(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, wechat_token=WECHAT_TOKEN, wechat_plain_status=True)
    engine = migrate(make_engine(settings.resolved_database_url))
    case = make_submission(engine)
    engine.dispose()
    for client in _serve(settings):
        query = _signed(int(time.time()), "n-accepted")
        told = _reply(
            client.post("/channels/wechat", params=query, content=_message("oAlice", f"绑定 {case.reference}", 6))
        )
        assert "验证码已发送" in told
        wait_for(lambda: outbox_mails(settings), message="the code mail")  # fmt: skip


def test_wechat_answers_are_remembered_per_openid_and_msgid(tmp_path: Path) -> None:
    """Two applicants' messages may carry the same MsgId: each gets the answer to its own question."""
    settings = make_settings(tmp_path, wechat_token=WECHAT_TOKEN)
    for client in _serve(settings):
        alice = _reply(client.post("/channels/wechat", params=_signed(int(time.time()), "a1"),
                                   content=_message("oAlice", "新职业什么时候截止？", 99)))  # fmt: skip
        bob = _reply(client.post("/channels/wechat", params=_signed(int(time.time()), "b1"),
                                 content=_message("oBob", "谢谢", 99)))  # fmt: skip
        assert "2025年6月20日至6月30日" in alice and bob != alice and "不客气" in bob


# --- the Telegram token -----------------------------------------------------------------------------------------


def test_the_telegram_token_never_reaches_the_log(tmp_path: Path) -> None:
    captured = io.StringIO()
    handler = logging.StreamHandler(captured)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        api = BotAPI(TELEGRAM_TOKEN)
        with BotAPIServer(api) as server:
            settings = make_settings(tmp_path, telegram_token=TELEGRAM_TOKEN, telegram_api_url=server.url)
            engine = migrate(make_engine(settings.resolved_database_url))
            with RunningService([BotComponent(settings, engine)]):
                wait_for(lambda: "getUpdates" in api.calls, message="long polling")
                api.say(5151, "/start")
                wait_for(lambda: api.messages_to(5151), message="the reply")
                try:
                    raise RuntimeError(f"{server.url}/bot{TELEGRAM_TOKEN}/getMe failed")
                except RuntimeError:  # a library's error that names the URL, as a traceback in the log
                    logging.getLogger("telegram.ext").exception("request to %s", f"/bot{TELEGRAM_TOKEN}/getMe")
            engine.dispose()
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
    text = captured.getvalue()
    assert "DEBUG" in text and "[redacted]" in text  # the log was written, and the token masked in it
    assert TELEGRAM_TOKEN not in text and TELEGRAM_TOKEN.split(":")[1] not in text
