"""staff login pre-sessions

The login form's pre-sessions: a row (only the hash of its id) made when the login page is served, so that the
form's CSRF token is one the server issued and not one a client made up together with its cookie (issue 15).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import zhengji.storage.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staff_presessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", zhengji.storage.types.BoundedString(length=64), nullable=False),
        sa.Column("created_at", zhengji.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", zhengji.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("staff_presessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_presessions_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("staff_presessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_presessions_expires_at"))
    op.drop_table("staff_presessions")
