"""monitors: load_week, one row per asset, load family and week piece (reports)

Revision ID: 0013_load_week
Revises: 0012_patrol_indexes
Create Date: 2026-11-26 03:50:11.869219
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_load_week"
down_revision: str | None = "0012_patrol_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "load_week",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("family", sa.String(length=16), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("peak", sa.Float(), nullable=False),
        sa.Column("sum_y", sa.Float(), nullable=False),
        sa.Column("sum_s", sa.Float(), nullable=False),
        sa.Column("sum_ss", sa.Float(), nullable=False),
        sa.Column("sum_sy", sa.Float(), nullable=False),
        sa.Column("avgs", sa.LargeBinary(), nullable=False),
        sa.Column("peaks", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["asset.id"], name=op.f("fk_load_week_asset_id_asset"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_load_week")),
        sa.UniqueConstraint("asset_id", "family", "week", name="one_per_week"),
    )
    with op.batch_alter_table("load_week", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_load_week_week"), ["week"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("load_week", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_load_week_week"))

    op.drop_table("load_week")
