"""``zhengji reprocess``: parse stored cases again after a parser upgrade, without answering twice."""

from __future__ import annotations

import typer
from rich.table import Table

from zhengji.cli.context import app, console, context, fail


@app.command("reprocess")
def reprocess_command(
    ctx: typer.Context,
    references: list[str] = typer.Argument(None, help="受理编号，如 ZJ-2025Q2-7K3M9P。 References."),
    all_cases: bool = typer.Option(False, "--all", help="重新解析全部申报。 Every submission."),
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
    from zhengji.storage.migrate import upgrade
    from zhengji.storage.models import Submission

    if not references and not all_cases:
        raise fail("请给出受理编号，或使用 --all。", code=2)
    shared = context(ctx)
    engine = shared.engine()
    upgrade(engine)
    with Session(engine) as session:
        query = select(Submission.id, Submission.reference).order_by(col(Submission.id))
        if not all_cases:
            wanted = [reference.strip().upper() for reference in references]
            query = query.where(col(Submission.reference).in_(wanted))
        found = list(session.exec(query).all())
    if not all_cases and len(found) < len(references):
        known = {reference for _, reference in found}
        missing = "、".join(r for r in references if r.strip().upper() not in known)
        raise fail(f"找不到受理编号：{missing}")
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
