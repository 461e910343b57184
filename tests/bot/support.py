"""Helpers for the bot's tests: a migrated database with a checked submission in it, the Maildir outbox the
code mails land in, and the web server run as ``zhengji serve`` runs it."""

from __future__ import annotations

import asyncio
import email
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.servers.ports import free_port
from zhengji.clock import SHANGHAI
from zhengji.mailbox.cases import open_case
from zhengji.settings import HostPort, Settings
from zhengji.storage.models import Document, Message, MessageSource, Submission
from zhengji.storage.status import Decision, SubmissionStatus, Verdict, record_decision, record_verdict

NOW = datetime(2025, 6, 21, 10, 0, tzinfo=SHANGHAI)
SENDER = "hr@example.com.cn"
MAILBOX = "yanfa312@126.com"


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "database_url": f"sqlite:///{tmp_path / 'zhengji.db'}",
        "now": NOW,
        "smtp_listen": None,
        "web_listen": HostPort("127.0.0.1", free_port()),
    }
    return Settings(**(values | overrides))


def migrate(engine: Engine) -> Engine:
    from zhengji.storage.migrate import upgrade

    upgrade(engine)
    return engine


@dataclass(frozen=True)
class Case:
    id: int
    reference: str


def make_submission(
    engine: Engine,
    *,
    sender: str = SENDER,
    track: str = "new_occupation",
    notice: str | None = "沪人社职〔2025〕77号",
    status: SubmissionStatus = SubmissionStatus.incomplete,
    findings: list[dict[str, Any]] | None = None,
) -> Case:
    """A case as the pipeline leaves it: a mail, its two documents filed, and the check's verdict (through the
    machine's one writer, which writes the audit event)."""
    with Session(engine) as session:
        submission = open_case(
            session,
            track=track,
            notice=notice,
            sender=sender,
            name="上海某某科技有限公司",
            subject="新职业申报",
            at=NOW,
        )
        message = Message(
            sha256="a" * 64,
            size=1000,
            source=MessageSource.smtp,
            mailbox=MAILBOX,
            envelope_from=sender,
            envelope_to=[MAILBOX],
            received_at=NOW,
            submission_id=submission.id,
            version=1,
        )
        session.add(message)
        session.flush()
        assert message.id is not None and submission.id is not None
        session.add(
            Document(
                message_id=message.id,
                submission_id=submission.id,
                filename="新职业信息建议书.docx",
                sha256="b" * 64,
                size=50_000,
                format="docx",
                form="new_occupation_proposal",
                fields={"name": "无人机编队表演师"},
                findings=[
                    {
                        "code": "missing_field",
                        "field": "definition",
                        "severity": "error",
                        "message": "缺少：新职业定义",
                    },
                    {"code": "unlocated_field", "field": "laws", "severity": "warning", "message": "未能定位"},
                ],
                parser_version="test",
                created_at=NOW,
            )
        )
        session.add(
            Document(
                message_id=message.id,
                submission_id=submission.id,
                filename="新职业信息建议书.pdf",
                sha256="c" * 64,
                size=80_000,
                format="pdf",
                form="new_occupation_proposal",
                fields={"name": "无人机编队表演师"},
                findings=[],
                parser_version="test",
                created_at=NOW,
            )
        )
        verdict = findings if findings is not None else [
            {"code": "missing_document", "severity": "error", "message": "缺少《新职业汇总表》（附件2）"}
        ]  # fmt: skip
        record_verdict(session, submission, Verdict(status.value), actor="pipeline", at=NOW,
                       detail={"message_id": message.id, "version": 1, "findings": verdict})  # fmt: skip
        session.commit()
        return Case(submission.id, submission.reference)


def decide(engine: Engine, case: Case, to: SubmissionStatus, reason: str | None = None) -> None:
    """A reviewer's decision, recorded as the staff queue records it: through ``record_decision``."""
    with Session(engine) as session:
        submission = session.get(Submission, case.id)
        assert submission is not None
        record_decision(session, submission, Decision(to.value), actor="王老师", reason=reason, at=NOW)
        session.commit()


def outbox_mails(settings: Settings) -> list[EmailMessage]:
    """Every mail in the Maildir outbox, oldest first."""
    folder = settings.outbox_dir / "new"
    if not folder.exists():
        return []
    paths = sorted(folder.iterdir(), key=lambda path: path.stat().st_mtime_ns)
    return [email.message_from_bytes(path.read_bytes(), policy=policy.default) for path in paths]


CODE = re.compile(r"^\s+(\d{6})\s*$", re.MULTILINE)


def code_in(mail: EmailMessage) -> str:
    """The one-time code a code mail carries (the line with the six digits alone)."""
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    found = CODE.search(body.get_content())
    assert found, "no code in the mail"
    return found.group(1)


def wait_for(predicate: Any, timeout: float = 15.0, message: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {message}")


class RunningService:
    """Components of ``zhengji serve`` (the web server, the bot) in an event loop of their own thread."""

    def __init__(self, components: list[Any]) -> None:
        self.components = components
        self.loop = asyncio.new_event_loop()
        self.stop_event: asyncio.Event | None = None
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._main(),), daemon=True)
        self.error: BaseException | None = None

    async def _main(self) -> None:
        self.stop_event = asyncio.Event()
        try:
            await asyncio.gather(*(component.run(self.stop_event) for component in self.components))
        except BaseException as error:
            self.error = error
            raise

    def __enter__(self) -> RunningService:
        self.thread.start()
        wait_for(lambda: self.stop_event is not None, message="the event loop")
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.stop_event is not None
        self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(20)
        assert not self.thread.is_alive(), "the service did not stop"
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.run_until_complete(self.loop.shutdown_default_executor())
        self.loop.close()
