"""staff review queue

The tables of the staff web queue: server-side sessions (only a hash of each session id), sign-in attempts for
the lockout, reviewers' corrections beside the machine's readings, decision templates, saved filters, late
exceptions, assignments, and the queue's derived index (one row a submission, its finding codes, and how far
the audit trail was read) with the indexes a queue of 20,000 submissions needs.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 10:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import zhengji.storage.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "decision_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action", zhengji.storage.types.BoundedString(length=16), nullable=False),
        sa.Column("title", zhengji.storage.types.BoundedString(length=80), nullable=False),
        sa.Column("body", zhengji.storage.types.CleanText(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("updated_by", zhengji.storage.types.BoundedString(length=80), nullable=False),
        sa.Column("updated_at", zhengji.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("decision_templates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_decision_templates_action"), ["action"], unique=False)

    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", zhengji.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("name", zhengji.storage.types.BoundedString(length=80), nullable=False),
        sa.Column("address", zhengji.storage.types.BoundedString(length=64), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_login_attempts_address_at", ["address", "at"], unique=False)
        batch_op.create_index("ix_login_attempts_name_at", ["name", "at"], unique=False)

    op.create_table(
        "review_marks",
        sa.Column("name", zhengji.storage.types.BoundedString(length=40), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "assignments",
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("assigned_by", zhengji.storage.types.BoundedString(length=80), nullable=False),
        sa.Column("at", zhengji.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff_users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
        ),
        sa.PrimaryKeyConstraint("submission_id"),
    )
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assignments_staff_id"), ["staff_id"], unique=False)

    op.create_table(
        "late_exceptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender", zhengji.storage.types.BoundedString(length=320), nullable=False),
        sa.Column("track", zhengji.storage.types.BoundedString(length=40), nullable=False),
        sa.Column("until", sa.Date(), nullable=False),
        sa.Column("reason", zhengji.storage.types.CleanText(), nullable=False),
        sa.Column("granted_by", zhengji.storage.types.BoundedString(length=80), nullable=False),
        sa.Column("granted_at", zhengji.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("late_exceptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_late_exceptions_sender"), ["sender"], unique=False)
        batch_op.create_index(batch_op.f("ix_late_exceptions_submission_id"), ["submission_id"], unique=False)

    op.create_table(
        "queue_entries",
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("reference", zhengji.storage.types.BoundedString(length=32), nullable=False),
        sa.Column("track", zhengji.storage.types.BoundedString(length=40), nullable=False),
        sa.Column("status", zhengji.storage.types.BoundedString(length=32), nullable=False),
        sa.Column("sender", zhengji.storage.types.BoundedString(length=320), nullable=False),
        sa.Column("sender_name", zhengji.storage.types.BoundedString(length=200), nullable=True),
        sa.Column("unit", zhengji.storage.types.BoundedString(length=300), nullable=True),
        sa.Column("occupations", zhengji.storage.types.CleanText(), nullable=True),
        sa.Column("search", zhengji.storage.types.CleanText(), nullable=False),
        sa.Column("codes", zhengji.storage.types.CleanText(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("warnings", sa.Integer(), nullable=False),
        sa.Column("unlocated", sa.Integer(), nullable=False),
        sa.Column("documents", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("received_at", zhengji.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", zhengji.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("window_start", sa.Date(), nullable=True),
        sa.Column("first_status", zhengji.storage.types.BoundedString(length=32), nullable=True),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("synced_event", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
        ),
        sa.PrimaryKeyConstraint("submission_id"),
    )
    with op.batch_alter_table("queue_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_queue_entries_assignee_id"), ["assignee_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_queue_entries_received_at"), ["received_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_queue_entries_reference"), ["reference"], unique=False)
        batch_op.create_index("ix_queue_entries_status_received", ["status", "received_at"], unique=False)
        batch_op.create_index("ix_queue_entries_track_window", ["track", "window_start"], unique=False)
        batch_op.create_index(batch_op.f("ix_queue_entries_window_start"), ["window_start"], unique=False)

    op.create_table(
        "queue_entry_codes",
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("code", zhengji.storage.types.BoundedString(length=48), nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
        ),
        sa.PrimaryKeyConstraint("submission_id", "code"),
    )
    with op.batch_alter_table("queue_entry_codes", schema=None) as batch_op:
        batch_op.create_index("ix_queue_entry_codes_code", ["code", "submission_id"], unique=False)

    op.create_table(
        "saved_filters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("name", zhengji.storage.types.BoundedString(length=60), nullable=False),
        sa.Column("query", zhengji.storage.types.BoundedString(length=1000), nullable=False),
        sa.Column("created_at", zhengji.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff_users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("staff_id", "name", name="uq_saved_filters_staff_name"),
    )
    with op.batch_alter_table("saved_filters", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_saved_filters_staff_id"), ["staff_id"], unique=False)

    op.create_table(
        "staff_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", zhengji.storage.types.BoundedString(length=64), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("created_at", zhengji.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", zhengji.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", zhengji.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", zhengji.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("address", zhengji.storage.types.BoundedString(length=64), nullable=True),
        sa.Column("user_agent", zhengji.storage.types.BoundedString(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff_users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("staff_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_sessions_staff_id"), ["staff_id"], unique=False)

    op.create_table(
        "corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("path", zhengji.storage.types.BoundedString(length=200), nullable=False),
        sa.Column("original", zhengji.storage.types.CleanJSON(), nullable=True),
        sa.Column("corrected", zhengji.storage.types.CleanJSON(), nullable=True),
        sa.Column("staff", zhengji.storage.types.BoundedString(length=80), nullable=False),
        sa.Column("at", zhengji.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("corrections", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_corrections_document_id"), ["document_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_corrections_submission_id"), ["submission_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("corrections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_corrections_submission_id"))
        batch_op.drop_index(batch_op.f("ix_corrections_document_id"))

    op.drop_table("corrections")
    with op.batch_alter_table("staff_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_sessions_staff_id"))

    op.drop_table("staff_sessions")
    with op.batch_alter_table("saved_filters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_saved_filters_staff_id"))

    op.drop_table("saved_filters")
    with op.batch_alter_table("queue_entry_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_queue_entry_codes_code")

    op.drop_table("queue_entry_codes")
    with op.batch_alter_table("queue_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_queue_entries_window_start"))
        batch_op.drop_index("ix_queue_entries_track_window")
        batch_op.drop_index("ix_queue_entries_status_received")
        batch_op.drop_index(batch_op.f("ix_queue_entries_reference"))
        batch_op.drop_index(batch_op.f("ix_queue_entries_received_at"))
        batch_op.drop_index(batch_op.f("ix_queue_entries_assignee_id"))

    op.drop_table("queue_entries")
    with op.batch_alter_table("late_exceptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_late_exceptions_submission_id"))
        batch_op.drop_index(batch_op.f("ix_late_exceptions_sender"))

    op.drop_table("late_exceptions")
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assignments_staff_id"))

    op.drop_table("assignments")
    op.drop_table("review_marks")
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempts_name_at")
        batch_op.drop_index("ix_login_attempts_address_at")

    op.drop_table("login_attempts")
    with op.batch_alter_table("decision_templates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decision_templates_action"))

    op.drop_table("decision_templates")
