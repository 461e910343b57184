"""The WeChat callback, checked against ``wechatpy`` as an independent implementation of WeChat's side.

The crypto is compared step by step; then signed and encrypted callbacks built by wechatpy are posted to the
web server as ``zhengji serve`` runs it, and its replies are verified and decrypted by wechatpy.
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import WeChatSigner

from tests.bot.support import SENDER, RunningService, make_settings, make_submission, migrate, outbox_mails, wait_for
from zhengji.bot.channels.wechat import fit, text_reply
from zhengji.bot.channels.wechat_crypto import CryptoError, MessageCipher, signature, signature_valid
from zhengji.service import WebComponent
from zhengji.settings import Settings
from zhengji.storage.db import make_engine

TOKEN = "zhengjiToken2025"
APPID = "wx0123456789abcdef"
AES_KEY = base64.b64encode(os.urandom(32)).decode("ascii").rstrip("=")
OPENID = "oZhengji_applicant_openid_01"
ACCOUNT = "gh_0123456789ab"


def oracle_signature(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return str(signer.signature)


def text_message(content: str, msg_id: int = 1, kind: str = "text", event: str = "") -> str:
    extra = f"<Event><![CDATA[{event}]]></Event>" if event else ""
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{OPENID}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[{kind}]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content>{extra}{f'<MsgId>{msg_id}</MsgId>' if msg_id else ''}</xml>"
    )


# --- the crypto against wechatpy -------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 11, 12, 27, 28, 100, 1000])
def test_our_ciphertext_is_what_wechatpy_decrypts(size: int) -> None:
    xml = "<xml>" + "征" * size + "</xml>"
    ours = MessageCipher(AES_KEY, APPID).encrypt(xml)
    nonce, timestamp = "n0nce", "1750000000"
    signed = signature(TOKEN, timestamp, nonce, ours)
    assert signed == oracle_signature(TOKEN, timestamp, nonce, ours)
    body = f"<xml><Encrypt><![CDATA[{ours}]]></Encrypt></xml>"
    assert WeChatCrypto(TOKEN, AES_KEY, APPID).decrypt_message(body, signed, timestamp, nonce) == xml


@pytest.mark.parametrize("size", [0, 5, 28, 29, 300])
def test_we_decrypt_what_wechatpy_encrypts(size: int) -> None:
    xml = "<xml>" + "a" * size + "</xml>"
    envelope = WeChatCrypto(TOKEN, AES_KEY, APPID).encrypt_message(xml, "abc", "1750000000")
    encrypted = envelope.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    assert MessageCipher(AES_KEY, APPID).decrypt(encrypted) == xml


def test_a_message_for_another_account_or_tampered_is_refused() -> None:
    other = WeChatCrypto(TOKEN, AES_KEY, "wxanotheraccount0").encrypt_message("<xml/>", "n", "1")
    encrypted = other.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    with pytest.raises(CryptoError):
        MessageCipher(AES_KEY, APPID).decrypt(encrypted)
    raw = bytearray(base64.b64decode(MessageCipher(AES_KEY, APPID).encrypt("<xml/>")))
    raw[-1] ^= 0xFF
    with pytest.raises(CryptoError):
        MessageCipher(AES_KEY, APPID).decrypt(base64.b64encode(bytes(raw)).decode())


def test_signatures_match_wechatpy_and_a_forgery_fails() -> None:
    expected = oracle_signature(TOKEN, "1750000000", "nonce")
    assert signature_valid(expected, TOKEN, "1750000000", "nonce")
    assert not signature_valid(expected[:-1] + ("0" if expected[-1] != "0" else "1"), TOKEN, "1750000000", "nonce")
    assert not signature_valid("", TOKEN, "1750000000", "nonce")
    assert not signature_valid("签名", TOKEN, "1750000000", "nonce")


def test_a_long_answer_is_cut_to_what_wechat_shows() -> None:
    answer = "\n".join(f"{number}. 申报材料须同时提交PDF版和WORD版。" for number in range(200))
    cut = fit(answer)
    assert len(cut.encode("utf-8")) <= 2000
    assert cut.startswith("0. ") and cut.endswith("在线咨询中查看。）")
    assert fit("短答复") == "短答复"
    assert "]]>" not in text_reply("a", "b", "x]]>y").split("<Content>")[1].replace("]]]]><![CDATA[>", "")[:-20]


# --- the running callback ----------------------------------------------------------------------------------


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, wechat_token=TOKEN, wechat_appid=APPID, wechat_aes_key=AES_KEY)


@pytest.fixture
def plain_settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, wechat_token=TOKEN)


def _serve(settings: Settings) -> Iterator[httpx.Client]:
    migrate(make_engine(settings.resolved_database_url)).dispose()
    web = WebComponent(settings)
    with RunningService([web]):
        wait_for(lambda: web.server.started, message="the web server")
        with httpx.Client(base_url=f"http://127.0.0.1:{settings.web_listen.port}", timeout=10) as client:
            yield client


@pytest.fixture
def safe(settings: Settings) -> Iterator[httpx.Client]:
    yield from _serve(settings)


@pytest.fixture
def plain(plain_settings: Settings) -> Iterator[httpx.Client]:
    yield from _serve(plain_settings)


def signed_query(timestamp: str, nonce: str, **extra: str) -> dict[str, str]:
    return {"signature": oracle_signature(TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce, **extra}


def test_the_handshake_echoes_echostr_only_when_signed(plain: httpx.Client) -> None:
    timestamp = str(int(time.time()))
    answer = plain.get("/channels/wechat", params=signed_query(timestamp, "abc", echostr="5318008"))
    assert answer.status_code == 200 and answer.text == "5318008"
    forged = plain.get("/channels/wechat", params={**signed_query(timestamp, "abc"), "signature": "0" * 40,
                                                   "echostr": "5318008"})  # fmt: skip
    assert forged.status_code == 403 and "5318008" not in forged.text
    stale = plain.get("/channels/wechat", params=signed_query("1750000000", "abc", echostr="5318008"))
    assert stale.status_code == 403 and "5318008" not in stale.text  # signed, but outside the timestamp window


def test_plain_mode_answers_with_a_passive_text_reply(plain: httpx.Client) -> None:
    timestamp, nonce = str(int(time.time())), "plain1"
    answer = plain.post("/channels/wechat", params=signed_query(timestamp, nonce, openid=OPENID),
                        content=text_message("新职业什么时候截止？").encode("utf-8"))  # fmt: skip
    assert answer.status_code == 200
    reply = parse_message(answer.text)
    assert reply.type == "text"
    assert reply.target == OPENID and reply.source == ACCOUNT
    assert "2025年6月20日至6月30日" in reply.content and "沪人社职〔2025〕77号" in reply.content


def test_a_forged_signature_is_refused(plain: httpx.Client, safe: httpx.Client) -> None:
    timestamp, nonce = str(int(time.time())), "forged"
    query = {**signed_query(timestamp, nonce), "signature": oracle_signature("wrong-token", timestamp, nonce)}
    for client in (plain, safe):
        answer = client.post("/channels/wechat", params=query, content=text_message("你好").encode("utf-8"))
        assert answer.status_code == 403


def _post_encrypted(client: httpx.Client, xml: str, *, msg_signature: str | None = None) -> tuple[httpx.Response, str]:
    crypto = WeChatCrypto(TOKEN, AES_KEY, APPID)
    timestamp, nonce = str(int(time.time())), os.urandom(4).hex()
    envelope = parse_envelope(crypto.encrypt_message(xml, nonce, timestamp))
    body = (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>"
    )
    query = signed_query(timestamp, nonce, openid=OPENID, encrypt_type="aes",
                         msg_signature=msg_signature or envelope["MsgSignature"])  # fmt: skip
    return client.post("/channels/wechat", params=query, content=body.encode("utf-8")), nonce


def parse_envelope(xml: str) -> dict[str, str]:
    import xmltodict

    return dict(xmltodict.parse(xml)["xml"])


def decrypt_reply(answer: httpx.Response) -> str:
    envelope = parse_envelope(answer.text)
    crypto = WeChatCrypto(TOKEN, AES_KEY, APPID)
    plain_xml = crypto.decrypt_message(answer.text, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"])
    return str(parse_message(plain_xml).content)


def test_safe_mode_round_trip_with_wechatpy(safe: httpx.Client) -> None:
    answer, _ = _post_encrypted(safe, text_message("人工智能训连师能报吗", msg_id=11))
    assert answer.status_code == 200
    content = decrypt_reply(answer)
    assert "按“人工智能训练师”理解" in content and "4-04-05-05" in content


def test_safe_mode_refuses_a_wrong_msg_signature_and_plain_messages(safe: httpx.Client) -> None:
    answer, _ = _post_encrypted(safe, text_message("你好", msg_id=12), msg_signature="0" * 40)
    assert answer.status_code == 403
    timestamp, nonce = str(int(time.time())), "plain-in-safe"
    plain_post = safe.post("/channels/wechat", params=signed_query(timestamp, nonce),
                           content=text_message("你好").encode("utf-8"))  # fmt: skip
    assert plain_post.status_code == 400


def test_a_retried_message_is_answered_once(safe: httpx.Client, settings: Settings) -> None:
    engine = make_engine(settings.resolved_database_url)
    case = make_submission(engine)
    engine.dispose()
    first, _ = _post_encrypted(safe, text_message(f"绑定 {case.reference}", msg_id=77))
    again, _ = _post_encrypted(safe, text_message(f"绑定 {case.reference}", msg_id=77))
    assert decrypt_reply(first) == decrypt_reply(again)
    assert "验证码已发送" in decrypt_reply(first)
    wait_for(lambda: outbox_mails(settings), message="the code mail")
    time.sleep(0.3)
    assert [mail["To"] for mail in outbox_mails(settings)] == [SENDER]


def test_events_and_other_messages(safe: httpx.Client) -> None:
    welcome, _ = _post_encrypted(safe, text_message("", msg_id=0, kind="event", event="subscribe"))
    assert "感谢关注" in decrypt_reply(welcome)
    picture, _ = _post_encrypted(safe, text_message("", msg_id=31, kind="image"))
    assert "只能回答文字消息" in decrypt_reply(picture)
    leaving, _ = _post_encrypted(safe, text_message("", msg_id=0, kind="event", event="unsubscribe"))
    assert leaving.text == "success"


def test_the_oracle_refuses_a_forged_reply() -> None:
    """The decrypting side of these tests would notice a reply signed with another token."""
    xml = text_reply(OPENID, ACCOUNT, "测试")
    encrypted = MessageCipher(AES_KEY, APPID).encrypt(xml)
    forged = signature("another", "1", "n", encrypted)
    body = f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    with pytest.raises(InvalidSignatureException):
        WeChatCrypto(TOKEN, AES_KEY, APPID).decrypt_message(body, forged, "1", "n")
