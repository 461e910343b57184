"""chat bot

The chat bot's tables: one-time codes mailed to a submission's sender (only their salted hash), counters for the
code requests' limits, the status notifier's cursor over the audit log, the notices it writes for linked chats,
and the conversations of ``zhengji ask --chat``. ``chat_links`` (0001) is used as it is.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import zhengji.storage.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PUSH_STATES = ("pending", "sent", "failed", "expired")


def _text(length: int) -> zhengji.storage.types.BoundedString:
    return zhengji.storage.types.BoundedString(length=length)


def _time() -> zhengji.storage.types.UTCDateTime:
    return zhengji.storage.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "chat_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", _text(16), nullable=False),
        sa.Column("chat_id", _text(64), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        sa.Column("address", _text(320), nullable=False),
        sa.Column("code_hash", _text(64), nullable=False),
        sa.Column("salt", _text(32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("expires_at", _time(), nullable=False),
        sa.Column("used_at", _time(), nullable=True),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("chat_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chat_codes_chat_id"), ["chat_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_chat_codes_submission_id"), ["submission_id"], unique=False)

    op.create_table(
        "chat_rate_counts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", _text(400), nullable=False),
        sa.Column("window_start", _time(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key", "window_start", name="uq_chat_rate_counts"),
    )
    with op.batch_alter_table("chat_rate_counts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chat_rate_counts_window_start"), ["window_start"], unique=False)

    op.create_table(
        "chat_cursors",
        sa.Column("name", _text(40), nullable=False),
        sa.Column("last_event_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )

    op.create_table(
        "chat_pushes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", _text(16), nullable=False),
        sa.Column("chat_id", _text(64), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("text", zhengji.storage.types.CleanText(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(*_PUSH_STATES, name="chatpushstate", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _time(), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("sent_at", _time(), nullable=True),
        sa.ForeignKeyConstraint(["event_id"], ["audit_events.id"]),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel", "chat_id", "event_id", name="uq_chat_pushes"),
    )
    with op.batch_alter_table("chat_pushes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chat_pushes_chat_id"), ["chat_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_chat_pushes_state"), ["state"], unique=False)

    op.create_table(
        "chat_states",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", _text(16), nullable=False),
        sa.Column("chat_id", _text(64), nullable=False),
        sa.Column("context", zhengji.storage.types.CleanJSON(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel", "chat_id", name="uq_chat_states"),
    )


def downgrade() -> None:
    op.drop_table("chat_states")
    with op.batch_alter_table("chat_pushes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chat_pushes_state"))
        batch_op.drop_index(batch_op.f("ix_chat_pushes_chat_id"))
    op.drop_table("chat_pushes")
    op.drop_table("chat_cursors")
    with op.batch_alter_table("chat_rate_counts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chat_rate_counts_window_start"))
    op.drop_table("chat_rate_counts")
    with op.batch_alter_table("chat_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chat_codes_submission_id"))
        batch_op.drop_index(batch_op.f("ix_chat_codes_chat_id"))
    op.drop_table("chat_codes")
