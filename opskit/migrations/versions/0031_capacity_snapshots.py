"""capacity snapshots: the daily capacity history of each room and IP prefix (#23)

One row per (site day, room or prefix, resource), written once a day by the capacity snapshot
job (``assets.capacity_history``); the 容量规划 sheet forecasts from it.

Revision ID: 0031_capacity_snapshots
Revises: 0030_move_skip_reason
Create Date: 2026-12-07 00:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0031_capacity_snapshots"
down_revision: str | None = "0030_move_skip_reason"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "capacity_snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("scope", sa.String(length=24), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=True),
        sa.Column("prefix_id", sa.Integer(), nullable=True),
        sa.Column("resource", sa.String(length=8), nullable=False),
        sa.Column("used", sa.Double(), nullable=False),
        sa.Column("total", sa.Double(), nullable=True),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "resource IN ('u', 'power', 'cooling', 'ports', 'ip')",
            name=op.f("ck_capacity_snapshot_resource"),
        ),
        sa.CheckConstraint(
            "(room_id IS NOT NULL AND prefix_id IS NULL AND resource <> 'ip') OR "
            "(room_id IS NULL AND prefix_id IS NOT NULL AND resource = 'ip')",
            name=op.f("ck_capacity_snapshot_room_or_prefix"),
        ),
        sa.ForeignKeyConstraint(
            ["room_id"],
            ["room.id"],
            name=op.f("fk_capacity_snapshot_room_id_room"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["prefix_id"],
            ["ip_prefix.id"],
            name=op.f("fk_capacity_snapshot_prefix_id_ip_prefix"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_capacity_snapshot")),
        sa.UniqueConstraint("day", "scope", "resource", name="uq_capacity_snapshot_day_scope"),
    )
    op.create_index(
        op.f("ix_capacity_snapshot_room_id"), "capacity_snapshot", ["room_id"], unique=False
    )
    op.create_index(
        op.f("ix_capacity_snapshot_prefix_id"), "capacity_snapshot", ["prefix_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_capacity_snapshot_prefix_id"), table_name="capacity_snapshot")
    op.drop_index(op.f("ix_capacity_snapshot_room_id"), table_name="capacity_snapshot")
    op.drop_table("capacity_snapshot")
