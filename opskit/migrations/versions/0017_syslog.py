"""syslog: the messages ``opskit syslog receive`` stored (issue #16)

Revision ID: 0017_syslog
Revises: 0016_traps
Create Date: 2026-12-07 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_syslog"
down_revision: str | None = "0016_traps"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "syslog_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=45), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=True),
        sa.Column("facility", sa.SmallInteger(), nullable=False),
        sa.Column("severity", sa.SmallInteger(), nullable=False),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("program", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("structured_data", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["asset.id"],
            name=op.f("fk_syslog_message_asset_id_asset"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_syslog_message")),
    )
    op.create_index(
        "ix_syslog_message_received_at_id", "syslog_message", ["received_at", "id"], unique=False
    )
    op.create_index(
        "ix_syslog_message_asset_id_received_at_id",
        "syslog_message",
        ["asset_id", "received_at", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_syslog_message_asset_id_received_at_id", table_name="syslog_message")
    op.drop_index("ix_syslog_message_received_at_id", table_name="syslog_message")
    op.drop_table("syslog_message")
