"""parse step, reissued replies, back-filled mail

Documents keep the evidence the check step reads (red seals, text layer), so that parsing and checking are
separate steps; a mail may get a second reply when a clerk asks for one after reprocessing, so replies are
unique per (message, sequence) instead of per message; back-filled old mail is processed without a reply.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 08:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# 0001 created the unique constraint on replies.message_id without a name: PostgreSQL named it itself, and the
# SQLite batch copy names it through this convention so that it can be dropped.
_SQLITE_NAMES = {"uq": "uq_%(table_name)s_%(column_0_name)s"}
_POSTGRES_NAME = "replies_message_id_key"


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reply_wanted", sa.Boolean(), server_default=sa.true(), nullable=False))

    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("red_seals", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("text_layer", sa.Boolean(), server_default=sa.true(), nullable=False))

    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table(
        "replies", schema=None, naming_convention=_SQLITE_NAMES if sqlite else None, recreate="auto"
    ) as batch_op:
        batch_op.drop_constraint("uq_replies_message_id" if sqlite else _POSTGRES_NAME, type_="unique")
        batch_op.add_column(sa.Column("sequence", sa.Integer(), server_default="1", nullable=False))
        batch_op.create_index(batch_op.f("ix_replies_message_id"), ["message_id"], unique=False)
        batch_op.create_unique_constraint("uq_replies_message_sequence", ["message_id", "sequence"])


def downgrade() -> None:
    with op.batch_alter_table("replies", schema=None) as batch_op:
        batch_op.drop_constraint("uq_replies_message_sequence", type_="unique")
        batch_op.drop_index(batch_op.f("ix_replies_message_id"))
        batch_op.drop_column("sequence")
        batch_op.create_unique_constraint(
            "uq_replies_message_id" if op.get_bind().dialect.name == "sqlite" else _POSTGRES_NAME, ["message_id"]
        )

    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_column("text_layer")
        batch_op.drop_column("red_seals")

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("reply_wanted")
