"""``zhengji corrections export``: every field a reviewer corrected, as a parser test case."""

from __future__ import annotations

from pathlib import Path

import typer

from zhengji.cli.context import app, console, context, fail

corrections_app = typer.Typer(
    help="审核人员的更正记录。 Reviewers' corrections of what zhengji read.", no_args_is_help=True
)
app.add_typer(corrections_app, name="corrections")


@corrections_app.command("export")
def corrections_export_command(
    ctx: typer.Context,
    out: Path = typer.Option(Path("corrections"), "--out", help="导出目录。 The folder to write to."),
    since: str | None = typer.Option(
        None, "--since", metavar="DATE", help="只导出该日期以后的更正。 Only corrections made on or after DATE."
    ),
) -> None:
    """导出经人工更正的文件及其确认后的栏目，供解析程序回归测试使用。

    Export each corrected document with the fields a person confirmed: OUT/REFERENCE-ID/ holds the original
    file and case.json (form, format, confirmed fields, and the machine's readings they replaced).
    """
    from sqlmodel import Session

    from zhengji.clock import parse_instant
    from zhengji.review.corrections import export_corrections
    from zhengji.storage.blobs import blob_store
    from zhengji.storage.migrate import upgrade

    shared = context(ctx)
    try:
        start = parse_instant(since) if since else None
    except ValueError:
        raise fail(f"--since 应为日期，例如 2025-06-20，而不是 {since!r}", code=2) from None
    engine = shared.engine()
    upgrade(engine)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise fail(f"无法创建导出目录 {out}：{error}") from None
    with Session(engine) as session:
        written = export_corrections(session, blob_store(shared.settings), out, since=start)
    if not written:
        console.print("没有需要导出的更正记录。")
        return
    for item in written:
        console.print(f"{item.folder}  {item.file or '（原文件缺失）'}", highlight=False)
    console.print(f"已导出 {len(written)} 个经人工更正的文件到 {out}。")
