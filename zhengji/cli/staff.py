"""``zhengji staff list|passwd|disable|enable``: the accounts of the staff queue (``staff add`` is in ``db``)."""

from __future__ import annotations

import sys

import typer
from rich.table import Table

from zhengji.cli.context import console, context, fail
from zhengji.cli.db import staff_app


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("新密码 New password", hide_input=True, confirmation_prompt=True))


@staff_app.command("list")
def staff_list_command(ctx: typer.Context) -> None:
    """列出全部工作人员账号。 List the staff accounts."""
    from sqlmodel import Session, col, select

    from zhengji.storage.migrate import upgrade
    from zhengji.storage.models import StaffUser

    engine = context(ctx).engine()
    upgrade(engine)
    with Session(engine) as session:
        users = session.exec(select(StaffUser).order_by(col(StaffUser.name))).all()
    table = Table(title="工作人员账号")
    for header in ("账号 Name", "角色 Role", "状态 State", "最近登录 Last sign-in"):
        table.add_column(header)
    for user in users:
        table.add_row(
            user.name,
            "管理员" if user.is_admin else "审核人员",
            "启用" if user.active else "已停用",
            user.last_login_at.isoformat(timespec="minutes") if user.last_login_at else "从未登录",
        )
    console.print(table)


@staff_app.command("passwd")
def staff_passwd_command(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="账号名称。 Account name."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="从标准输入读取一行作为密码。 Read the password from standard input."
    ),
) -> None:
    """重设账号密码（该账号的所有登录随即失效）。 Set a new password; the account's sessions end."""
    from zhengji.clock import real_now
    from zhengji.staff import StaffError, change_password, find_staff
    from zhengji.storage.db import session_scope
    from zhengji.storage.migrate import upgrade

    engine = context(ctx).engine()
    upgrade(engine)
    password = _password(password_stdin)
    try:
        with session_scope(engine) as session:
            user = find_staff(session, name)
            if user is None:
                raise StaffError(f"没有账号“{name.strip()}”。")
            change_password(session, user, password, at=real_now(), actor="cli")
    except StaffError as error:
        raise fail(str(error)) from None
    console.print(f"已重设账号“{name.strip()}”的密码，该账号的所有登录均已退出。")


def _set_active(ctx: typer.Context, name: str, active: bool) -> None:
    from zhengji.clock import real_now
    from zhengji.staff import StaffError, find_staff, set_active
    from zhengji.storage.db import session_scope
    from zhengji.storage.migrate import upgrade

    engine = context(ctx).engine()
    upgrade(engine)
    try:
        with session_scope(engine) as session:
            user = find_staff(session, name)
            if user is None:
                raise StaffError(f"没有账号“{name.strip()}”。")
            set_active(session, user, active, at=real_now(), actor="cli")
    except StaffError as error:
        raise fail(str(error)) from None
    console.print(f"已{'启用' if active else '停用'}账号“{name.strip()}”。")


@staff_app.command("disable")
def staff_disable_command(ctx: typer.Context, name: str = typer.Argument(..., help="账号名称。 Account name.")) -> None:
    """停用账号（其登录随即失效）。 Switch an account off; its sessions end."""
    _set_active(ctx, name, False)


@staff_app.command("enable")
def staff_enable_command(ctx: typer.Context, name: str = typer.Argument(..., help="账号名称。 Account name.")) -> None:
    """重新启用账号。 Switch an account on again."""
    _set_active(ctx, name, True)
