"""`make bench`: a page of the staff queue with 20,000 submissions, in server time.

Run from the repository root: ``.venv/bin/python -m benchmarks.queue [--submissions 20000] [--runs 30]``. The
database (SQLite, as ``make run`` uses it) is filled with 20,000 cases the way the pipeline leaves them: a mail,
two or three documents with their fields and findings, and the audit event of the verdict. The queue's index is
built once (timed separately, as the first queue page after an upgrade builds it); then each query is asked
``--runs`` times of the app in process (no network: the time is the server's, plus about a millisecond of the
test client), signed in as a reviewer. The issue's budget is 150 ms a page.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import tempfile
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session

from zhengji.clock import SHANGHAI
from zhengji.review.index import sync
from zhengji.settings import HostPort, Settings
from zhengji.staff import add_staff
from zhengji.storage.db import make_engine, session_scope
from zhengji.storage.migrate import upgrade
from zhengji.storage.models import AuditEvent, Document, Message, Submission

BUDGET_MS = 150.0
TRACKS = ["new_occupation", "skill_level_occupation", "special_ability_project", "evaluator_org", "gd_new_occupation"]
STATUSES = ["complete"] * 5 + ["incomplete"] * 3 + ["rejected", "unknown", "accepted", "returned"]
CODES = ["missing_field", "bad_phone", "unsigned", "missing_format", "too_long", "already_listed", "unlocated_field"]
NAMES = [
    "无人机群飞表演编队师",
    "低空物流调度员",
    "数字孪生运维员",
    "具身智能训练师",
    "碳资产管理师",
    "智能网联汽车测试员",
    "养老护理评估师",
    "家政服务督导员",
    "集成电路封装工",
    "生物样本库管理员",
]
UNITS = [
    "上海翼舞智能科技有限公司",
    "上海低空物流有限公司",
    "上海市经济和信息化委员会",
    "上海数孪科技有限公司",
    "上海市商务委员会",
    "浦东新区人力资源和社会保障局",
]
QUERIES = [
    ("the first page", "/staff/queue"),
    ("status = complete", "/staff/queue?status=complete"),
    ("finding code = missing_field", "/staff/queue?code=missing_field"),
    ("search 物流", "/staff/queue?q=%E7%89%A9%E6%B5%81"),
    ("track + window, page 20", "/staff/queue?track=new_occupation&window=2025-06-20&page=20"),
    ("JSON API, incomplete", "/staff/api/submissions?status=incomplete"),
]


def seed(engine: Any, count: int, rng: random.Random) -> None:
    """``count`` cases as the pipeline leaves them, written in bulk."""
    start = datetime(2025, 6, 20, 1, 0, tzinfo=UTC)
    batch = 2000
    with Session(engine) as session:
        for first in range(0, count, batch):
            submissions, messages, documents, events = [], [], [], []
            for number in range(first, min(first + batch, count)):
                ident = number + 1
                at = start + timedelta(minutes=rng.randrange(0, 10 * 24 * 60))
                track = rng.choice(TRACKS)
                status = rng.choice(STATUSES)
                name, unit = rng.choice(NAMES), rng.choice(UNITS)
                findings = [
                    {"code": code, "severity": "error", "message": "……", "field": "contact.phone"}
                    for code in rng.sample(CODES, rng.randrange(0, 3))
                ]
                submissions.append(
                    {
                        "id": ident,
                        "reference": f"ZJ-2025Q2-{ident:06d}",
                        "track": track,
                        "notice": "沪人社职〔2025〕77号",
                        "status": status,
                        "verdict": status
                        if status in {"complete", "incomplete", "rejected", "unknown"}
                        else "complete",
                        "decision": status if status in {"accepted", "returned", "declined"} else None,
                        "sender": f"applicant{ident}@example.com",
                        "sender_name": unit,
                        "subject": f"申报材料-{unit}",
                        "version": 1,
                        "created_at": at,
                        "updated_at": at,
                    }
                )
                messages.append(
                    {
                        "id": ident,
                        "sha256": f"{ident:064x}",
                        "size": 1000,
                        "message_id": f"<{ident}@x>",
                        "source": "smtp",
                        "mailbox": "yanfa312@126.com",
                        "imap_flagged": False,
                        "envelope_from": f"applicant{ident}@example.com",
                        "envelope_to": ["yanfa312@126.com"],
                        "received_at": at,
                        "state": "replied",
                        "attempts": 0,
                        "reply_wanted": True,
                        "submission_id": ident,
                        "version": 1,
                    }
                )
                for copy in range(rng.choice([2, 3])):
                    documents.append(
                        {
                            "message_id": ident,
                            "submission_id": ident,
                            "version": 1,
                            "filename": f"建议书{copy}.docx",
                            "sha256": f"{ident:060x}{copy:04x}",
                            "size": 1,
                            "format": "docx",
                            "form": "new_occupation_proposal",
                            "fields": {"name": name, "signer": unit, "contact": {"phone": "1234"}},
                            "findings": findings if copy == 0 else [],
                            "red_seals": 0,
                            "text_layer": True,
                            "parser_version": "bench",
                            "superseded": False,
                            "created_at": at,
                        }
                    )
                events.append(
                    {
                        "at": at,
                        "actor": "pipeline",
                        "action": "status",
                        "submission_id": ident,
                        "detail": {
                            "from": "received",
                            "to": status if status in {"complete", "incomplete", "rejected", "unknown"} else "complete",
                            "findings": [],
                        },
                    }
                )
            for table, rows in (
                (Submission, submissions),
                (Message, messages),
                (Document, documents),
                (AuditEvent, events),
            ):
                session.execute(insert(table), rows)
            session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=30)
    options = parser.parse_args()
    warnings.simplefilter("ignore")  # the test client's notice about httpx
    from starlette.testclient import TestClient

    from zhengji.web.app import create_app

    with tempfile.TemporaryDirectory(prefix="zhengji-queue-bench-") as folder:
        settings = Settings(
            data_dir=Path(folder),
            smtp_listen=None,
            web_listen=HostPort("127.0.0.1", 8000),
            now=datetime(2025, 6, 28, 10, 0, tzinfo=SHANGHAI),
        )
        engine = make_engine(settings.resolved_database_url)
        upgrade(engine)
        with session_scope(engine) as session:
            add_staff(session, "审核", "bench password", admin=False, at=datetime.now(UTC))
        started = time.perf_counter()
        seed(engine, options.submissions, random.Random(11))
        print(f"seeded {options.submissions} submissions in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        with Session(engine) as session:
            built = sync(session)
        print(
            f"queue index built for {built} submissions in {time.perf_counter() - started:.1f} s"
            " (once, after an upgrade)"
        )
        client = TestClient(create_app(settings), base_url="http://127.0.0.1")
        login = client.get("/staff/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
        assert token is not None
        answer = client.post(
            "/staff/login",
            data={"username": "审核", "password": "bench password", "csrf_token": token[1]},
            follow_redirects=False,
        )
        assert answer.status_code == 303, answer.text
        print(f"{'query':34} {'median':>9} {'p95':>9} {'budget':>8}")
        worst = 0.0
        for label, path in QUERIES:
            times = []
            for run in range(options.runs + 3):
                begin = time.perf_counter()
                response = client.get(path)
                elapsed = (time.perf_counter() - begin) * 1000
                assert response.status_code == 200, (path, response.status_code)
                if run >= 3:  # the first requests warm the caches
                    times.append(elapsed)
            median = statistics.median(times)
            p95 = statistics.quantiles(times, n=20)[-1]
            worst = max(worst, p95)
            print(f"{label:34} {median:7.1f}ms {p95:7.1f}ms {BUDGET_MS:6.0f}ms")
        print(f"every page within {BUDGET_MS:.0f} ms at p95: {'yes' if worst <= BUDGET_MS else 'NO'}")
        engine.dispose()


if __name__ == "__main__":
    main()
