"""a submission's verdict and decision apart

The machine's verdict and a reviewer's decision become two columns (issue 15; the contract's "Submission
statuses"); ``status`` stays as the status shown. Existing rows are read back from their audit trail: a reviewer's
accept, return or reject becomes the decision (a reviewer's 不予受理, once stored as the machine's ``rejected``,
becomes ``declined``), and the machine's statuses become the verdict. A ``returned`` case that its applicant sent
again is open for review, as the contract has it; ``in_review`` and ``withdrawn`` go (nothing sets them now).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 12:00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MACHINE = {"complete", "incomplete", "rejected", "unknown"}
DECISIONS = {"accepted", "returned", "declined"}
BY_ACTION = {"accept": "accepted", "return": "returned", "reject": "declined"}
SYSTEM_ACTORS = {"pipeline", "reprocess", "cli", "system", "系统"}


def _detail(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        import json

        try:
            loaded = json.loads(value)
        except ValueError:
            return {}
        return loaded if isinstance(loaded, dict) else {}
    return {}


def read_back(status: str, events: list[tuple[str, str, dict[str, Any]]]) -> tuple[str, str | None]:
    """The verdict and decision a case's audit trail (actor, action, detail; oldest first) shows."""
    verdict: str | None = None
    decision: str | None = None
    for actor, action, detail in events:
        if action != "status":
            continue
        to = str(detail.get("to"))
        reviewer = actor not in SYSTEM_ACTORS and not detail.get("recheck")
        if detail.get("decision") in BY_ACTION:
            decision = BY_ACTION[str(detail["decision"])]
        elif to in DECISIONS:
            decision = to
        elif to == "rejected" and reviewer:
            decision = "declined"  # a reviewer's 不予受理, stored as the machine's status before 0008
        elif to in MACHINE:
            verdict = to
            if decision == "returned" and actor == "pipeline" and detail.get("message_id") is not None:
                decision = None  # the applicant's new version after a return is open for review
    if verdict is None:
        verdict = status if status in MACHINE | {"received"} else "unknown"
    if decision is None and status in DECISIONS:
        decision = status  # a decision whose trail is missing
    return verdict, decision


def upgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "verdict",
                sa.Enum(*sorted(MACHINE | {"received"}), name="verdict", native_enum=False, length=32),
                nullable=False,
                server_default="received",
            )
        )
        batch_op.add_column(
            sa.Column(
                "decision", sa.Enum(*sorted(DECISIONS), name="decision", native_enum=False, length=32), nullable=True
            )
        )
        batch_op.create_index(batch_op.f("ix_submissions_decision"), ["decision"], unique=False)
    connection = op.get_bind()
    submissions = sa.table(
        "submissions",
        sa.column("id", sa.Integer),
        sa.column("status", sa.String),
        sa.column("verdict", sa.String),
        sa.column("decision", sa.String),
    )
    events = sa.table(
        "audit_events",
        sa.column("id", sa.Integer),
        sa.column("submission_id", sa.Integer),
        sa.column("actor", sa.String),
        sa.column("action", sa.String),
        sa.column("detail", sa.Text),
    )
    trail: dict[int, list[tuple[str, str, dict[str, Any]]]] = {}
    for submission_id, actor, action, detail in connection.execute(
        sa.select(events.c.submission_id, events.c.actor, events.c.action, events.c.detail)
        .where(events.c.submission_id.is_not(None), events.c.action == "status")
        .order_by(events.c.id)
    ):
        trail.setdefault(submission_id, []).append((actor, action, _detail(detail)))
    for submission_id, status in connection.execute(sa.select(submissions.c.id, submissions.c.status)).all():
        verdict, decision = read_back(str(status), trail.get(submission_id, []))
        connection.execute(
            submissions.update()
            .where(submissions.c.id == submission_id)
            .values(verdict=verdict, decision=decision, status=decision or verdict)
        )


def downgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_submissions_decision"))
        batch_op.drop_column("decision")
        batch_op.drop_column("verdict")
