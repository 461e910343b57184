"""code mails queued durably, WeChat nonces remembered

Issue 18: the chat bot's code mails are written to ``chat_code_mails`` in the transaction that stores their code
and sent from there by a thread (a restart loses none); ``channel_nonces`` remembers the timestamp and nonce of
each signed WeChat callback URL already used, so that a captured URL cannot carry another message.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import zhengji.storage.types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MAIL_STATES = ("pending", "sent", "failed", "expired")


def _text(length: int) -> zhengji.storage.types.BoundedString:
    return zhengji.storage.types.BoundedString(length=length)


def _time() -> zhengji.storage.types.UTCDateTime:
    return zhengji.storage.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "chat_code_mails",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_id", sa.Integer(), nullable=True),
        sa.Column("recipient", _text(320), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(*_MAIL_STATES, name="chatcodemailstate", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _time(), nullable=False),
        sa.Column("claimed_until", _time(), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("expires_at", _time(), nullable=False),
        sa.Column("sent_at", _time(), nullable=True),
        sa.Column("error", _text(400), nullable=True),
        sa.ForeignKeyConstraint(["code_id"], ["chat_codes.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("chat_code_mails", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chat_code_mails_code_id"), ["code_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_chat_code_mails_state"), ["state"], unique=False)

    op.create_table(
        "channel_nonces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", _text(16), nullable=False),
        sa.Column("timestamp", sa.Integer(), nullable=False),
        sa.Column("nonce", _text(64), nullable=False),
        sa.Column("message_key", _text(200), nullable=False),
        sa.Column("seen_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel", "timestamp", "nonce", name="uq_channel_nonces"),
    )
    with op.batch_alter_table("channel_nonces", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_channel_nonces_seen_at"), ["seen_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("channel_nonces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_channel_nonces_seen_at"))
    op.drop_table("channel_nonces")
    with op.batch_alter_table("chat_code_mails", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chat_code_mails_state"))
        batch_op.drop_index(batch_op.f("ix_chat_code_mails_code_id"))
    op.drop_table("chat_code_mails")
