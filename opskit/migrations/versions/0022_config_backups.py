"""configs: device access for configuration backups, the versions stored, the attempts (#22)

Revision ID: 0022_config_backups
Revises: 0021_alert_dedup_key
Create Date: 2026-12-06 18:30:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0022_config_backups"
down_revision: str | None = "0021_alert_dedup_key"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _time(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "config_device",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("transport", sa.String(length=8), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=128), nullable=False),
        sa.Column("password", sa.Text(), nullable=True),
        sa.Column("enable_password", sa.Text(), nullable=True),
        sa.Column("commands", sa.JSON(), nullable=False),
        sa.Column("interval_s", sa.Integer(), nullable=False),
        sa.Column("timeout_s", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        _time("created_at"),
        sa.Column("host_key_type", sa.String(length=64), nullable=True),
        sa.Column("host_key", sa.Text(), nullable=True),
        sa.Column("host_key_fingerprint", sa.String(length=128), nullable=True),
        _time("host_key_pinned_at", nullable=True),
        sa.Column("offered_host_key_type", sa.String(length=64), nullable=True),
        sa.Column("offered_host_key", sa.Text(), nullable=True),
        sa.Column("offered_host_key_fingerprint", sa.String(length=128), nullable=True),
        _time("offered_host_key_at", nullable=True),
        _time("next_due_at"),
        _time("lease_until", nullable=True),
        _time("last_attempt_at", nullable=True),
        _time("last_success_at", nullable=True),
        sa.Column("last_reason", sa.String(length=16), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "transport IN ('ssh', 'telnet')", name=op.f("ck_config_device_transport_known")
        ),
        sa.CheckConstraint("interval_s >= 300", name=op.f("ck_config_device_interval_min")),
        sa.CheckConstraint("timeout_s >= 1", name=op.f("ck_config_device_timeout_min")),
        sa.CheckConstraint(
            "port IS NULL OR (port >= 1 AND port <= 65535)",
            name=op.f("ck_config_device_port_range"),
        ),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["asset.id"],
            name=op.f("fk_config_device_asset_id_asset"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_config_device")),
        sa.UniqueConstraint("asset_id", name=op.f("uq_config_device_asset_id")),
    )
    op.create_index("ix_config_device_next_due_at", "config_device", ["next_due_at"])

    op.create_table(
        "config_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        _time("fetched_at"),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("masked_text", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("changed_by", sa.String(length=255), nullable=True),
        sa.Column("previous_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["asset.id"],
            name=op.f("fk_config_version_asset_id_asset"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["previous_id"],
            ["config_version.id"],
            name=op.f("fk_config_version_previous_id_config_version"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_config_version")),
        sa.UniqueConstraint("asset_id", "number", name="uq_config_version_asset_id_number"),
    )
    op.create_index(
        "ix_config_version_asset_id_fetched_at", "config_version", ["asset_id", "fetched_at"]
    )
    op.create_index("ix_config_version_fetched_at", "config_version", ["fetched_at"])

    op.create_table(
        "config_fetch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        _time("started_at"),
        _time("finished_at"),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.Column("new_version", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["asset.id"],
            name=op.f("fk_config_fetch_asset_id_asset"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["config_version.id"],
            name=op.f("fk_config_fetch_version_id_config_version"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_config_fetch")),
    )
    op.create_index(
        "ix_config_fetch_asset_id_started_at", "config_fetch", ["asset_id", "started_at"]
    )
    op.create_index("ix_config_fetch_started_at", "config_fetch", ["started_at"])


def downgrade() -> None:
    op.drop_index("ix_config_fetch_started_at", table_name="config_fetch")
    op.drop_index("ix_config_fetch_asset_id_started_at", table_name="config_fetch")
    op.drop_table("config_fetch")
    op.drop_index("ix_config_version_fetched_at", table_name="config_version")
    op.drop_index("ix_config_version_asset_id_fetched_at", table_name="config_version")
    op.drop_table("config_version")
    op.drop_index("ix_config_device_next_due_at", table_name="config_device")
    op.drop_table("config_device")
