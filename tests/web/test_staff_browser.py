"""The staff queue in a real browser: Debian's Chromium, driven by Playwright, against ``zhengji serve``.

The service runs as an operator starts it (the real command, a temporary data directory, loopback ports, a fixed
business clock inside a window); applicants' mails reach it over SMTP. A reviewer then signs in, filters the
queue, opens a submission, reads a PDF beside its fields, corrects a field and sees its finding go, returns a
submission (the mail lands in the outbox, threaded), accepts another, exports the window's 汇总表 and reads it
back, and signs out. Screenshots of the pages at 1366×768 are kept in ``tests/artifacts/`` for a person to look
at. Playwright's own browser download is never used: ``executable_path`` is ``ZHENGJI_CHROMIUM_PATH``.
"""

from __future__ import annotations

import io
import os
import re
import signal
import smtplib
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook
from playwright.sync_api import ViewportSize
from sqlmodel import Session, col, func, select

from tests.conftest import need_server
from tests.mailbox.pipeline_support import outbox
from tests.servers.ports import free_port
from tests.web.staff_support import PASSWORD, REVIEWER, SH_BOX, corpus, make_settings, prepare_database, proposal_mail
from zhengji.settings import Settings
from zhengji.storage.db import make_engine
from zhengji.storage.models import Message, MessageState

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
VIEWPORT: ViewportSize = {"width": 1366, "height": 768}
# Chromium as a sandboxed test browser: no network of its own, no updates, no first-run pages.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@dataclass
class Served:
    settings: Settings
    base: str
    process: subprocess.Popen[bytes]
    log: Path


def _chromium() -> Path:
    path = Path(os.environ.get("ZHENGJI_CHROMIUM_PATH", "/usr/bin/chromium"))
    if not path.exists():
        need_server(f"Chromium not found at {path} (Debian: apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        need_server("the playwright package is not installed")
    return path


def _wait(condition: object, seconds: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-3000:] if log else ""
    raise AssertionError(f"{what} within {seconds:g} s\n{tail}")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    _chromium()
    root = tmp_path_factory.mktemp("browser")
    web_port, smtp_port = free_port(), free_port()
    settings = make_settings(root / "data")
    prepare_database(settings).dispose()
    environment = {key: value for key, value in os.environ.items() if not key.startswith("ZHENGJI_")}
    environment |= {
        "ZHENGJI_DATA_DIR": str(settings.data_dir),
        "ZHENGJI_WEB_LISTEN": f"127.0.0.1:{web_port}",
        "ZHENGJI_SMTP_LISTEN": f"127.0.0.1:{smtp_port}",
        "ZHENGJI_NOW": "2025-06-28T10:00:00+08:00",
    }
    log = root / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "zhengji", "serve"],
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{web_port}"
    try:
        _wait(lambda: _answers(base), 60, "zhengji serve did not answer", log)
        mails = [
            corpus("foxmail_sh_complete"),
            proposal_mail(
                occupation="低空物流调度员",
                phone="1234",
                sender=("上海低空物流有限公司", "dk@example.com"),
                message_id="<bad-phone-browser@example.com>",
            ),
            corpus("netease_skill_level_excel"),
        ]
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as client:
            for raw in mails:
                client.sendmail("applicant@example.com", [SH_BOX], raw)
        engine = make_engine(settings.resolved_database_url)

        def answered() -> bool:
            with Session(engine) as session:
                count = session.exec(
                    select(func.count()).select_from(Message).where(col(Message.state) == MessageState.replied)
                ).one()
            return int(count) == len(mails)

        _wait(answered, 90, "the service did not answer the three mails", log)
        engine.dispose()
        yield Served(settings, base, process, log)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_a_reviewer_works_through_the_queue_in_a_browser(served: Served) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(_chromium()), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=VIEWPORT, locale="zh-CN", accept_downloads=True)
        page = context.new_page()
        problems: list[str] = []
        page.on(
            "console",
            lambda message: (
                problems.append(f"{page.url}: {message.text} {message.location}") if message.type == "error" else None
            ),
        )
        page.on("pageerror", lambda error: problems.append(str(error)))
        try:
            _story(page, served, expect)
        finally:
            context.close()
            browser.close()
    csp = [text for text in problems if "Content Security Policy" in text or "Refused to" in text]
    assert csp == [], "the pages broke their own Content-Security-Policy"
    # The decision form refused on purpose twice (its 400 page keeps the reviewer's choice): nothing else may fail.
    refused = [text for text in problems if "/decision/preview" in text and "status of 400" in text]
    assert len(refused) == 2, problems
    assert [text for text in problems if text not in refused] == []


def _story(page: object, served: Served, expect: object) -> None:
    from playwright.sync_api import Page
    from playwright.sync_api import expect as check

    assert isinstance(page, Page)
    base = served.base
    # Signing in.
    page.goto(f"{base}/staff/queue")
    check(page).to_have_url(re.compile(r"/staff/login\?next="))
    page.screenshot(path=str(ARTIFACTS / "staff-login.png"))
    page.fill("input[name=username]", REVIEWER)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    check(page).to_have_url(re.compile(r"/staff/queue$"))
    check(page.locator("tr[data-reference]")).to_have_count(3)
    page.screenshot(path=str(ARTIFACTS / "staff-queue.png"))

    # Filtering by a finding code (htmx swaps the results in place and keeps the filter in the address).
    page.select_option("select[name=code]", "bad_phone")
    check(page).to_have_url(re.compile(r"code=bad_phone"))
    check(page.locator("tr[data-reference]")).to_have_count(1)
    bad = page.locator("tr[data-reference]").first.get_attribute("data-reference")
    assert bad is not None

    # Keyboard: j moves to the row, o opens it.
    page.keyboard.press("j")
    page.keyboard.press("o")
    check(page).to_have_url(re.compile(rf"/staff/submissions/{bad}"))
    phone = page.locator('tr.field[data-path="contact.phone"]')
    check(phone.locator(".finding")).to_contain_text("电话有误")

    # Correcting the field: the finding goes, the machine's reading stays beside the correction.
    phone.locator("summary").click()
    phone.locator("textarea[name=value]").fill("021-64681234")
    phone.locator("button", has_text="保存更正").click()
    check(page.locator(".alert.ok")).to_contain_text("已保存更正")
    phone = page.locator('tr.field[data-path="contact.phone"]')
    check(phone.locator(".finding")).to_have_count(0)
    check(phone.locator(".was")).to_contain_text("1234")

    # Returning it: the mail is shown before it is sent, then goes out threaded with the case.
    page.check("input[name=action][value=return]")
    page.select_option("select[name=template]", label="退回：缺少盖章或签字")
    check(page.locator("#decision-reason")).to_have_value(re.compile("加盖单位公章"))
    page.click("#decision button[type=submit]")
    check(page.locator(".mail-preview")).to_contain_text("请按上述意见修改后")
    page.click("button:has-text('确认并发送')")
    check(page.locator("#case-status")).to_have_text("已退回修改")

    def returned_mail() -> EmailMessage | None:
        for raw in outbox(served.settings):
            mail = message_from_bytes(raw.as_bytes(), policy=policy.default)
            if bad in str(mail["Subject"]) and "审核意见" in str(mail["Subject"]):
                assert isinstance(mail, EmailMessage)
                return mail
        return None

    _wait(lambda: returned_mail() is not None, 30, "the returned submission's mail is not in the outbox")
    parsed = returned_mail()
    assert parsed is not None
    assert parsed["In-Reply-To"] == "<bad-phone-browser@example.com>"
    assert "加盖单位公章" in str(parsed.get_body().get_content())  # type: ignore[union-attr]

    # The complete submission: its PDF is shown inline beside its fields.
    page.goto(f"{base}/staff/queue?status=complete&track=new_occupation")
    page.locator("tr[data-reference] a").first.click()
    preview = page.locator("iframe[name=preview]")
    check(preview).to_be_visible()
    source = preview.get_attribute("src")
    assert source is not None
    answer = page.request.get(f"{base}{source}")
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-disposition"].startswith("inline")
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    page.wait_for_timeout(800)  # the PDF viewer draws its first page
    page.screenshot(path=str(ARTIFACTS / "staff-submission.png"))
    reference = page.url.split("/staff/submissions/")[1].split("?")[0]

    # The decision form preselects nothing, even on a case the machine found complete (issue 15) ...
    check(page.locator("#decision input[name=action]:checked")).to_have_count(0)
    # ... and an error keeps what the reviewer chose and typed, with the reason for it in Chinese.
    page.check("input[name=action][value=reject]")
    page.click("#decision button[type=submit]")
    check(page.locator(".alert.error")).to_contain_text("须填写理由")
    check(page.locator("#decision input[name=action][value=reject]")).to_be_checked()
    check(page.locator("#decision input[name=action]:checked")).to_have_count(1)
    too_long = "经核对，" * 1001
    page.fill("#decision-reason", too_long)
    page.click("#decision button[type=submit]")
    check(page.locator(".alert.error")).to_contain_text("理由不能超过")
    check(page.locator("#decision input[name=action][value=reject]")).to_be_checked()
    check(page.locator("#decision-reason")).to_have_value(too_long)
    check(page.locator("#case-verdict-decision")).to_have_text("系统核验：材料齐全 · 审核决定：尚未决定")
    page.fill("#decision-reason", "")

    # Accepting it.
    page.check("input[name=action][value=accept]")
    page.click("#decision button[type=submit]")
    check(page.locator(".mail-preview")).to_contain_text("现予受理")
    page.click("button:has-text('确认并发送')")
    check(page.locator("#case-status")).to_have_text("已受理")

    # Exporting the window's 汇总表 and reading it back.
    page.goto(f"{base}/staff/exports")
    with page.expect_download() as download_info:
        page.click("a[href='/staff/exports/new_occupation.xlsx?window=2025-06-20']")
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    path = download.path()
    assert path is not None
    rows = [
        [cell for cell in row if cell is not None]
        for row in load_workbook(io.BytesIO(Path(path).read_bytes())).active.iter_rows(values_only=True)
    ]
    assert ["1", "无人机群飞表演编队师", "上海翼舞智能科技有限公司"] in rows
    assert rows[1] == ["新职业汇总表"]
    assert reference

    # The dashboard.
    page.goto(f"{base}/staff/dashboard")
    check(page.locator("svg.chart").first).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "staff-dashboard.png"))

    # Signing out ends the session.
    page.click("button:has-text('退出登录')")
    check(page).to_have_url(re.compile(r"/staff/login$"))
    page.goto(f"{base}/staff/queue")
    check(page).to_have_url(re.compile(r"/staff/login\?next="))
