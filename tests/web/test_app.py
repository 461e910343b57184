"""The web server's edges: security headers on every response, trusted host names, nothing published by default.

Every test speaks HTTP to the real server that ``zhengji serve`` runs (uvicorn with the app, on a loopback port),
with the Host header a browser or an attacker would send.
"""

from __future__ import annotations

import asyncio
import http.client
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from tests.servers.ports import free_port
from zhengji.clock import SHANGHAI
from zhengji.service import WebComponent
from zhengji.settings import HostPort, Settings, SettingsError, load_settings
from zhengji.web.app import create_app

NOW = datetime(2025, 6, 21, 10, 0, tzinfo=SHANGHAI)


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"data_dir": tmp_path / "data", "now": NOW, "smtp_listen": None}
    values["web_listen"] = HostPort("127.0.0.1", free_port())
    return Settings(**(values | overrides))


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # lower-case names; a repeated header would show as a joined value
    text: str


class RunningWeb:
    """The web component of ``zhengji serve`` (uvicorn and the app) on a loopback port, in a thread of its own."""

    def __init__(self, settings: Settings, app: FastAPI | None = None) -> None:
        self.settings = settings
        self.component = WebComponent(settings)
        if app is not None:
            self.component.server.config.app = app  # the same server settings, around an app a test adds to
        self.loop = asyncio.new_event_loop()
        self.stop = asyncio.Event()
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self.component.run(self.stop),))

    def get(self, path: str, *, host: str | None = None, method: str = "GET") -> Answer:
        connection = http.client.HTTPConnection("127.0.0.1", self.settings.web_listen.port, timeout=10)
        try:
            connection.putrequest(method, path, skip_host=True)
            connection.putheader("Host", host if host is not None else f"127.0.0.1:{self.settings.web_listen.port}")
            connection.endheaders()
            response = connection.getresponse()
            headers: dict[str, str] = {}
            for name, value in response.getheaders():
                key = name.lower()
                headers[key] = f"{headers[key]}, {value}" if key in headers else value
            return Answer(response.status, headers, response.read().decode("utf-8", "replace"))
        finally:
            connection.close()

    def __enter__(self) -> RunningWeb:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.component.server.started:
            assert time.monotonic() < deadline, "the web server did not start"
            assert self.thread.is_alive(), "the web server stopped at start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(timeout=20)
        assert not self.thread.is_alive(), "the web server did not stop"
        self.loop.close()


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningWeb]:
    with RunningWeb(make_settings(tmp_path_factory.mktemp("web"))) as running:
        yield running


def assert_protected(answer: Answer) -> None:
    """What a browser needs from every response of this site, whatever its kind."""
    headers = answer.headers
    assert headers.get("x-content-type-options") == "nosniff"
    assert headers.get("x-frame-options") == "DENY"
    assert headers.get("referrer-policy") in {"same-origin", "no-referrer"}
    policy = headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in policy
    assert re.search(r"default-src '(none|self)'", policy), policy
    assert "server" not in headers, "the server names its software"


def test_the_public_page_carries_a_strict_policy_and_its_style_still_applies(web: RunningWeb) -> None:
    first = web.get("/")
    assert first.status == 200
    assert "征集事项与受理时间" in first.text
    assert_protected(first)
    policy = first.headers["content-security-policy"]
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    assert "object-src 'none'" in policy
    # The page's one inline style is allowed by this response's nonce, and the nonce is new on every response.
    nonce = re.search(r"'nonce-([^']+)'", policy)
    assert nonce is not None
    assert f'<style nonce="{nonce.group(1)}">' in first.text
    assert web.get("/").headers["content-security-policy"] != policy


@pytest.mark.parametrize("path", ["/healthz", "/api/windows", "/api/no-such-thing"])
def test_every_other_response_may_load_nothing(web: RunningWeb, path: str) -> None:
    # A wrong public page's address answers a Chinese page (tests/web/test_staff_case_page.py); an API's, JSON.
    answer = web.get(path)
    assert answer.status == (404 if path == "/api/no-such-thing" else 200)
    assert_protected(answer)
    assert answer.headers["content-security-policy"].startswith("default-src 'none'")


def test_a_wrong_method_is_answered_with_the_headers_too(web: RunningWeb) -> None:
    answer = web.get("/healthz", method="POST")
    assert answer.status == 405
    assert_protected(answer)


@pytest.mark.parametrize("path", ["/openapi.json", "/docs", "/redoc", "/docs/oauth2-redirect"])
def test_no_api_schema_or_documentation_is_published(web: RunningWeb, path: str) -> None:
    answer = web.get(path)
    assert answer.status == 404
    assert "openapi" not in answer.text.lower()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "LOCALHOST:8000"])
def test_the_default_trusted_hosts_are_the_listen_host_and_loopback(web: RunningWeb, host: str) -> None:
    assert web.get("/healthz", host=host).status == 200


@pytest.mark.parametrize("host", ["evil.example.com", "127.0.0.1.evil.example.com", ""])
def test_a_request_for_another_host_name_is_refused(web: RunningWeb, host: str) -> None:
    answer = web.get("/", host=host)
    assert answer.status == 400
    assert "征集" not in answer.text
    assert_protected(answer)


def test_a_crash_inside_a_route_is_a_plain_500_with_the_headers(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    app = create_app(settings)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("a secret detail of the bug")

    with RunningWeb(settings, app) as web:
        answer = web.get("/boom")
    assert answer.status == 500
    assert "secret detail" not in answer.text
    assert_protected(answer)


def test_trusted_hosts_come_from_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZHENGJI_WEB_TRUSTED_HOSTS", " zhengji.example.gov.cn , *.rlsbj.example.gov.cn ")
    settings = load_settings(
        data_dir=tmp_path / "data", now=NOW, smtp_listen=None, web_listen=f"127.0.0.1:{free_port()}"
    )
    assert settings.trusted_hosts == ["zhengji.example.gov.cn", "*.rlsbj.example.gov.cn"]
    with RunningWeb(settings) as web:
        assert web.get("/healthz", host="zhengji.example.gov.cn").status == 200
        assert web.get("/healthz", host="jd.rlsbj.example.gov.cn:443").status == 200
        # Once names are set, only they are served: not even loopback.
        assert web.get("/healthz", host="127.0.0.1").status == 400


def test_the_listen_host_is_trusted_by_default(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, web_listen=HostPort("10.0.0.5", 8000))
    assert settings.trusted_hosts == ["10.0.0.5", "localhost", "127.0.0.1"]


@pytest.mark.parametrize("value", ["https://zhengji.example.gov.cn", "zhengji.example.gov.cn:8000", "a b", "*x.cn"])
def test_a_wrong_trusted_host_stops_the_start_with_the_variable_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("ZHENGJI_WEB_TRUSTED_HOSTS", value)
    with pytest.raises(SettingsError, match="ZHENGJI_WEB_TRUSTED_HOSTS"):
        load_settings(data_dir=tmp_path / "data")
