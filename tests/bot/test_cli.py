"""``zhengji ask`` as an operator runs it: a real process each time, so that ``--chat`` has to keep the
conversation, the binding and the notices in the database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlmodel import Session, select

from tests.bot.support import SENDER, code_in, decide, make_settings, make_submission, migrate, outbox_mails
from zhengji.bot.notifier import collect
from zhengji.clock import Clock
from zhengji.storage.db import make_engine
from zhengji.storage.models import ChatState
from zhengji.storage.status import SubmissionStatus

NOW = "2025-06-21T10:00:00+08:00"


def ask(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("ZHENGJI_")}
    environment |= {"COLUMNS": "200", "ZHENGJI_NOW": NOW, "ZHENGJI_DATA_DIR": str(data)}
    return subprocess.run([sys.executable, "-m", "zhengji", "ask", *args], capture_output=True, text=True,
                          env=environment, timeout=120, check=False)  # fmt: skip


def test_ask_prints_the_answer_and_its_json(tmp_path: Path) -> None:
    plain = ask(tmp_path, "新职业什么时候截止？")
    assert plain.returncode == 0, plain.stderr
    assert "2025年6月20日至6月30日" in plain.stdout and "还剩 9 天" in plain.stdout
    assert not (tmp_path / "zhengji.db").exists()  # a one-off question opens no database
    result = ask(tmp_path, "--json", "4-4-5-5", "能报吗")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["intents"] == ["eligibility"] and record["chat"] is None
    assert "人工智能训练师" in record["reply"]
    unknown = ask(tmp_path, "食堂几点开门")
    assert unknown.returncode == 0 and "我不知道" in unknown.stdout and "yanfa312@126.com" in unknown.stdout


def test_ask_rejects_bad_usage(tmp_path: Path) -> None:
    assert ask(tmp_path).returncode == 2
    assert ask(tmp_path, "--chat", "有 空格", "你好").returncode == 2


def test_a_chat_keeps_its_conversation_and_its_binding(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, data_dir=tmp_path, database_url=None)
    engine = migrate(make_engine(settings.resolved_database_url))
    case = make_submission(engine)
    first = ask(tmp_path, "--chat", "clerk-1", "新职业什么时候截止")
    assert first.returncode == 0, first.stderr
    follow_up = ask(tmp_path, "--chat", "clerk-1", "那材料呢")
    assert "新职业信息建议书" in follow_up.stdout
    assert "不同征集事项须提交的材料不同" in ask(tmp_path, "那材料呢").stdout  # no chat, no context
    with Session(engine) as session:
        assert session.exec(select(ChatState)).first() is not None

    assert "验证码已发送" in ask(tmp_path, "--chat", "clerk-1", f"/bind {case.reference}").stdout
    [mail] = outbox_mails(settings)
    assert mail["To"] == SENDER
    collect(engine, Clock(settings.now))
    linked = ask(tmp_path, "--chat", "clerk-1", code_in(mail))
    assert "验证成功" in linked.stdout and "材料需补正" in linked.stdout
    decide(engine, case, SubmissionStatus.accepted)
    collect(engine, Clock(settings.now))
    told = ask(tmp_path, "--chat", "clerk-1", "--json", "你好")
    reply = json.loads(told.stdout)["reply"]
    assert reply.startswith("【进度通知】") and "当前状态为“已受理”" in reply
    assert "材料需补正" not in ask(tmp_path, "--chat", "clerk-2", "/status").stdout
    engine.dispose()
