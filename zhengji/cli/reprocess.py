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
) -> None:
    """用当前版本的解析器重新解析已受理的申报（不再发送回复）。 Re-parse stored submissions; no second reply."""
    from sqlmodel import Session, col, select

    from zhengji.mailbox.pipeline import Pipeline
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
    for header in ("受理编号 Reference", "原状态 Before", "现状态 After"):
        table.add_column(header)
    for submission_id, reference in found:
        assert submission_id is not None
        before, after = pipeline.reprocess(submission_id)
        table.add_row(reference, before, after)
    console.print(table)
