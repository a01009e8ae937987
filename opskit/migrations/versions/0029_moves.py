"""moves: move plans (搬迁) and their steps, one per asset (#23)

A plan's steps are carried out on the tablet (``assets.services.moves``,
``inspections.moves``); they stay as each asset's move history.

Revision ID: 0029_moves
Revises: 0028_vuln_fix_links
Create Date: 2026-12-06 21:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029_moves"
down_revision: str | None = "0028_vuln_fix_links"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "move_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("client_token", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "state IN ('draft', 'in_progress', 'paused', 'done', 'cancelled')",
            name=op.f("ck_move_plan_state_known"),
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_move_plan_site_id_site"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_move_plan")),
        sa.UniqueConstraint("client_token", name=op.f("uq_move_plan_client_token")),
        sa.UniqueConstraint("name", name=op.f("uq_move_plan_name")),
    )
    op.create_table(
        "move_step",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("from_rack_id", sa.Integer(), nullable=True),
        sa.Column("from_u", sa.Integer(), nullable=True),
        sa.Column("to_rack_id", sa.Integer(), nullable=False),
        sa.Column("to_u", sa.Integer(), nullable=False),
        sa.Column("ports", sa.JSON(), nullable=False),
        sa.Column("addresses", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("powered_off_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by", sa.String(length=128), nullable=False),
        sa.Column("maintenance_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'powered_off', 'done', 'skipped')",
            name=op.f("ck_move_step_state_known"),
        ),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["asset.id"], name=op.f("fk_move_step_asset_id_asset"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["from_rack_id"], ["rack.id"], name=op.f("fk_move_step_from_rack_id_rack"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["move_plan.id"], name=op.f("fk_move_step_plan_id_move_plan"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["to_rack_id"], ["rack.id"], name=op.f("fk_move_step_to_rack_id_rack"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_move_step")),
        sa.UniqueConstraint("plan_id", "asset_id", name=op.f("uq_move_step_plan_id_asset_id")),
        sa.UniqueConstraint("plan_id", "position", name=op.f("uq_move_step_plan_id_position")),
    )  # fmt: skip
    op.create_index(op.f("ix_move_step_asset_id"), "move_step", ["asset_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_move_step_asset_id"), table_name="move_step")
    op.drop_table("move_step")
    op.drop_table("move_plan")
