"""``zhengji parse`` and ``zhengji check``: the parsers and checks, on files, as scripts call them."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from zhengji.cli.context import app, console, context, fail
from zhengji.clock import parse_instant, shanghai_date


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise fail(f"无法读取文件 {path}：{error.strerror or error}") from None


@app.command("parse")
def parse_command(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(..., help="要解析的文件。 Files to parse."),
    as_json: bool = typer.Option(False, "--json", help="每个文件输出一行 JSON。 One JSON object per line."),
) -> None:
    """解析附件并逐一核验。 Parse attachments into the notices' forms and check each one."""
    from zhengji.parsers.document import ParseOptions, parse_attachment

    shared = context(ctx)
    options = ParseOptions.from_settings(shared.settings, shared.now())
    for path in files:
        for document in parse_attachment(path.name, _read(path), options):
            if as_json:
                typer.echo(json.dumps(document.as_json(), ensure_ascii=False))
                continue
            table = Table(title=f"{document.file}（{document.format} · {document.form}）", show_lines=False)
            for header in ("级别 Severity", "代码 Code", "位置 Where", "说明 Message"):
                table.add_column(header)
            for finding in document.findings:
                where = ".".join(filter(None, [finding.field, f"第{finding.row}行" if finding.row else None]))
                table.add_row(finding.severity, finding.code, where, finding.message)
            console.print(table if document.findings else f"{document.file}：{document.form}，未发现问题。")


@app.command("check")
def check_command(
    ctx: typer.Context,
    inputs: list[Path] = typer.Argument(
        ..., help="一个 .eml 邮件文件，或一次申报的全部附件。 One .eml file, or the attachment files."
    ),
    as_json: bool = typer.Option(False, "--json", help="输出 JSON。 Print JSON."),
    received: str | None = typer.Option(
        None, "--received", metavar="ISO-8601", help="收件时间（默认取邮件的 Received 头或当前时间）。 Receipt time."
    ),
    to: str | None = typer.Option(None, "--to", metavar="ADDRESS", help="收件邮箱。 The address it was sent to."),
) -> None:
    """核验一次申报并给出自动回复。 Check one submission (an .eml, or its attachments) and show the reply."""
    from zhengji.mailbox.answer import compose_question, is_question, question_text
    from zhengji.mailbox.compose import compose_reply
    from zhengji.mailbox.envelope import receipt_time
    from zhengji.mailbox.mime import parse_mail
    from zhengji.parsers.document import ParseOptions, parse_attachments
    from zhengji.parsers.submission import Mail, judge

    shared = context(ctx)
    try:
        moment = parse_instant(received) if received else None
    except ValueError:
        raise fail(f"--received 应为 ISO-8601 时间，例如 2025-06-21T10:00:00+08:00，而不是 {received!r}", 2) from None
    blobs = [(path, _read(path)) for path in inputs]
    is_mail = len(blobs) == 1 and (inputs[0].suffix.lower() == ".eml" or _looks_like_mail(blobs[0][1]))
    if is_mail:
        raw = blobs[0][1]
        incoming = parse_mail(raw)
        mail = Mail(
            attachments=[(item.filename, item.data) for item in incoming.attachments],
            received=moment or receipt_time(raw) or shared.now(),
            to=[to] if to else [*incoming.to, *incoming.cc],
            sender=incoming.from_address or None,
            sender_name=incoming.from_name or None,
            subject=incoming.subject or None,
            message_id=incoming.message_id or None,
        )
    else:
        mail = Mail(
            attachments=[(path.name, data) for path, data in blobs],
            received=moment or shared.now(),
            to=[to] if to else [],
        )
    options = ParseOptions.from_settings(shared.settings, mail.received)
    checked = judge(mail, parse_attachments(mail.attachments, options))
    if is_mail and is_question(incoming):  # the reply the service sends a question: answered, nothing demanded
        reply = compose_question(mail, question_text(incoming), shanghai_date(shared.now()))
    else:
        reply = compose_reply(checked, reference=None, today=shanghai_date(shared.now()))
    if as_json:
        typer.echo(json.dumps({**checked.as_json(), "reply": reply.as_json()}, ensure_ascii=False))
        return
    console.print(f"事项 {checked.track}　状态 {checked.status}　收件 {checked.received.isoformat()}", highlight=False)
    console.rule("自动回复")
    typer.echo(f"主题：{reply.subject}\n\n{reply.body}")


def _looks_like_mail(data: bytes) -> bool:
    head = data[:4096].lower()
    return b"\nsubject:" in b"\n" + head and (b"\nfrom:" in b"\n" + head or b"\nreceived:" in b"\n" + head)
