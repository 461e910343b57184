"""``zhengji db upgrade`` and ``zhengji staff add``."""

from __future__ import annotations

import sys

import typer

from zhengji.cli.context import app, console, context, fail

db_app = typer.Typer(help="数据库维护。 Database maintenance.", no_args_is_help=True)
staff_app = typer.Typer(help="工作人员账号。 Staff accounts of the web queue.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(staff_app, name="staff")


@db_app.command("upgrade")
def upgrade_command(ctx: typer.Context) -> None:
    """将数据库升级到最新结构（空库则新建）。 Migrate the database to the latest schema."""
    from zhengji.storage.migrate import current_revision, upgrade

    engine = context(ctx).engine()
    before = current_revision(engine)
    try:
        upgrade(engine)
    except Exception as error:  # the operator needs the reason, not a traceback
        raise fail(f"数据库升级失败：{error}") from error
    after = current_revision(engine)
    url = engine.url.render_as_string(hide_password=True)
    if before == after:
        console.print(f"数据库已是最新结构（{after}）：{url}")
    else:
        console.print(f"数据库已升级：{before or '空库'} → {after}：{url}")


@staff_app.command("add")
def staff_add_command(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="账号名称。 Account name."),
    admin: bool = typer.Option(False, "--admin", help="授予管理员权限。 Grant administrator rights."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="从标准输入读取一行作为密码。 Read the password from standard input."
    ),
) -> None:
    """新建一个工作人员账号。 Create a staff account for the web queue."""
    from zhengji.staff import StaffError, add_staff
    from zhengji.storage.db import session_scope
    from zhengji.storage.migrate import upgrade

    shared = context(ctx)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("密码 Password", hide_input=True, confirmation_prompt=True)
    engine = shared.engine()
    upgrade(engine)
    try:
        with session_scope(engine) as session:
            add_staff(session, name, password, admin=admin, at=shared.now())
    except StaffError as error:
        raise fail(str(error)) from None
    role = "管理员" if admin else "审核人员"
    console.print(f"已新建{role}账号：{name.strip()}")
