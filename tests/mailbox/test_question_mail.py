"""Mail that is no submission, through the real pipeline (database, blob store, Maildir outbox): a question is
answered from the notices and demands nothing; a mail that answers a case without files leaves the case as it
was; a cover letter alone is asked for the forms."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tests.fixtures.forms.tables_docx import cover_letter_docx
from tests.mailbox.eml_builders import foxmail_mail
from tests.mailbox.pipeline_support import CORPUS, SH, arrive, body_of, drain, outbox
from zhengji.mailbox.compose import compose_reply
from zhengji.mailbox.pipeline import Pipeline
from zhengji.parsers.document import ParseOptions, parse_attachments
from zhengji.parsers.submission import Mail, judge
from zhengji.settings import Settings, load_settings
from zhengji.storage.models import AuditEvent, Document, Message, Reply, Submission

RECEIVED = b"Received: by mx.126.com; Sat, 21 Jun 2025 10:00:00 +0800\r\n"
ASKER = ("王芳", "wangfang@example.com")


@pytest.fixture
def settings(engine: Engine, tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path / "var", database_url=engine.url.render_as_string(hide_password=False))


def _bodies(settings: Settings) -> list[str]:
    return [body_of(bytes(sent)) for sent in outbox(settings)]


def test_a_question_mail_is_answered_from_the_notices_and_demands_nothing(engine: Engine, settings: Settings) -> None:
    raw = RECEIVED + foxmail_mail(
        "请问新职业申报需要哪些材料", ASKER, [SH], "您好！我单位拟申报新职业，请问需要准备哪些材料？谢谢。"
    )
    arrive(engine, settings, raw)
    assert drain(Pipeline(engine, settings)) == 3  # parse, check, reply
    with Session(engine) as session:
        submission = session.exec(select(Submission)).one()
        assert (submission.track, submission.status.value) == ("unknown", "unknown")  # in the queue, 待人工确认
        assert session.exec(select(Document)).all() == []
        [status] = [event for event in session.exec(select(AuditEvent)) if event.action == "verdict"]
        assert status.detail["findings"] == []
    [body] = _bodies(settings)
    # The answer, from the notice: its forms, their formats, the mailbox and the window.
    assert "《新职业信息建议书》（沪人社职〔2025〕77号附件1）：须同时提交PDF版和WORD版" in body
    assert "yanfa312@126.com" in body and "2025年6月20日至6月30日" in body
    # Nothing demanded, no verdict, no 受理编号 for what is no submission.
    for demand in (
        "未收到",
        "缺少",
        "请补充发送",
        "材料存在以下问题",
        "未能识别本邮件所属的征集事项",
        submission.reference,
    ):
        assert demand not in body, body
    assert "上海市职业技能鉴定中心" in body and "未作为申报受理" in body


def test_a_mail_that_answers_a_case_without_files_leaves_the_case_intact(engine: Engine, settings: Settings) -> None:
    first = (CORPUS / "foxmail_sh_complete.eml").read_bytes()
    arrive(engine, settings, first)
    pipeline = Pipeline(engine, settings)
    drain(pipeline)
    with Session(engine) as session:
        case = session.exec(select(Submission)).one()
        before = (case.track, case.status, case.version)
        documents = {row.id for row in session.exec(select(Document)) if not row.superseded}
        our_reply = session.exec(select(Reply)).one().message_id_header
    assert len(documents) == 4
    original = message_from_bytes(first, policy=policy.default)
    thanks = RECEIVED + foxmail_mail(
        f"回复：{original['Subject']}",
        ("某单位", str(original["From"].addresses[0].addr_spec)),
        [SH],
        "收到，谢谢！请问审核结果大约何时通知？",
    ).replace(b"Message-ID:", f"In-Reply-To: {our_reply}\r\nMessage-ID:".encode(), 1)
    later = arrive(engine, settings, thanks)
    drain(pipeline)
    with Session(engine) as session:
        submissions = session.exec(select(Submission)).all()
        assert len(submissions) == 1  # no new case
        case = submissions[0]
        assert (case.track, case.status, case.version) == before  # no new version, no verdict changed
        assert {row.id for row in session.exec(select(Document)) if not row.superseded} == documents
        message = session.get(Message, later)
        assert message is not None and message.submission_id == case.id  # filed to the case for the clerk
        answer = session.exec(select(Reply).where(Reply.message_id == later)).one()
    assert case.reference in answer.subject
    assert "此前收到的申报材料及核验结果不变" in answer.body
    assert "未收到" not in answer.body and "缺少" not in answer.body


def test_a_cover_letter_alone_is_asked_for_the_forms() -> None:
    received = datetime(2025, 6, 21, 2, 0, tzinfo=UTC)
    mail = Mail([("说明函.docx", cover_letter_docx())], received, to=[SH], subject="材料报送", sender_name="张三")
    checked = judge(mail, parse_attachments(mail.attachments, ParseOptions(at=received, isolate=False)))
    assert (checked.track, checked.status) == ("unknown", "unknown")
    [asked] = [finding for finding in checked.findings if finding.severity == "error"]
    assert asked.code == "missing_document"
    assert "《新职业信息建议书》（附件1）、《新职业汇总表》（附件2）" in asked.message
    assert "《社会化职业技能等级认定职业（工种）推荐表》（附件1）" in asked.message
    body = compose_reply(checked, None, received.date()).body
    assert asked.message in body


def test_a_cover_letter_whose_subject_names_the_track_is_asked_for_that_tracks_forms() -> None:
    received = datetime(2025, 6, 21, 2, 0, tzinfo=UTC)
    mail = Mail([("说明函.docx", cover_letter_docx())], received, to=[SH], subject="新职业征集材料")
    checked = judge(mail, parse_attachments(mail.attachments, ParseOptions(at=received, isolate=False)))
    assert (checked.track, checked.status) == ("new_occupation", "incomplete")
    messages = [finding.message for finding in checked.findings if finding.code == "missing_document"]
    assert messages == [
        "未收到《新职业信息建议书》（附件1），请补充发送。",
        "未收到《新职业汇总表》（附件2），请补充发送。",
    ]
