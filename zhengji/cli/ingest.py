"""``zhengji ingest``: back-fill old mail (.eml files or folders of them) into the pipeline."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from zhengji.cli.context import app, console, context, fail


def _mail_files(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(item for item in path.rglob("*.eml") if item.is_file()))
        elif path.is_file():
            found.append(path)
        else:
            raise fail(f"找不到文件或目录：{path}")
    return found


@app.command("ingest")
def ingest_command(
    ctx: typer.Context,
    paths: list[Path] = typer.Argument(..., help=".eml 文件或包含 .eml 的目录。 .eml files or folders of them."),
    reply: bool = typer.Option(
        False,
        "--reply",
        help="处理后向发件人发送回复（默认只登记、不回复历史邮件）。 Answer the senders (default: file only).",
    ),
) -> None:
    """将历史邮件导入受理流程（已导入的同一封邮件不会重复处理）。 Back-fill old mail into the pipeline."""
    from sqlmodel import Session, select

    from zhengji.mailbox.envelope import receipt_time
    from zhengji.mailbox.intake import Receipt, keep
    from zhengji.storage.blobs import blob_store
    from zhengji.storage.migrate import upgrade
    from zhengji.storage.models import Message, MessageSource

    shared = context(ctx)
    settings = shared.settings
    files = _mail_files(paths)
    engine = shared.engine()
    upgrade(engine)
    blobs = blob_store(settings)
    added = skipped = 0
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("导入邮件", total=len(files))
        for path in files:
            raw = path.read_bytes()
            received = receipt_time(raw) or datetime.fromtimestamp(path.stat().st_mtime, UTC)
            digest = blobs.put(raw)
            with Session(engine) as session:
                # A back-fill run twice must not make two cases of one mail.
                seen = session.exec(
                    select(Message.id).where(Message.sha256 == digest, Message.source == MessageSource.file)
                ).first()
            if seen is not None:
                skipped += 1
            else:
                # No envelope: the mailbox is judged from the mail's own To and Cc headers.
                keep(engine, blobs, raw, Receipt(MessageSource.file, "ingest", received, reply_wanted=reply))
                added += 1
            progress.advance(task)
    answer = "处理后将回复发件人" if reply else "只登记核验结果，不回复发件人"
    console.print(
        f"已导入 {added} 封邮件，跳过已导入的 {skipped} 封；它们将由 zhengji serve 的受理流程处理（{answer}）。"
    )
