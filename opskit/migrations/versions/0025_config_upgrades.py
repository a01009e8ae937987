"""configs: firmware upgrade records (#22)

One planned vendor firmware upgrade of one device: from/to version, reason, advisory, the
maintenance window, the files backed up, its state, the configuration version it relied on and
the version read back after (``monitors.configs.upgrades.models``).

Revision ID: 0025_config_upgrades
Revises: 0024_rack_power
Create Date: 2026-12-06 18:25:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025_config_upgrades"
down_revision: str | None = "0024_rack_power"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "config_upgrade",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("from_version", sa.String(length=128), nullable=False),
        sa.Column("to_version", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("advisory", sa.String(length=255), nullable=False),
        sa.Column("window_id", sa.Integer(), nullable=True),
        sa.Column("files_backed_up", sa.Text(), nullable=False),
        sa.Column("backup_hours", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("backup_version_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("read_back", sa.Text(), nullable=False),
        sa.Column("read_back_source", sa.String(length=16), nullable=False),
        sa.Column("read_back_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("matches", sa.Boolean(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('planned', 'started', 'done', 'failed')",
            name=op.f("ck_config_upgrade_state_known"),
        ),
        sa.CheckConstraint("backup_hours >= 1", name=op.f("ck_config_upgrade_backup_hours_min")),
        sa.CheckConstraint(
            "read_back_source IN ('', 'firmware', 'config')",
            name=op.f("ck_config_upgrade_read_back_source_known"),
        ),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["asset.id"],
            name=op.f("fk_config_upgrade_asset_id_asset"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["window_id"],
            ["maintenance_window.id"],
            name=op.f("fk_config_upgrade_window_id_maintenance_window"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["backup_version_id"],
            ["config_version.id"],
            name=op.f("fk_config_upgrade_backup_version_id_config_version"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_config_upgrade")),
    )
    op.create_index(
        op.f("ix_config_upgrade_asset_id"), "config_upgrade", ["asset_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_config_upgrade_asset_id"), table_name="config_upgrade")
    op.drop_table("config_upgrade")
