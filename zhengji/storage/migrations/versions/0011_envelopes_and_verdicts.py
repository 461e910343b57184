"""a mail's decoded envelope, the verdicts in a table of their own

Issue 16: the parse step keeps what it decoded of a mail (``messages.envelope``: sender, recipients, subject,
thread, dates, the attachment list) so that no later step decodes the raw mail again, and every verdict of the
checks is a row of ``verdicts`` with its findings, instead of JSON in the audit trail read by several copies of
the same code. The verdicts already recorded are copied from their audit events (those that kept findings: the
machine's checks), so that a case checked before this migration reads the same; mail stored before it has no
envelope until a reader decodes it once (``zhengji.mailbox.envelope.stored_envelope``).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 09:00:00
"""

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import zhengji.storage.types

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MACHINE = ("complete", "incomplete", "rejected", "unknown")
VERDICT_ACTIONS = ("verdict", "status", "reprocess", "recheck")
BATCH = 500


def _detail(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            loaded = json.loads(value)
        except ValueError:
            return {}
        return loaded if isinstance(loaded, dict) else {}
    return {}


def _number(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def verdict_row(
    event_id: int, submission_id: int, at: Any, actor: str, action: str, detail: dict[str, Any]
) -> dict[str, Any] | None:
    """The ``verdicts`` row an audit event stands for; None when it recorded no machine verdict with findings
    (a reviewer's status change before 0008, a decision)."""
    if "findings" not in detail:
        return None
    verdict = next((str(value) for value in (detail.get("to"), detail.get("status")) if value in MACHINE), None)
    if verdict is None:
        return None
    documents = detail.get("documents")
    return {
        "submission_id": submission_id,
        "message_id": _number(detail.get("message_id")),
        "event_id": event_id,
        "version": _number(detail.get("version")),
        "verdict": verdict,
        "action": action,
        "actor": actor,
        "parser_version": None,
        "findings": list(detail.get("findings") or []),
        "documents": dict(documents) if isinstance(documents, dict) else {},
        "created_at": at,
    }


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("envelope", zhengji.storage.types.CleanJSON(), nullable=True))
    op.create_table(
        "verdicts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column(
            "verdict", sa.Enum(*MACHINE, "received", name="verdict", native_enum=False, length=32), nullable=False
        ),
        sa.Column("action", zhengji.storage.types.BoundedString(length=48), nullable=False),
        sa.Column("actor", zhengji.storage.types.BoundedString(length=120), nullable=False),
        sa.Column("parser_version", zhengji.storage.types.BoundedString(length=32), nullable=True),
        sa.Column("findings", zhengji.storage.types.CleanJSON(), nullable=False),
        sa.Column("documents", zhengji.storage.types.CleanJSON(), nullable=False),
        sa.Column("created_at", zhengji.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"]),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"]),
        sa.ForeignKeyConstraint(["event_id"], ["audit_events.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("verdicts", schema=None) as batch_op:
        batch_op.create_index("ix_verdicts_submission_id_id", ["submission_id", "id"], unique=False)

    connection = op.get_bind()
    events = sa.table(
        "audit_events",
        sa.column("id", sa.Integer),
        sa.column("at", zhengji.storage.types.UTCDateTime(timezone=True)),
        sa.column("submission_id", sa.Integer),
        sa.column("actor", sa.String),
        sa.column("action", sa.String),
        sa.column("detail", sa.Text),
    )
    verdicts = sa.table(
        "verdicts",
        sa.column("submission_id", sa.Integer),
        sa.column("message_id", sa.Integer),
        sa.column("event_id", sa.Integer),
        sa.column("version", sa.Integer),
        sa.column("verdict", sa.String),
        sa.column("action", sa.String),
        sa.column("actor", sa.String),
        sa.column("parser_version", sa.String),
        sa.column("findings", zhengji.storage.types.CleanJSON()),
        sa.column("documents", zhengji.storage.types.CleanJSON()),
        sa.column("created_at", zhengji.storage.types.UTCDateTime(timezone=True)),
    )
    messages = sa.table("messages", sa.column("id", sa.Integer))

    def insert(rows: list[dict[str, Any]]) -> None:
        # An audit event may name a mail no longer stored (its detail was never a foreign key): the verdict is
        # kept without it.
        named = {row["message_id"] for row in rows if row["message_id"] is not None}
        stored = set(connection.execute(sa.select(messages.c.id).where(messages.c.id.in_(named))).scalars())
        for row in rows:
            if row["message_id"] not in stored:
                row["message_id"] = None
        connection.execute(verdicts.insert(), rows)

    rows: list[dict[str, Any]] = []
    found = connection.execute(
        sa.select(events.c.id, events.c.submission_id, events.c.at, events.c.actor, events.c.action, events.c.detail)
        .where(events.c.submission_id.is_not(None), events.c.action.in_(VERDICT_ACTIONS))
        .order_by(events.c.id)
    ).all()
    for event_id, submission_id, at, actor, action, detail in found:
        row = verdict_row(event_id, submission_id, at, actor, action, _detail(detail))
        if row is not None:
            rows.append(row)
        if len(rows) >= BATCH:
            insert(rows)
            rows = []
    if rows:
        insert(rows)


def downgrade() -> None:
    with op.batch_alter_table("verdicts", schema=None) as batch_op:
        batch_op.drop_index("ix_verdicts_submission_id_id")
    op.drop_table("verdicts")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("envelope")
