"""The web chat in a real browser: Debian's Chromium, driven by Playwright, against ``zhengji serve``.

The service runs as an operator starts it (the real command, a temporary data directory, a loopback port, a
fixed business clock). An applicant on the public page asks without logging in, binds the chat to a submission
with the code mailed to the outbox, reads the status, and is told of a reviewer's decision. The page must keep
its own Content-Security-Policy: no inline script, nothing from another site. Playwright's browser download is
never used: ``executable_path`` is ``ZHENGJI_CHROMIUM_PATH`` (Debian's ``chromium``); in CI a missing Chromium
fails the test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select

from tests.bot.support import Case, code_in, decide, make_settings, make_submission, migrate, outbox_mails, wait_for
from tests.conftest import need_server
from tests.servers.ports import free_port
from zhengji.settings import Settings
from zhengji.storage.db import make_engine
from zhengji.storage.models import ChatPush
from zhengji.storage.status import SubmissionStatus

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip


def _chromium() -> Path:
    path = Path(os.environ.get("ZHENGJI_CHROMIUM_PATH", "/usr/bin/chromium"))
    if not path.exists():
        need_server(f"Chromium not found at {path} (Debian: apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        need_server("the playwright package is not installed")
    return path


@dataclass
class Served:
    settings: Settings
    base: str
    case: Case
    log: Path


def _answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    _chromium()
    root = tmp_path_factory.mktemp("webchat")
    settings = make_settings(root, data_dir=root / "data", database_url=None)
    engine = migrate(make_engine(settings.resolved_database_url))
    case = make_submission(engine)
    engine.dispose()
    port = free_port()
    environment = {key: value for key, value in os.environ.items() if not key.startswith("ZHENGJI_")}
    environment |= {
        "ZHENGJI_DATA_DIR": str(settings.data_dir),
        "ZHENGJI_WEB_LISTEN": f"127.0.0.1:{port}",
        "ZHENGJI_SMTP_LISTEN": "",
        "ZHENGJI_NOW": "2025-06-21T10:00:00+08:00",
    }
    log = root / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen([sys.executable, "-m", "zhengji", "serve"], env=environment, stdout=output,
                                   stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(base), 60, f"zhengji serve to answer\n{log.read_text(errors='replace')[-3000:]}")
        yield Served(settings, base, case, log)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_an_applicant_asks_binds_and_is_told_in_the_browser(served: Served) -> None:
    from playwright.sync_api import Page, expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    problems: list[str] = []

    def story(page: Page) -> None:
        page.goto(f"{served.base}/")
        box = page.locator("#zhengji-chat")
        expect(box.locator(".zj-msg-bot")).to_have_count(1)  # the greeting: the script ran under the page's CSP
        question = box.locator("textarea")
        answers = box.locator(".zj-msg-bot")

        def ask(text: str, expect_text: str) -> str:
            count = answers.count()
            question.fill(text)
            question.press("Enter")
            expect(answers).to_have_count(count + 1)
            last = answers.nth(count)
            expect(last).to_contain_text(expect_text)
            return last.inner_text()

        assert "还剩 9 天" in ask("新职业什么时候截止？", "2025年6月20日至6月30日")
        assert "4-04-05-05" in ask("人工智能训连师能报吗", "人工智能训练师")
        assert "材料需补正" not in ask("我的材料收到了吗", "尚未关联")

        ask(f"绑定 {served.case.reference}", "验证码已发送")
        mail = wait_for(lambda: outbox_mails(served.settings), message="the code mail")[0]
        linked = ask(code_in(mail), "验证成功")
        assert served.case.reference in linked and "缺少：新职业定义" in linked
        page.screenshot(path=str(ARTIFACTS / "web-chat.png"), full_page=True)

        engine = make_engine(served.settings.resolved_database_url)
        try:
            decide(engine, served.case, SubmissionStatus.returned, reason="请补充用人单位的从业情况说明")

            def pushed() -> bool:
                with Session(engine) as session:
                    return len(session.exec(select(ChatPush)).all()) == 1

            wait_for(pushed, message="the notifier of zhengji serve")
        finally:
            engine.dispose()
        # The notice reaches the page by itself (the script polls /chat/updates) or in front of the next answer,
        # whichever comes first: either way the applicant reads it without asking for it.
        notice = box.locator(".zj-msg-bot, .zj-msg-notice").filter(has_text="【进度通知】")
        if notice.count() == 0:
            ask("你好", "您好")
        expect(notice).to_have_count(1)
        told = notice.inner_text()
        assert "已退回修改" in told and "请补充用人单位的从业情况说明" in told

        # The same chat goes on on the chat page of its own (the id is kept by this browser).
        page.goto(f"{served.base}/chat")
        assert served.case.reference in ask("/status", "已退回修改")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(_chromium()), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
        page = context.new_page()
        page.on("console", lambda message: problems.append(f"{message.text} {message.location.get('url', '')}")
                if message.type == "error" else None)  # fmt: skip
        page.on("pageerror", lambda error: problems.append(str(error)))
        try:
            story(page)
        finally:
            context.close()
            browser.close()
    # The browser asks for /favicon.ico on its own; the site has none, which is no fault of the chat.
    problems = [text for text in problems if not text.endswith("/favicon.ico")]
    assert problems == [], f"the page broke (its Content-Security-Policy?): {problems}"


def test_the_chat_route_keeps_to_the_contract(served: Served) -> None:
    chat = "contract-test-chat-id-0123456789abcdef"
    answer = httpx.post(f"{served.base}/chat/messages", json={"chat": chat, "text": "公示期多长时间"}, timeout=10)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    assert set(answer.json()) == {"reply"} and "5个工作日" in answer.json()["reply"]
    as_form = httpx.post(f"{served.base}/chat/messages", content=f'{{"chat":"{chat}","text":"你好"}}',
                         headers={"Content-Type": "text/plain"}, timeout=10)  # fmt: skip
    assert as_form.status_code in {415, 422}  # another site's form cannot post here
    too_long = httpx.post(f"{served.base}/chat/messages", json={"chat": chat, "text": "问" * 501}, timeout=10)
    assert too_long.status_code == 422
    script = httpx.get(f"{served.base}/chat/chat.js", timeout=10)
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    page = httpx.get(f"{served.base}/chat", timeout=10)
    assert "script-src" not in page.headers["content-security-policy"] or "unsafe-inline" not in page.text
    assert "<script>" not in page.text and "unsafe-inline" not in page.headers["content-security-policy"]
