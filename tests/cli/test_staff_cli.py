"""``zhengji staff`` beyond ``add``: list, passwd (which ends the account's sessions), disable and enable."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, select

from tests.cli.test_cli import run
from zhengji.staff import verify_password
from zhengji.storage.db import make_engine
from zhengji.storage.models import StaffUser


def test_staff_accounts_are_managed_from_the_command_line(tmp_path: Path) -> None:
    env = {"ZHENGJI_DATA_DIR": str(tmp_path / "var")}
    assert run("staff", "add", "周审核", "--password-stdin", env=env, stdin="first password\n").returncode == 0
    changed = run("staff", "passwd", "周审核", "--password-stdin", env=env, stdin="second password\n")
    assert changed.returncode == 0, changed.stderr
    assert "已重设账号“周审核”的密码" in changed.stdout
    missing = run("staff", "passwd", "无此人", "--password-stdin", env=env, stdin="whatever pass\n")
    assert missing.returncode == 1 and "没有账号“无此人”" in missing.stderr
    assert run("staff", "disable", "周审核", env=env).returncode == 0
    listed = run("staff", "list", env=env)
    assert listed.returncode == 0 and "周审核" in listed.stdout and "已停用" in listed.stdout
    assert run("staff", "enable", "周审核", env=env).returncode == 0
    with Session(make_engine(f"sqlite:///{tmp_path / 'var' / 'zhengji.db'}")) as session:
        user = session.exec(select(StaffUser).where(StaffUser.name == "周审核")).one()
    assert user.active
    assert user.password_hash.startswith("$argon2id$")
    assert verify_password("second password", user.password_hash)
    assert not verify_password("first password", user.password_hash)
