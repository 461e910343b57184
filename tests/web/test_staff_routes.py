"""The staff queue's doors: every route needs a session, every POST its CSRF token, admin pages an administrator;
sign-in locks out after repeated failures; an applicant's file is never served as a page of this site.

One real web server (the web component of ``zhengji serve``) over a database that the real pipeline filled with
real mails; the tests speak HTTP to it as a browser would.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select

from tests.web.staff_support import (
    ADMIN,
    PASSWORD,
    REVIEWER,
    RunningWeb,
    StaffClient,
    corpus,
    html_named_pdf_mail,
    make_settings,
    prepare_database,
    process,
    proposal_mail,
)
from zhengji.staff import hash_password, verify_password
from zhengji.storage.db import make_engine
from zhengji.storage.models import Document, StaffSession, StaffUser, Submission
from zhengji.web.staff import staff_routes

STATIC = Path(__file__).resolve().parents[2] / "zhengji" / "web" / "static"


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningWeb]:
    settings = make_settings(tmp_path_factory.mktemp("staff") / "data")
    engine = prepare_database(settings)
    process(
        engine,
        settings,
        [
            corpus("foxmail_sh_complete"),
            proposal_mail(
                occupation="低空物流调度员",
                phone="1234",
                sender=("上海低空物流有限公司", "dk@example.com"),
                message_id="<bad-phone-1@example.com>",
            ),
            html_named_pdf_mail(message_id="<html-as-pdf@example.com>"),
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


def _engine(web: RunningWeb) -> object:
    return make_engine(web.settings.resolved_database_url)


def _reference(web: RunningWeb, sender: str) -> str:
    engine = make_engine(web.settings.resolved_database_url)
    with Session(engine) as session:
        found = session.exec(select(Submission).where(Submission.sender == sender)).one()
    engine.dispose()
    return found.reference


def _staff_routes() -> list[tuple[str, str]]:
    """Every (method, path) the staff router serves, path parameters filled with plausible values."""
    found = []
    for method, path in staff_routes():
        path = re.sub(r"\{reference\}", "ZJ-2025Q2-AAAAAA", path)
        path = re.sub(r"\{filename\}", "new_occupation.xlsx", path)
        found.append((method, re.sub(r"\{[a-z_]+\}", "1", path)))
    return found


ROUTES = _staff_routes()


def test_the_staff_router_serves_the_contract_routes() -> None:
    paths = {path for _, path in ROUTES}
    for wanted in (
        "/staff/login",
        "/staff/logout",
        "/staff/queue",
        "/staff/api/submissions",
        "/staff/submissions/ZJ-2025Q2-AAAAAA",
        "/staff/submissions/ZJ-2025Q2-AAAAAA/decision",
        "/staff/exports/new_occupation.xlsx",
    ):
        assert wanted in paths


@pytest.mark.parametrize(("method", "path"), [r for r in ROUTES if r[1] != "/staff/login"])
def test_every_staff_route_refuses_an_anonymous_request(web: RunningWeb, method: str, path: str) -> None:
    client = StaffClient(web.base)
    answer = client.http.request(method, path, data={"csrf_token": "x"} if method == "POST" else None)
    client.close()
    if path.startswith("/staff/api/"):
        assert answer.status_code == 401
        assert answer.json() == {"detail": "请先登录。"}
    else:
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/staff/login?next=")


def test_login_sets_a_protected_cookie_and_logout_ends_the_session_on_the_server(web: RunningWeb) -> None:
    client = StaffClient(web.base)
    answer = client.login(REVIEWER)
    assert answer.status_code == 303 and answer.headers["location"] == "/staff/queue"
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("samesite", "SameSite") and "Path=/staff" in cookie
    assert "Secure" not in cookie  # served over plain HTTP on loopback; HTTPS would mark it Secure
    stolen = client.http.cookies.get("zhengji_staff")
    assert stolen
    assert client.get("/staff/queue").status_code == 200
    assert client.post("/staff/logout").status_code == 303
    client.close()
    replay = StaffClient(web.base)
    replay.http.cookies.set("zhengji_staff", stolen, path="/staff")
    assert replay.get("/staff/queue").status_code == 303
    replay.close()


def test_only_a_hash_of_the_session_id_is_stored(web: RunningWeb, admin: StaffClient) -> None:
    token = admin.http.cookies.get("zhengji_staff")
    assert token
    engine = make_engine(web.settings.resolved_database_url)
    with Session(engine) as session:
        stored = [row.token_hash for row in session.exec(select(StaffSession)).all()]
    engine.dispose()
    assert token not in stored
    assert hashlib.sha256(token.encode()).hexdigest() in stored


def test_an_idle_session_ends(web: RunningWeb) -> None:
    client = StaffClient(web.base)
    client.login(REVIEWER)
    token = client.http.cookies.get("zhengji_staff")
    assert token
    engine = make_engine(web.settings.resolved_database_url)
    with Session(engine) as session:
        row = session.exec(
            select(StaffSession).where(StaffSession.token_hash == hashlib.sha256(token.encode()).hexdigest())
        ).one()
        idle = timedelta(minutes=web.settings.staff_session_idle_minutes + 1)
        session.exec(
            update(StaffSession).where(col(StaffSession.id) == row.id).values(last_seen_at=row.last_seen_at - idle)
        )
        session.commit()
    engine.dispose()
    assert client.get("/staff/queue").status_code == 303
    client.close()


def test_a_post_without_its_csrf_token_is_refused(web: RunningWeb, admin: StaffClient) -> None:
    reference = _reference(web, "dk@example.com")
    path = f"/staff/submissions/{reference}/note"
    missing = admin.post(path, {"text": "无校验码"}, token=False)
    assert missing.status_code == 403
    assert "校验码" in missing.text
    other = StaffClient(web.base)
    other.login(REVIEWER)
    foreign = admin.post(path, {"text": "别的会话的校验码", "csrf_token": other.csrf})
    other.close()
    assert foreign.status_code == 403
    cross_site = admin.post(path, {"text": "来自别的网站"}, headers={"Origin": "https://evil.example.com"})
    assert cross_site.status_code == 403
    by_header = admin.http.post(path, data={"text": "以请求头提交校验码"}, headers={"X-CSRF-Token": admin.csrf})
    assert by_header.status_code == 303
    assert admin.post(path, {"text": "正常提交"}).status_code == 303
    page = admin.get(f"/staff/submissions/{reference}").text
    assert "正常提交" in page and "以请求头提交校验码" in page and "无校验码" not in page and "来自别的网站" not in page


def test_the_login_form_needs_its_own_token(web: RunningWeb) -> None:
    client = StaffClient(web.base)
    answer = client.http.post("/staff/login", data={"username": ADMIN, "password": PASSWORD})
    client.close()
    assert answer.status_code == 403
    assert "zhengji_staff" not in answer.headers.get("set-cookie", "")


def test_every_staff_page_carries_the_csrf_meta_tag(admin: StaffClient) -> None:
    for path in ("/staff/queue", "/staff/dashboard", "/staff/exports", "/staff/templates", "/staff/account"):
        assert f'<meta name="csrf-token" content="{admin.csrf}">' in admin.get(path).text, path
    login = StaffClient(admin.http.base_url.__str__())
    assert re.search(r'<meta name="csrf-token" content="[^"]+">', login.get("/staff/login").text)
    login.close()


def test_a_reviewer_cannot_reach_admin_pages(web: RunningWeb) -> None:
    reviewer = StaffClient(web.base)
    reviewer.login(REVIEWER)
    assert reviewer.get("/staff/admin/users").status_code == 403
    made = reviewer.post("/staff/admin/users", {"name": "冒名管理员", "password": "12345678", "admin": "1"})
    assert made.status_code == 403
    assert "冒名管理员" not in reviewer.get("/staff/queue").text
    reviewer.close()


def test_an_admin_manages_accounts_and_a_password_change_ends_the_old_sessions(
    web: RunningWeb, admin: StaffClient
) -> None:
    assert admin.post("/staff/admin/users", {"name": "赵审核", "password": "first password"}).status_code == 303
    first = StaffClient(web.base)
    assert first.login("赵审核", "first password").status_code == 303
    second = StaffClient(web.base)
    second.login("赵审核", "first password")
    changed = second.post(
        "/staff/account", {"current": "first password", "password": "second password", "again": "second password"}
    )
    assert changed.status_code == 303
    assert first.get("/staff/queue").status_code == 303  # the other browser is signed out
    assert second.get("/staff/queue").status_code == 200  # this one got a fresh session
    assert first.login("赵审核", "first password").status_code == 401
    first.close()
    second.close()


def test_repeated_failures_lock_the_account_from_that_address_but_not_the_others(
    web: RunningWeb, admin: StaffClient
) -> None:
    assert admin.post("/staff/admin/users", {"name": "钱审核", "password": "right password"}).status_code == 303
    client = StaffClient(web.base)
    for _ in range(web.settings.staff_lockout_failures):
        wrong = client.login("钱审核", "wrong password")
        assert wrong.status_code == 401
        assert "用户名或密码不正确" in wrong.text
    locked = client.login("钱审核", "right password")
    assert locked.status_code == 429
    assert "暂时锁定" in locked.text
    assert client.login(REVIEWER).status_code == 303  # the address is not locked by one account's failures
    client.close()


def test_a_legacy_scrypt_hash_still_signs_in_and_is_replaced_by_argon2(web: RunningWeb) -> None:
    import base64
    import secrets

    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(b"old scrypt pass", salt=salt, n=2**14, r=8, p=1, dklen=32)
    legacy = f"scrypt$16384$8$1${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"
    engine = make_engine(web.settings.resolved_database_url)
    with Session(engine) as session:
        session.add(StaffUser(name="孙审核", password_hash=legacy, created_at=web.settings.now))  # type: ignore[arg-type]
        session.commit()
    client = StaffClient(web.base)
    assert client.login("孙审核", "old scrypt pass").status_code == 303
    client.close()
    with Session(engine) as session:
        stored = session.exec(select(StaffUser).where(StaffUser.name == "孙审核")).one().password_hash
    engine.dispose()
    assert stored.startswith("$argon2id$")
    assert verify_password("old scrypt pass", stored)
    assert hash_password("x") != hash_password("x")  # salted


def test_a_file_named_pdf_that_holds_html_is_never_served_as_html(web: RunningWeb, admin: StaffClient) -> None:
    reference = _reference(web, "html@example.com")
    engine = make_engine(web.settings.resolved_database_url)
    with Session(engine) as session:
        document = session.exec(select(Document).where(Document.filename == "x.pdf")).one()
    engine.dispose()
    answer = admin.get(f"/staff/submissions/{reference}/files/{document.id}")
    assert answer.status_code == 200
    assert b"<script>" in answer.content  # the applicant's bytes, unchanged
    assert not answer.headers["content-type"].startswith("text/html")
    assert answer.headers["content-type"] == "application/octet-stream"
    assert answer.headers["content-disposition"].startswith("attachment;")
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["content-security-policy"].startswith("default-src 'none'")


def test_a_real_pdf_is_shown_inline_under_a_strict_policy(web: RunningWeb, admin: StaffClient) -> None:
    reference = _reference(web, "hr@yiwu-tech.com.cn")
    page = admin.get(f"/staff/submissions/{reference}").text
    found = re.search(rf'<iframe name="preview" src="(/staff/submissions/{reference}/files/\d+)"', page)
    assert found is not None
    answer = admin.get(found[1])
    assert answer.status_code == 200
    assert answer.content.startswith(b"%PDF-")
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-disposition"].startswith("inline;")
    policy = answer.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'self'" in policy
    assert answer.headers["x-frame-options"] == "SAMEORIGIN"
    download = admin.get(found[1], params={"download": 1})
    assert download.headers["content-disposition"].startswith("attachment;")


def test_the_api_lists_the_queue_as_the_contract_says(admin: StaffClient) -> None:
    everything = admin.get("/staff/api/submissions").json()
    assert everything["total"] == 3
    item = everything["items"][0]
    # The contract's keys, and the queue's own additions (receiving mailbox, marks: issue 15).
    assert set(item) == {
        "reference", "track", "status", "verdict", "decision", "sender", "received", "findings", "mailbox", "marks"
    }  # fmt: skip
    assert item["reference"].startswith("ZJ-")
    by_code = admin.get("/staff/api/submissions", params={"code": "bad_phone"}).json()
    assert [entry["sender"] for entry in by_code["items"]] == ["dk@example.com"]
    assert "bad_phone" in by_code["items"][0]["findings"]
    by_text = admin.get("/staff/api/submissions", params={"q": "低空物流"}).json()
    assert by_text["total"] == 1
    complete = admin.get("/staff/api/submissions", params={"status": "complete"}).json()
    assert {entry["sender"] for entry in complete["items"]} == {"hr@yiwu-tech.com.cn"}
    page = admin.get("/staff/queue", params={"code": "bad_phone"}).text
    assert re.findall(r'data-reference="(ZJ-[^"]+)"', page) == [by_code["items"][0]["reference"]]


def test_the_vendored_htmx_is_the_recorded_one(web: RunningWeb) -> None:
    client = StaffClient(web.base)
    served = client.get("/static/htmx.min.js")
    client.close()
    assert served.status_code == 200
    recorded = re.search(
        r"`htmx\.min\.js` \| htmx \| [\d.]+ \| .*? \| `([0-9a-f]{64})`", (STATIC / "VENDORED.md").read_text()
    )
    assert recorded is not None
    assert hashlib.sha256(served.content).hexdigest() == recorded[1]
