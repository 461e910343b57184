"""the queue's receiving center, duplicate names and marks

The queue index (``queue_entries``) learns the center whose mailbox received a case, whether a decided case got
mail after its decision, and whether a clerk marked it as not a submission; ``queue_entry_names`` keeps each
case's folded occupation and project names so that the same name in two cases is found on an index. The rows
are derived: every existing row is marked out of date (``synced_event = 0``) and the sync's mark is cleared, so
that the next sync rebuilds them all.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import zhengji.storage.types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("queue_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("center", zhengji.storage.types.BoundedString(length=32), nullable=True))
        batch_op.add_column(sa.Column("mail_after_decision", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("not_submission", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_index(batch_op.f("ix_queue_entries_center"), ["center"], unique=False)
    op.create_table(
        "queue_entry_names",
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("key", zhengji.storage.types.BoundedString(length=200), nullable=False),
        sa.Column("track", zhengji.storage.types.BoundedString(length=40), nullable=False),
        sa.Column("name", zhengji.storage.types.BoundedString(length=300), nullable=False),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"]),
        sa.PrimaryKeyConstraint("submission_id", "key"),
    )
    with op.batch_alter_table("queue_entry_names", schema=None) as batch_op:
        batch_op.create_index("ix_queue_entry_names_key_track", ["key", "track", "submission_id"], unique=False)
    op.execute(sa.text("UPDATE queue_entries SET synced_event = 0"))
    # The next sync reads the whole audit trail again, so that every case's row is rebuilt, not only recent ones.
    op.execute(sa.text("DELETE FROM review_marks WHERE name = 'queue_audit_event'"))


def downgrade() -> None:
    with op.batch_alter_table("queue_entry_names", schema=None) as batch_op:
        batch_op.drop_index("ix_queue_entry_names_key_track")
    op.drop_table("queue_entry_names")
    with op.batch_alter_table("queue_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_queue_entries_center"))
        batch_op.drop_column("not_submission")
        batch_op.drop_column("mail_after_decision")
        batch_op.drop_column("center")
