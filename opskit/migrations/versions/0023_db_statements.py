"""monitors: database servers' top statements per hour and the statement counters of the last
poll (#21)

Revision ID: 0023_db_statements
Revises: 0022_config_backups
Create Date: 2026-12-06 18:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023_db_statements"
down_revision: str | None = "0022_config_backups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "db_statement_hour",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("monitor_id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("database", sa.String(length=64), nullable=False),
        sa.Column("statement_id", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("calls", sa.BigInteger(), nullable=False),
        sa.Column("total_ms", sa.Float(), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["asset.id"],
            name=op.f("fk_db_statement_hour_asset_id_asset"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["monitor_id"],
            ["monitor.id"],
            name=op.f("fk_db_statement_hour_monitor_id_monitor"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_db_statement_hour")),
        sa.UniqueConstraint("monitor_id", "hour", "database", "statement_id", name="one_per_hour"),
    )
    op.create_index("ix_db_statement_hour_asset_id_hour", "db_statement_hour", ["asset_id", "hour"])
    op.create_index("ix_db_statement_hour_hour", "db_statement_hour", ["hour"])
    op.create_table(
        "db_statement_state",
        sa.Column("monitor_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reset", sa.String(length=64), nullable=False),
        sa.Column("counters", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["monitor_id"],
            ["monitor.id"],
            name=op.f("fk_db_statement_state_monitor_id_monitor"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("monitor_id", name=op.f("pk_db_statement_state")),
    )


def downgrade() -> None:
    op.drop_table("db_statement_state")
    op.drop_index("ix_db_statement_hour_hour", table_name="db_statement_hour")
    op.drop_index("ix_db_statement_hour_asset_id_hour", table_name="db_statement_hour")
    op.drop_table("db_statement_hour")
