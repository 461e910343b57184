"""Settings: the contract's defaults, and one clear line for a wrong value."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from zhengji.clock import SHANGHAI
from zhengji.settings import HostPort, SettingsError, load_settings


def test_defaults_are_the_contracts() -> None:
    settings = load_settings()
    assert settings.data_dir == Path("./var")
    assert settings.resolved_database_url == f"sqlite:///{Path('./var/zhengji.db').resolve()}"
    assert settings.mailboxes == ["yanfa312@126.com", "jnzx_zzyfk@gd.gov.cn"]
    assert settings.smtp_listen == HostPort("127.0.0.1", 2525)
    assert settings.web_listen == HostPort("127.0.0.1", 8000)
    assert settings.imap_url is None
    assert settings.outbound_smtp_url is None
    assert settings.telegram_token is None
    assert settings.now is None
    assert (settings.imap_done_flag, settings.imap_done_folder) == ("$Zhengji", None)


def test_values_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZHENGJI_MAILBOXES", " Yanfa312@126.com , intake@example.org ")
    monkeypatch.setenv("ZHENGJI_SMTP_LISTEN", "")
    monkeypatch.setenv("ZHENGJI_IMAP_URL", "imaps://yanfa312%40126.com:AUTHCODE123@imap.126.com/INBOX")
    monkeypatch.setenv("ZHENGJI_OUTBOUND_SMTP_URL", "smtp://relay.example.org:587?starttls=true")
    monkeypatch.setenv("ZHENGJI_WEB_LISTEN", "[::1]:8080")
    monkeypatch.setenv("ZHENGJI_NOW", "2025-06-21T10:00:00")
    settings = load_settings()
    assert settings.mailboxes == ["yanfa312@126.com", "intake@example.org"]
    assert settings.smtp_listen is None
    assert settings.imap_url is not None
    assert (settings.imap_url.host, settings.imap_url.port, settings.imap_url.path) == ("imap.126.com", 993, "INBOX")
    assert settings.imap_url.username == "yanfa312@126.com"
    assert settings.imap_url.password is not None
    assert settings.imap_url.password.get_secret_value() == "AUTHCODE123"
    assert "AUTHCODE123" not in repr(settings)
    assert settings.outbound_smtp_url is not None and settings.outbound_smtp_url.starttls
    assert settings.web_listen == HostPort("::1", 8080)
    assert settings.now == datetime(2025, 6, 21, 10, 0, tzinfo=SHANGHAI)


def test_the_imap_done_flag_and_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZHENGJI_IMAP_URL", "imaps://yanfa312%40126.com:AUTHCODE123@imap.126.com/INBOX")
    monkeypatch.setenv("ZHENGJI_IMAP_DONE_FLAG", " \\seen ")
    monkeypatch.setenv("ZHENGJI_IMAP_DONE_FOLDER", " 已处理 ")
    settings = load_settings()
    assert (settings.imap_done_flag, settings.imap_done_folder) == ("\\Seen", "已处理")
    monkeypatch.setenv("ZHENGJI_IMAP_DONE_FLAG", "")
    monkeypatch.setenv("ZHENGJI_IMAP_DONE_FOLDER", "")
    settings = load_settings()
    assert (settings.imap_done_flag, settings.imap_done_folder) == ("$Zhengji", None)


def test_dotenv_file_is_read(clean_environment: Path) -> None:
    (clean_environment / ".env").write_text("ZHENGJI_WEB_LISTEN=0.0.0.0:9000\n", encoding="utf-8")
    assert load_settings().web_listen == HostPort("0.0.0.0", 9000)


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("ZHENGJI_SMTP_LISTEN", "localhost", "设置 ZHENGJI_SMTP_LISTEN 有误：应为“主机:端口”"),
        ("ZHENGJI_WEB_LISTEN", "127.0.0.1:99999", "设置 ZHENGJI_WEB_LISTEN 有误：端口应在 1 至 65535 之间"),
        ("ZHENGJI_MAILBOXES", "yanfa312", "设置 ZHENGJI_MAILBOXES 有误：'yanfa312' 不是有效的邮箱地址"),
        ("ZHENGJI_IMAP_URL", "imaps://imap.126.com", "设置 ZHENGJI_IMAP_URL 有误：缺少用户名或授权码"),
        ("ZHENGJI_IMAP_URL", "http://a:b@imap.126.com", "设置 ZHENGJI_IMAP_URL 有误：应以 imap://、imaps:// 开头"),
        ("ZHENGJI_OUTBOUND_SMTP_URL", "mail.example.org", "设置 ZHENGJI_OUTBOUND_SMTP_URL 有误：应以 smtp://"),
        ("ZHENGJI_NOW", "next tuesday", "设置 ZHENGJI_NOW 有误：应为 ISO-8601 时间"),
        ("ZHENGJI_DATABASE_URL", "mysql://x", "设置 ZHENGJI_DATABASE_URL 有误：只支持"),
        ("ZHENGJI_TELEGRAM_TOKEN", "abc", "设置 ZHENGJI_TELEGRAM_TOKEN 有误：不像 Telegram 机器人令牌"),
        ("ZHENGJI_IMAP_DONE_FLAG", "已处理", "设置 ZHENGJI_IMAP_DONE_FLAG 有误：“已处理”不是有效的 IMAP 标记"),
        ("ZHENGJI_IMAP_DONE_FLAG", "$Zheng ji", "设置 ZHENGJI_IMAP_DONE_FLAG 有误：“$Zheng ji”不是有效的 IMAP 标记"),
        ("ZHENGJI_IMAP_DONE_FLAG", "(Done)", "设置 ZHENGJI_IMAP_DONE_FLAG 有误：“(Done)”不是有效的 IMAP 标记"),
        ("ZHENGJI_IMAP_DONE_FLAG", "Done*", "设置 ZHENGJI_IMAP_DONE_FLAG 有误：“Done*”不是有效的 IMAP 标记"),
        ("ZHENGJI_IMAP_DONE_FLAG", "\\Done", "设置 ZHENGJI_IMAP_DONE_FLAG 有误：“\\Done”不是 IMAP 系统标记"),
        ("ZHENGJI_IMAP_DONE_FLAG", "\\Deleted", "设置 ZHENGJI_IMAP_DONE_FLAG 有误：不能使用 \\Deleted"),
        ("ZHENGJI_IMAP_DONE_FOLDER", "Done*", "设置 ZHENGJI_IMAP_DONE_FOLDER 有误：“Done*”不是有效的文件夹名称"),
    ],
)
def test_a_wrong_setting_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    message = str(raised.value)
    assert message.startswith(expected)
    assert "\n" not in message


def test_a_keyword_in_dotenv_keeps_its_dollar(clean_environment: Path) -> None:
    (clean_environment / ".env").write_text("ZHENGJI_IMAP_DONE_FLAG=$Done\n", encoding="utf-8")
    assert load_settings().imap_done_flag == "$Done"  # not taken for a variable to expand


def test_the_done_folder_cannot_be_the_watched_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    # Moving a mail into the folder it came from would give it a new UID there, and the watcher would read it again.
    monkeypatch.setenv("ZHENGJI_IMAP_URL", "imaps://yanfa312%40126.com:AUTHCODE123@imap.126.com/INBOX")
    monkeypatch.setenv("ZHENGJI_IMAP_DONE_FOLDER", "inbox")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert str(raised.value) == "设置 ZHENGJI_IMAP_DONE_FOLDER 有误：不能与所监视的文件夹“INBOX”相同"


def test_env_example_names_every_setting_and_loads_as_is(clean_environment: Path) -> None:
    from zhengji.settings import ENV_PREFIX, Settings

    example = (Path(__file__).resolve().parents[1] / ".env.example").read_text(encoding="utf-8")
    named = {line.split("=", 1)[0].lstrip("# ").strip() for line in example.splitlines() if "=" in line}
    assert {f"{ENV_PREFIX}{name.upper()}" for name in Settings.model_fields} <= named
    (clean_environment / ".env").write_text(example, encoding="utf-8")
    settings = load_settings()
    assert settings.smtp_listen == HostPort("127.0.0.1", 2525)
    assert settings.mailboxes == ["yanfa312@126.com", "jnzx_zzyfk@gd.gov.cn"]
    assert settings.imap_done_flag == "$Zhengji"
    assert settings.imap_done_folder is None


def test_json_logs_are_one_object_a_line() -> None:
    import json
    import logging

    from zhengji.logs import JsonFormatter

    record = logging.LogRecord("zhengji.mailbox", logging.INFO, __file__, 1, "收到邮件 %s", ("<a@b>",), None)
    record.reference = "ZJ-2025Q2-7K3M9P"
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert entry["message"] == "收到邮件 <a@b>"
    assert entry["reference"] == "ZJ-2025Q2-7K3M9P"
    assert (entry["level"], entry["logger"]) == ("INFO", "zhengji.mailbox")
    assert "\n" not in line
