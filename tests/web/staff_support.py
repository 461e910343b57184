"""What the staff queue's tests share: accounts, realistic submissions sent through the real pipeline, a running
web server and a signed-in HTTP client.

Submissions are real mails (the golden corpus, or mails built here as Foxmail sends them, carrying forms built
from the notices) taken in as the SMTP server takes them and processed by the pipeline's own steps.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from tests.fixtures.forms.proposal_docx import build_proposal_docx, sample_proposal
from tests.fixtures.forms.tables_docx import SH_SUMMARY, sh_summary_docx, variant
from tests.mailbox.eml_builders import foxmail_mail
from tests.mailbox.pipeline_support import CORPUS, arrive, settle
from tests.servers.ports import free_port
from zhengji.clock import SHANGHAI, Clock
from zhengji.service import WebComponent
from zhengji.settings import HostPort, Settings
from zhengji.staff import add_staff
from zhengji.storage.db import make_engine, session_scope
from zhengji.storage.migrate import upgrade

NOW = datetime(2025, 6, 28, 10, 0, tzinfo=SHANGHAI)
SH_BOX = "yanfa312@126.com"
PASSWORD = "correct horse battery"
ADMIN = "王审核"
REVIEWER = "李审核"
RECEIVED = (
    "Received: from mail.example.com.cn (unknown [203.0.113.7])\r\n\tby mx (Coremail) with SMTP id x;\r\n\t{}\r\n"
)


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "now": NOW,
        "smtp_listen": None,
        "web_listen": HostPort("127.0.0.1", free_port()),
    }
    return Settings(**(values | overrides))


def prepare_database(settings: Settings) -> Engine:
    """A migrated database with an administrator and a reviewer."""
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    with session_scope(engine) as session:
        add_staff(session, ADMIN, PASSWORD, admin=True, at=NOW)
        add_staff(session, REVIEWER, PASSWORD, admin=False, at=NOW)
    return engine


def with_received(raw: bytes, when: str = "Sat, 21 Jun 2025 10:00:00 +0800") -> bytes:
    """A mail as the mailbox keeps it: its topmost Received: header says when it arrived."""
    return RECEIVED.format(when).encode("ascii") + raw


def corpus(name: str) -> bytes:
    return (CORPUS / f"{name}.eml").read_bytes()


def proposal_mail(
    *,
    occupation: str,
    phone: str,
    sender: tuple[str, str],
    message_id: str,
    when: str = "Mon, 23 Jun 2025 09:30:00 +0800",
) -> bytes:
    """A Shanghai 建议书 and its 汇总表 (WORD only) whose 联系电话 is ``phone``, sent from Foxmail."""
    sample = sample_proposal("shanghai")
    data = replace(sample, name=occupation, contact=replace(sample.contact, phone=phone))
    summary = variant(SH_SUMMARY, rows=[{"seq": 1, "name": occupation, "proposer": sender[0]}])
    files = [
        ("新职业信息建议书.docx", build_proposal_docx(data, province="shanghai")),
        ("新职业汇总表.docx", sh_summary_docx(summary)),
    ]
    raw = foxmail_mail(
        f"新职业征集材料-{sender[0]}",
        sender,
        [SH_BOX],
        "您好！\r\n\r\n附件为申报材料，请查收。",
        files,
        message_id=message_id,
    )
    return with_received(raw, when)


def html_named_pdf_mail(*, message_id: str) -> bytes:
    """A mail whose attachment is called x.pdf but holds an HTML page with a script."""
    page = b"<!doctype html><html><body><script>document.title='owned'</script><h1>not a pdf</h1></body></html>"
    raw = foxmail_mail(
        "新职业征集材料",
        ("某公司", "html@example.com"),
        [SH_BOX],
        "附件请查收。",
        [("x.pdf", page)],
        message_id=message_id,
    )
    return with_received(raw)


def process(engine: Engine, settings: Settings, mails: list[bytes]) -> None:
    """Take the mails in as the SMTP server does and run the pipeline until every one is answered."""
    for raw in mails:
        arrive(engine, settings, raw)
    settle(engine, settings)


class RunningWeb:
    """The web component of ``zhengji serve`` (uvicorn and the app) on a loopback port, in a thread of its own."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.component = WebComponent(settings)
        self.loop = asyncio.new_event_loop()
        self.stop = asyncio.Event()
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self.component.run(self.stop),))

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.settings.web_listen.port}"

    def use_clock(self, clock: Clock) -> None:
        """Run the staff pages' clocks from ``clock`` (a test moves the machine's time instead of sleeping)."""
        app = self.component.server.config.app
        assert isinstance(app, FastAPI)
        app.state.staff_clock = clock

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


_META = re.compile(r'<meta name="csrf-token" content="([^"]*)">')
_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


class StaffClient:
    """A browser-like HTTP client of the staff pages: cookies, the page's CSRF token, no redirect following."""

    def __init__(self, base: str, *, headers: dict[str, str] | None = None) -> None:
        self.http = httpx.Client(base_url=base, follow_redirects=False, timeout=30, headers=headers)
        self.csrf = ""

    def close(self) -> None:
        self.http.close()

    def login(self, name: str, password: str = PASSWORD) -> httpx.Response:
        form = self.http.get("/staff/login")
        token = _FIELD.search(form.text)
        assert token is not None, form.text[:500]
        answer = self.http.post("/staff/login", data={"username": name, "password": password, "csrf_token": token[1]})
        if answer.status_code == 303:
            self.refresh_token()
        return answer

    def refresh_token(self, path: str = "/staff/queue") -> None:
        page = self.http.get(path)
        found = _META.search(page.text)
        assert found is not None, f"no csrf meta tag on {path}: {page.status_code}"
        self.csrf = found[1]

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(path, **kwargs)

    def post(
        self, path: str, data: dict[str, Any] | None = None, *, token: bool = True, **kwargs: Any
    ) -> httpx.Response:
        values = dict(data or {})
        if token:
            values.setdefault("csrf_token", self.csrf)
        return self.http.post(path, data=values, **kwargs)


def latest_reference(settings: Settings, sender: str) -> str:
    """The reference of the newest case from ``sender``: what a clerk finds when the applicant writes again."""
    from sqlmodel import Session, col, select

    from zhengji.storage.models import Submission

    engine = make_engine(settings.resolved_database_url)
    with Session(engine) as session:
        found = session.exec(
            select(Submission).where(Submission.sender == sender).order_by(col(Submission.id).desc())
        ).first()
    engine.dispose()
    assert found is not None, sender
    return found.reference
