"""The command line as an operator runs it: a real process, real exit codes, real output."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.servers.ports import free_port


def run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("ZHENGJI_")}
    environment.update({"COLUMNS": "200", **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "zhengji", *args],
        capture_output=True,
        text=True,
        env=environment,
        input=stdin,
        timeout=120,
        check=False,
    )


def test_help_is_in_chinese_and_english() -> None:
    result = run("--help")
    assert result.returncode == 0
    assert "职业技能鉴定中心" in result.stdout
    assert "intake desk" in result.stdout
    for verb in ("notices", "windows", "db", "staff", "serve"):
        assert verb in result.stdout
    windows_help = run("windows", "--help")
    assert windows_help.returncode == 0
    assert "受理窗口" in windows_help.stdout and "windows" in windows_help.stdout


def test_notices_shows_every_track_with_its_windows() -> None:
    result = run("notices", env={"ZHENGJI_NOW": "2025-06-21T10:00:00+08:00"})
    assert result.returncode == 0, result.stderr
    for text in ("新职业征集", "沪人社职〔2025〕77号", "yanfa312@126.com", "jnzx_zzyfk@gd.gov.cn", "还剩 9 天"):
        assert text in result.stdout


def test_notices_json_uses_the_fixed_clock() -> None:
    result = run("notices", "--json", env={"ZHENGJI_NOW": "2024-10-22T23:00:00+08:00"})
    assert result.returncode == 0, result.stderr
    records = {record["track"]: record for record in _json_lines(result.stdout)}
    skill = records["skill_level_occupation"]
    assert skill["in_window"] is True
    assert skill["window"] == {"start": "2024-09-25", "end": "2024-10-22"}
    assert skill["next_window"] == {"start": "2025-03-20", "end": "2025-03-30"}
    assert skill["notice"] == "沪人社职〔2024〕319号"
    assert skill["days_left"] == 0
    gd = records["gd_new_occupation"]
    assert gd["in_window"] is False and gd["next_window"] == {"start": "2026-06-02", "end": "2026-08-10"}


def test_windows_lists_from_a_date() -> None:
    result = run("windows", "gd_new_occupation", "--from", "2026-01-01", "--count", "3", "--json")
    assert result.returncode == 0, result.stderr
    assert [(r["start"], r["end"]) for r in _json_lines(result.stdout)] == [
        ("2026-06-02", "2026-08-10"),
        ("2026-08-11", "2026-12-31"),
        ("2027-01-01", "2027-05-31"),
    ]


def test_windows_defaults_to_today_from_zhengji_now() -> None:
    result = run("windows", "new_occupation", "--count", "1", env={"ZHENGJI_NOW": "2025-07-01T00:00:00+08:00"})
    assert result.returncode == 0, result.stderr
    assert "2025-09-20" in result.stdout and "未开始" in result.stdout


def test_bad_usage_exits_2() -> None:
    assert run("windows", "no_such_track").returncode == 2
    bad_date = run("windows", "new_occupation", "--from", "June")
    assert bad_date.returncode == 2
    assert "--from 应为日期" in bad_date.stderr


def test_wrong_setting_stops_with_one_line() -> None:
    result = run("notices", env={"ZHENGJI_WEB_LISTEN": "port-eight-thousand"})
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("zhengji: 设置 ZHENGJI_WEB_LISTEN 有误")


def test_db_upgrade_creates_and_then_keeps_the_database(tmp_path: Path) -> None:
    env = {"ZHENGJI_DATA_DIR": str(tmp_path / "var")}
    first = run("db", "upgrade", env=env)
    assert first.returncode == 0, first.stderr
    assert "数据库已升级" in first.stdout
    assert (tmp_path / "var" / "zhengji.db").exists()
    second = run("db", "upgrade", env=env)
    assert second.returncode == 0
    assert "已是最新结构" in second.stdout


def test_staff_add_reads_the_password_from_stdin(tmp_path: Path) -> None:
    env = {"ZHENGJI_DATA_DIR": str(tmp_path / "var")}
    created = run("staff", "add", "王老师", "--admin", "--password-stdin", env=env, stdin="correct horse\n")
    assert created.returncode == 0, created.stderr
    assert "已新建管理员账号：王老师" in created.stdout
    again = run("staff", "add", "王老师", "--password-stdin", env=env, stdin="another pass\n")
    assert again.returncode == 1
    assert "已存在" in again.stderr
    short = run("staff", "add", "李老师", "--password-stdin", env=env, stdin="short\n")
    assert short.returncode == 1
    assert "至少应有 8 个字符" in short.stderr

    from sqlmodel import Session, select

    from zhengji.staff import verify_password
    from zhengji.storage.db import make_engine
    from zhengji.storage.models import StaffUser

    with Session(make_engine(f"sqlite:///{tmp_path / 'var' / 'zhengji.db'}")) as session:
        user = session.exec(select(StaffUser)).one()
        assert user.is_admin
        assert verify_password("correct horse", user.password_hash)
        assert not verify_password("wrong horse", user.password_hash)


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_serve_answers_and_stops_cleanly(tmp_path: Path, stop_signal: signal.Signals) -> None:
    port = free_port()
    environment = {key: value for key, value in os.environ.items() if not key.startswith("ZHENGJI_")}
    environment.update(
        {
            "ZHENGJI_DATA_DIR": str(tmp_path / "var"),
            "ZHENGJI_WEB_LISTEN": f"127.0.0.1:{port}",
            "ZHENGJI_SMTP_LISTEN": f"127.0.0.1:{free_port()}",
            "ZHENGJI_NOW": "2025-06-21T10:00:00+08:00",
        }
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "zhengji", "serve"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        page = _wait_for(f"http://127.0.0.1:{port}/", process)
        assert "征集事项与受理时间" in page
        assert "正在受理" in page  # 2025-06-21 is inside the June window
        health = json.loads(_wait_for(f"http://127.0.0.1:{port}/healthz", process))
        assert health["status"] == "ok"
        process.send_signal(stop_signal)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, output
    assert "zhengji stopped" in output
    assert "Traceback" not in output
    assert (tmp_path / "var" / "zhengji.db").exists()


def _wait_for(url: str, process: subprocess.Popen[str]) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited early: {process.stdout.read() if process.stdout else ''}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return str(response.read().decode("utf-8"))
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within 60 s")


def _json_lines(text: str) -> list[dict[str, object]]:
    # Rich pretty-prints each JSON object over several lines; split on top-level objects.
    decoder = json.JSONDecoder()
    records, index = [], 0
    text = text.strip()
    while index < len(text):
        record, end = decoder.raw_decode(text, index)
        records.append(record)
        index = end
        while index < len(text) and text[index].isspace():
            index += 1
    return records


def test_parse_prints_one_json_line_per_file(tmp_path: Path) -> None:
    from tests.fixtures.forms.proposal_docx import build_proposal_docx, sample_proposal
    from tests.fixtures.forms.tables_docx import cover_letter_docx

    (tmp_path / "建议书.docx").write_bytes(build_proposal_docx(sample_proposal()))
    (tmp_path / "说明.docx").write_bytes(cover_letter_docx())
    result = run("parse", str(tmp_path / "建议书.docx"), str(tmp_path / "说明.docx"), "--json")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(line["file"], line["form"]) for line in lines] == [
        ("建议书.docx", "new_occupation_proposal"),
        ("说明.docx", "unknown"),
    ]
    assert set(lines[0]) == {"file", "format", "form", "fields", "findings"}


def test_parse_of_a_missing_file_exits_1(tmp_path: Path) -> None:
    result = run("parse", str(tmp_path / "没有这个文件.docx"), "--json")
    assert result.returncode == 1
    assert "无法读取文件" in result.stderr


def test_check_of_loose_files_without_to_does_not_judge_the_mailbox(tmp_path: Path) -> None:
    from tests.fixtures.forms.proposal_docx import build_proposal_docx, sample_proposal

    path = tmp_path / "新职业建议书.docx"
    path.write_bytes(build_proposal_docx(sample_proposal("guangdong"), province="guangdong"))
    result = run("check", str(path), "--json", "--received", "2026-07-01T10:00:00+08:00")
    assert result.returncode == 0, result.stderr
    checked = json.loads(result.stdout)
    assert (checked["track"], checked["status"]) == ("gd_new_occupation", "complete")
    assert checked["notice"] == "粤人社函〔2026〕159号"
    assert "广东省职业技能服务指导中心" in checked["reply"]["body"]
    bad = run("check", str(path), "--received", "yesterday")
    assert bad.returncode == 2


def test_ingest_backfills_a_folder_once(tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "old"
    folder.mkdir()
    corpus = Path(__file__).resolve().parents[1] / "fixtures" / "mail"
    for name in ("netease_sh_word_only.eml", "wps_gd_complete.eml"):
        shutil.copy(corpus / name, folder / name)
    env = {"ZHENGJI_DATA_DIR": str(tmp_path / "var")}
    first = run("ingest", str(folder), env=env)
    assert first.returncode == 0, first.stderr
    assert "已导入 2 封邮件" in first.stdout and "不回复发件人" in first.stdout
    again = run("ingest", str(folder / "wps_gd_complete.eml"), env=env)
    assert "已导入 0 封邮件，跳过已导入的 1 封" in again.stdout
    assert run("ingest", str(tmp_path / "nowhere"), env=env).returncode == 1


def test_serve_receives_over_smtp_and_answers_into_the_outbox(tmp_path: Path) -> None:
    """`make run`'s promise end to end: the built-in SMTP inbox, the workers, the reply in the Maildir."""
    import mailbox as std_mailbox
    import smtplib

    web, smtp = free_port(), free_port()
    environment = {key: value for key, value in os.environ.items() if not key.startswith("ZHENGJI_")}
    environment.update(
        {
            "ZHENGJI_DATA_DIR": str(tmp_path / "var"),
            "ZHENGJI_WEB_LISTEN": f"127.0.0.1:{web}",
            "ZHENGJI_SMTP_LISTEN": f"127.0.0.1:{smtp}",
            "ZHENGJI_NOW": "2025-06-23T16:45:00+08:00",
            "ZHENGJI_LOG_LEVEL": "INFO",
        }
    )
    raw = (Path(__file__).resolve().parents[1] / "fixtures" / "mail" / "netease_sh_word_only.eml").read_bytes()
    process = subprocess.Popen(
        [sys.executable, "-m", "zhengji", "serve"], env=environment, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        _wait_for(f"http://127.0.0.1:{web}/healthz", process)
        with smtplib.SMTP("127.0.0.1", smtp, timeout=30) as client:
            refused = client.sendmail("hr@yiwu-tech.com.cn", ["someone@else.example", "yanfa312@126.com"], raw)
        assert list(refused) == ["someone@else.example"]
        outbox = tmp_path / "var" / "outbox"
        deadline = time.monotonic() + 90
        replies: list[std_mailbox.MaildirMessage] = []
        while time.monotonic() < deadline and not replies:
            if (outbox / "new").exists():
                replies = list(std_mailbox.Maildir(outbox, create=False))
            time.sleep(0.3)
        assert len(replies) == 1, "no reply reached the outbox"
        reply = replies[0]
        assert reply["To"] == "hr@yiwu-tech.com.cn"
        assert reply["Auto-Submitted"] == "auto-replied"
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, output
    # The log an operator reads: one line for the stored mail and one for each step, not the SMTP dialogue.
    assert "stored mail 1 " in output and "message 1: parse took" in output and "message 1: reply took" in output
    assert " mail.log " not in output and "rcpt TO" not in output


def test_reprocess_queues_a_corrected_reply_only_when_asked(tmp_path: Path) -> None:
    from sqlmodel import Session, select

    from zhengji.mailbox.envelope import receipt_time
    from zhengji.mailbox.intake import Receipt, keep
    from zhengji.mailbox.pipeline import Pipeline
    from zhengji.settings import load_settings
    from zhengji.storage.blobs import blob_store
    from zhengji.storage.db import make_engine
    from zhengji.storage.migrate import upgrade
    from zhengji.storage.models import Message, MessageSource, MessageState, Reply, Submission
    from zhengji.storage.status import Verdict, record_verdict

    settings = load_settings(data_dir=tmp_path / "var")
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    raw = (Path(__file__).resolve().parents[1] / "fixtures" / "mail" / "netease_sh_word_only.eml").read_bytes()
    received = receipt_time(raw)
    assert received is not None
    to = "yanfa312@126.com"
    keep(engine, blob_store(settings), raw, Receipt(MessageSource.smtp, to, received, None, [to]))
    pipeline = Pipeline(engine, settings)
    while pipeline.run_once():
        pass
    with Session(engine) as session:
        submission = session.exec(select(Submission)).one()
        reference = submission.reference
        record_verdict(session, submission, Verdict.complete, actor="pipeline")  # what an older parser had said
        session.commit()
    env = {"ZHENGJI_DATA_DIR": str(tmp_path / "var")}

    usage = run("reprocess", env=env)
    assert usage.returncode == 2 and "--failed" in usage.stderr
    unknown = run("reprocess", "ZJ-2025Q2-AAAAAA", env=env)
    assert unknown.returncode == 1 and "找不到受理编号：ZJ-2025Q2-AAAAAA" in unknown.stderr

    quiet = run("reprocess", reference.lower(), env=env)
    assert quiet.returncode == 0, quiet.stderr
    assert reference in quiet.stdout and "材料齐全，待审核" in quiet.stdout and "材料需补正" in quiet.stdout
    assert "未发送（未要求）" in quiet.stdout
    with Session(engine) as session:
        assert len(session.exec(select(Reply)).all()) == 1

    # The verdict is already corrected: asking for a reply now has nothing new to tell.
    nothing_new = run("reprocess", reference, "--reply", env=env)
    assert "结果未变，未重复发送" in nothing_new.stdout

    with Session(engine) as session:
        submission = session.exec(select(Submission)).one()
        record_verdict(session, submission, Verdict.complete, actor="pipeline")
        session.commit()
    loud = run("reprocess", reference, "--reply", env=env)
    assert loud.returncode == 0, loud.stderr
    assert "已重新发送" in loud.stdout
    with Session(engine) as session:
        assert [reply.sequence for reply in session.exec(select(Reply)).all()] == [1, 2]
        assert session.exec(select(Message)).one().state is MessageState.checked  # the workers send it
    engine.dispose()


def test_reprocess_outdated_picks_what_an_older_parser_read(tmp_path: Path) -> None:
    from sqlalchemy import update
    from sqlmodel import Session, col, select

    from zhengji.mailbox.envelope import receipt_time
    from zhengji.mailbox.intake import Receipt, keep
    from zhengji.mailbox.pipeline import Pipeline
    from zhengji.parsers.document import PARSER_VERSION
    from zhengji.settings import load_settings
    from zhengji.storage.blobs import blob_store
    from zhengji.storage.db import make_engine
    from zhengji.storage.migrate import upgrade
    from zhengji.storage.models import Document, MessageSource, Submission

    settings = load_settings(data_dir=tmp_path / "var")
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    store = blob_store(settings)
    to = "yanfa312@126.com"
    for name in ("netease_sh_word_only.eml", "foxmail_special_ability_project.eml"):
        raw = (Path(__file__).resolve().parents[1] / "fixtures" / "mail" / name).read_bytes()
        received = receipt_time(raw)
        assert received is not None
        keep(engine, store, raw, Receipt(MessageSource.smtp, to, received, None, [to]))
    pipeline = Pipeline(engine, settings)
    while pipeline.run_once():
        pass
    with Session(engine) as session:
        references = [submission.reference for submission in session.exec(select(Submission)).all()]
        assert len(references) == 2
        first = session.exec(select(Submission).where(Submission.reference == references[0])).one()
        session.execute(
            update(Document).where(col(Document.submission_id) == first.id).values(parser_version="0.0.1+old")
        )
        session.commit()
    env = {"ZHENGJI_DATA_DIR": str(tmp_path / "var")}

    done = run("reprocess", "--outdated", env=env)
    assert done.returncode == 0, done.stderr
    assert references[0] in done.stdout and references[1] not in done.stdout
    with Session(engine) as session:
        versions = {document.parser_version for document in session.exec(select(Document)).all()}
    assert PARSER_VERSION in versions
    again = run("reprocess", "--outdated", env=env)
    assert "没有需要重新解析的申报" in again.stdout
    engine.dispose()


def test_reprocess_failed_puts_failed_mail_back_on_its_path(tmp_path: Path) -> None:
    from sqlmodel import Session

    from tests.mailbox.pipeline_support import CORPUS, arrive, outbox, settle
    from zhengji.settings import load_settings
    from zhengji.storage.blobs import LocalBlobStore
    from zhengji.storage.db import make_engine
    from zhengji.storage.migrate import upgrade
    from zhengji.storage.models import Message, MessageState

    settings = load_settings(data_dir=tmp_path / "var")
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    raw = (CORPUS / "netease_sh_word_only.eml").read_bytes()
    message_id = arrive(engine, settings, raw)
    with Session(engine) as session:
        message = session.get(Message, message_id)
        assert message is not None
        stored = LocalBlobStore(settings.blob_dir).path(message.sha256)
    stored.write_bytes(b"damaged")  # a disk fault: the pipeline cannot read the mail and gives it to staff
    settle(engine, settings)
    env = {"ZHENGJI_DATA_DIR": str(tmp_path / "var")}
    stored.write_bytes(raw)  # restored from the backup

    done = run("reprocess", "--failed", env=env)
    assert done.returncode == 0, done.stderr
    assert "hr@yiwu-tech.com.cn" in done.stdout and "报送新职业信息建议书" in done.stdout
    assert "解析" in done.stdout and "damaged" in done.stdout
    with Session(engine) as session:
        message = session.get(Message, message_id)
        assert message is not None and (message.state, message.attempts) == (MessageState.received, 0)
    settle(engine, settings)
    assert len(outbox(settings)) == 1
    again = run("reprocess", "--failed", env=env)
    assert again.returncode == 0 and "没有处理失败的邮件" in again.stdout
    engine.dispose()
