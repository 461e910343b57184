"""``zhengji reprocess``: parse stored cases again after a parser upgrade, without answering twice; and put
failed mail back on its path once the fault is fixed (``--failed``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.table import Table

from zhengji.cli.context import app, console, context, fail

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from zhengji.settings import Settings


@app.command("reprocess")
def reprocess_command(
    ctx: typer.Context,
    references: list[str] = typer.Argument(None, help="受理编号，如 ZJ-2025Q2-7K3M9P。 References."),
    all_cases: bool = typer.Option(False, "--all", help="重新解析全部申报。 Every submission."),
    outdated: bool = typer.Option(
        False,
        "--outdated",
        help="只重新解析由旧版本解析器读取的申报。 Only the cases an older parser version read.",
    ),
    failed: bool = typer.Option(
        False,
        "--failed",
        help="排除故障后，将处理失败的邮件放回处理流程，从失败的步骤重新处理并回复。"
        " Put failed mail back on its path at the step it failed at, after the fault is fixed.",
    ),
    reply: bool = typer.Option(
        False,
        "--reply",
        help="核验结果有变化时，向申报人重新发送回复（工作人员已审核的申报除外）。"
        " Send a corrected reply where the verdict changed (not where a reviewer acts).",
    ),
) -> None:
    """用当前版本的解析器重新解析已受理的申报；默认不再发送回复。 Re-parse stored cases; no new reply unless --reply."""
    from sqlmodel import Session, col, select

    from zhengji.mailbox.pipeline import Pipeline
    from zhengji.mailbox.reprocess import OUTCOME_LABELS, reprocess
    from zhengji.parsers.document import PARSER_VERSION
    from zhengji.storage.migrate import upgrade
    from zhengji.storage.models import Document, Submission

    if not references and not all_cases and not failed and not outdated:
        raise fail("请给出受理编号，或使用 --all、--outdated、--failed。", code=2)
    shared = context(ctx)
    engine = shared.engine()
    upgrade(engine)
    if failed:
        _retry_failed(engine, shared.settings)
        if not references and not all_cases and not outdated:
            return
    with Session(engine) as session:
        query = select(Submission.id, Submission.reference).order_by(col(Submission.id))
        if references and not all_cases:
            wanted = [reference.strip().upper() for reference in references]
            query = query.where(col(Submission.reference).in_(wanted))
        if outdated:
            older = select(Document.submission_id).where(
                col(Document.superseded).is_(False), col(Document.parser_version) != PARSER_VERSION
            )
            query = query.where(col(Submission.id).in_(older))
        found = list(session.exec(query).all())
    if references and not all_cases and not outdated and len(found) < len(references):
        known = {reference for _, reference in found}
        missing = "、".join(r for r in references if r.strip().upper() not in known)
        raise fail(f"找不到受理编号：{missing}")
    if not found:
        console.print("没有需要重新解析的申报。")
        return
    pipeline = Pipeline(engine, shared.settings)
    table = Table(title="重新解析结果")
    for header in ("受理编号 Reference", "原状态 Before", "现状态 After", "结果有变化 Changed", "回复 Reply"):
        table.add_column(header)
    for submission_id, reference in found:
        assert submission_id is not None
        done = reprocess(pipeline, submission_id, reply=reply)
        changed = "是" if done.changed else "否"
        table.add_row(reference, done.before.label, done.after.label, changed, OUTCOME_LABELS[done.reply])
    console.print(table)


STEP_LABELS = {"received": "解析", "parsed": "核验", "checked": "发送回复"}


def _retry_failed(engine: Engine, settings: Settings) -> None:
    from zhengji.clock import SHANGHAI, now
    from zhengji.mailbox.retry import retry_failed
    from zhengji.storage.blobs import blob_store

    retried = retry_failed(engine, blob_store(settings), now(settings.now))
    if not retried:
        console.print("没有处理失败的邮件。")
        return
    table = Table(title="放回处理流程的邮件（由服务的处理进程继续处理）")
    headers = (
        "邮件 Mail",
        "发件人 From",
        "主题 Subject",
        "收到时间 Received",
        "上次错误 Last error",
        "重新开始于 Restarts at",
    )
    for header in headers:
        table.add_column(header)
    for item in retried:
        received = item.received_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
        error = item.last_error if len(item.last_error) <= 200 else item.last_error[:199] + "…"
        table.add_row(str(item.message_id), item.sender or "—", item.subject or "—", received, error or "—",
                      STEP_LABELS[item.step.value])  # fmt: skip
    console.print(table)
